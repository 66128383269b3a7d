/// <reference types="@sveltejs/kit" />
/// <reference no-default-lib="true"/>
/// <reference lib="esnext" />
/// <reference lib="webworker" />
import { build, files, version } from '$service-worker';

/**
 * The app shell, cached at install: a handheld cold-started in a dead zone opens the app from
 * here, and its replica (IndexedDB) has the last data. API calls are never cached — the sync
 * engine owns the network and its failures.
 */
const sw = self as unknown as ServiceWorkerGlobalScope;
const CACHE = `floorsync-shell-${version}`;
const SHELL = [...build, ...files, '/'];

sw.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => sw.skipWaiting()),
  );
});

sw.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => sw.clients.claim()),
  );
});

sw.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== sw.location.origin) return;
  if (url.pathname.startsWith('/api/') || url.pathname.startsWith('/sync/')) return;
  if (url.pathname === '/health' || url.pathname === '/metrics') return;
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      const hit = await cache.match(req);
      if (hit) return hit;
      try {
        return await fetch(req);
      } catch {
        // Offline and not cached: every route of the single-page app is the same shell.
        return (await cache.match('/')) ?? Response.error();
      }
    })(),
  );
});
