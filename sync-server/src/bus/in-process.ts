import type { Bus } from './port.js';

/** The embedded default: subscribers in this process only. */
export function inProcessBus(): Bus {
  const handlers = new Map<string, Set<(payload: unknown) => void>>();
  return {
    publish(subject, payload) {
      for (const h of handlers.get(subject) ?? []) {
        setImmediate(() => {
          try {
            h(payload);
          } catch {
            // A failing subscriber must not affect the publisher or the others.
          }
        });
      }
      return Promise.resolve();
    },
    subscribe(subject, handler) {
      let set = handlers.get(subject);
      if (!set) handlers.set(subject, (set = new Set()));
      set.add(handler);
      return () => set.delete(handler);
    },
    close() {
      handlers.clear();
      return Promise.resolve();
    },
  };
}
