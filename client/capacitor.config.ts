import type { CapacitorConfig } from '@capacitor/cli';

/**
 * The Android shell: the same static build (`build/`) inside a WebView, plus the native
 * barcode scanner plugin. The app talks to the sync server at the URL given at build time
 * (`FLOORSYNC_SERVER_URL`, e.g. https://floorsync.example.com); without it, the WebView
 * serves the app itself and the server must be reachable at the same origin via `server.url`.
 */
// Read by the Capacitor CLI under Node; this file is outside the app's (browser) tsconfig.
declare const process: { readonly env: Readonly<Record<string, string | undefined>> };
const serverUrl = process.env['FLOORSYNC_SERVER_URL'];

const config: CapacitorConfig = {
  appId: 'dev.floorsync.scanner',
  appName: 'Floorsync',
  webDir: 'build',
  android: {
    // Shop-floor Wi-Fi in a plant is often plain HTTP on a private network.
    allowMixedContent: true,
  },
  ...(serverUrl ? { server: { url: serverUrl, cleartext: serverUrl.startsWith('http:') } } : {}),
};

export default config;
