import type { Linter } from 'eslint';

/** The purity rule of domain/, tested by domain/src/purity.test.ts. */
export declare const domainPurity: Linter.Config;
declare const config: Linter.Config[];
export default config;
