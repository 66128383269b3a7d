export * from './spec.js';
export * from './factories.js';
