/** Counting sessions (stocktake): scoped counts, disagreements and recounts, apply as a job. */
export * from './commands.js';
export * from './events.js';
export * from './state.js';
export * from './changes.js';
export * from './decide.js';
export * from './queries.js';
export * from './sheet.js';
