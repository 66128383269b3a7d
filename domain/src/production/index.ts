/** Production jobs and genealogy: jobs that consume and produce lots and serials, assemblies, and the graph that traces them. */
export * from './commands.js';
export * from './events.js';
export * from './state.js';
export * from './changes.js';
export * from './decide.js';
export * from './queries.js';
