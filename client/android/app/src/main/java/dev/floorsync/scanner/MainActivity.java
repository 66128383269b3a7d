package dev.floorsync.scanner;

import com.getcapacitor.BridgeActivity;

public class MainActivity extends BridgeActivity {}
