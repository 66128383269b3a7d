import { z } from 'zod';

/**
 * Runs before anything else in the app. The page's Content-Security-Policy (`svelte.config.js`)
 * allows no `eval` or `new Function`; zod, left to itself, probes for them when its first
 * object schema is made (the browser reports the refused probe as a violation) and compiles
 * its object parsers with them. Every route, and with them `$lib` and the domain's schemas, is
 * loaded after this. `jitless`: zod parses without generating code — the same results, no probe.
 */
z.config({ jitless: true });
