export * from './queue/port.js';
export { inProcessQueue } from './queue/in-process.js';
export { natsQueue, JOBS_STREAM, DEAD_JOBS_STREAM } from './queue/nats.js';
export * from './runner.js';
export * from './sync-api.js';
export * from './jobs/bulk-adjust.js';
