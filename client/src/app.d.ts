// See https://svelte.dev/docs/kit/types#app.d.ts
declare global {
  namespace App {}
  /** The client package's version, set at build time (vite.config.ts). */
  const __APP_VERSION__: string;
}

export {};
