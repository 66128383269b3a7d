import { z } from 'zod';

/**
 * Runs before anything else in the app. The page's Content-Security-Policy (`svelte.config.js`)
 * allows no `eval` or `new Function`; zod, left to itself, probes for them at its first parse
 * (the browser reports the refused probe as a violation) and compiles its object parsers with
 * them. `jitless`: zod parses without generating code — the same results, no probe.
 */
z.config({ jitless: true });
