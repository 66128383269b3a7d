import { open, rename } from 'node:fs/promises';
import path from 'node:path';

/**
 * Writes `file` so that a power cut leaves the old file or the whole new one, never a name
 * with half its data: a temporary file written and fsynced, renamed over `file`, then the
 * folder fsynced (the rename itself is durable only then). The temporary file is hidden
 * (`.<name>.tmp`, beside it), so a program picking up every file of the folder passes it by.
 */
export async function writeFileDurably(file: string, data: string): Promise<void> {
  const tmp = temporaryName(file);
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
  await syncFolder(path.dirname(file));
}

async function syncFolder(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (e) {
    // Some file systems (network shares, Windows) cannot open or fsync a folder: the rename
    // stands.
    if (!['EINVAL', 'EISDIR', 'EPERM', 'ENOTSUP'].includes((e as NodeJS.ErrnoException).code ?? ''))
      throw e;
  } finally {
    await handle?.close();
  }
}

/** The hidden temporary file `writeFileDurably` writes `file` to first. */
export const temporaryName = (file: string): string =>
  path.join(path.dirname(file), `.${path.basename(file)}.tmp`);
