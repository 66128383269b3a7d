import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/**
 * A single-page app: the sync server serves `build/` and answers unknown paths with
 * `index.html`; Capacitor wraps the same files. No server-side rendering anywhere.
 */
/** @type {import('@sveltejs/kit').Config} */
const config = {
  preprocess: vitePreprocess(),
  kit: {
    adapter: adapter({ pages: 'build', assets: 'build', fallback: 'index.html', strict: true }),
    serviceWorker: { register: true },
    // Scripts only from the app's own files and SvelteKit's one inline start-up script (by its
    // hash, written into index.html as a <meta> policy); with the sync server's header policy
    // (frame-ancestors, base-uri) both apply. An injected <script> or inline handler does not
    // run. zod runs `jitless` in the app for this (`src/hooks.client.ts`): no `new Function`.
    csp: { mode: 'hash', directives: { 'script-src': ['self'] } },
  },
};

export default config;
