import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { writeFileDurably } from './durable.js';
import type { ErpPlugin, MovementExport } from './plugin.js';

/**
 * The reference plugin, to a folder an ERP (or its file transfer) picks up from: one JSON file
 * per movement, `<seq>-<idempotency key>.json`, written to a temporary name, fsynced and
 * renamed (the folder fsynced after), so a reader never sees half a file, nor does one after a
 * power cut. The temporary name is hidden (`.<name>.tmp`); those a crash left are removed at
 * the first write after a start. A movement whose file exists whole is not written again; an empty
 * or broken one (from a file system that lost it anyway) is written anew. The exporter moves
 * its cursor past each movement once its file is written, so after a crash at most that one
 * movement is written again; an ERP that deletes the files it booked must still book each
 * idempotency key (the file name) once.
 */
export function folderPlugin(dir: string): ErpPlugin {
  let ready: Promise<unknown> | null = null;
  return {
    name: 'folder',
    async exportMovement(m: MovementExport) {
      // Made once; a failure (a share not mounted yet) is tried again with the next movement.
      ready ??= mkdir(dir, { recursive: true })
        .then(() => removeLeftovers(dir))
        .catch((error: unknown) => {
          ready = null;
          throw error;
        });
      await ready;
      const file = path.join(dir, `${String(m.seq).padStart(12, '0')}-${m.idempotencyKey}.json`);
      if (await exportedBefore(file, m.idempotencyKey)) return;
      await writeFileDurably(file, JSON.stringify(m, null, 2) + '\n');
    },
  };
}

/**
 * Temporary files a crash left behind, this plugin's only (`.<seq>-<key>.json.tmp`, and the
 * visible `<seq>-<key>.json.tmp` of builds before 2026-11): the movement's file is written again
 * from the start when the export gets to it. Best effort: a folder that lets the plugin write but
 * not list or delete (some shares) leaves them, and the export goes on.
 */
async function removeLeftovers(dir: string): Promise<void> {
  try {
    for (const name of await readdir(dir))
      if (/^\.?\d{12}-[^/]+\.json\.tmp$/.test(name))
        await rm(path.join(dir, name), { force: true });
  } catch {
    // left for an operator; they are never read as movements
  }
}

/** The movement's file is there, whole: JSON naming this movement. */
async function exportedBefore(file: string, key: string): Promise<boolean> {
  const text = await readFile(file, 'utf8').catch(() => null);
  if (text === null) return false;
  try {
    return (JSON.parse(text) as { idempotencyKey?: unknown }).idempotencyKey === key;
  } catch {
    return false;
  }
}
