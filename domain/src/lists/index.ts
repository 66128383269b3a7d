/** Movement lists ("missions"): planned receipts, shipments and transfers confirmed by scans. */
export * from './commands.js';
export * from './events.js';
export * from './state.js';
export * from './changes.js';
export * from './decide.js';
export * from './queries.js';
export * from './import.js';
