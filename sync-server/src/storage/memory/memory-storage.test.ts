import { storageContract } from '../contract.js';
import { openMemoryStorage } from './memory-storage.js';

// The in-memory twin is held to the same contract as the durable adapters (no reopen: it is
// not durable).
storageContract('memory', () => openMemoryStorage());
