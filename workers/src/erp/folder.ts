import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ErpPlugin, MovementExport } from './plugin.js';

/**
 * The reference plugin, to a folder an ERP (or its file transfer) picks up from: one JSON file
 * per movement, `<seq>-<idempotency key>.json`, written to a temporary name and renamed, so a
 * reader never sees half a file. A movement whose file exists is not written again. The
 * exporter moves its cursor past each movement once its file is written, so after a crash at
 * most that one movement is written again; an ERP that deletes the files it booked must
 * still book each idempotency key (the file name) once.
 */
export function folderPlugin(dir: string): ErpPlugin {
  let ready: Promise<unknown> | null = null;
  return {
    name: 'folder',
    async exportMovement(m: MovementExport) {
      ready ??= mkdir(dir, { recursive: true });
      await ready;
      const file = path.join(dir, `${String(m.seq).padStart(12, '0')}-${m.idempotencyKey}.json`);
      if (
        await stat(file).then(
          () => true,
          () => false,
        )
      )
        return; // exported before
      const tmp = `${file}.tmp`;
      await writeFile(tmp, JSON.stringify(m, null, 2) + '\n');
      await rename(tmp, file);
    },
  };
}
