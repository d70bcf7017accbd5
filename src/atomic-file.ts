import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

let counter = 0;

/**
 * Replaces `file` with `text` so that a crash at any moment leaves either the
 * old content or the new, never a mix: write a temporary file beside it,
 * fsync it, rename it over the old one, then fsync the directory so the
 * rename itself is on disk. `mode` is the new file's permissions. Without
 * `durable`, nothing is fsynced: readers still see the old or the new file
 * whole, but a system crash may lose either (what is written anew at every
 * start, like the bus token, need not wait for the disk).
 */
export async function writeFileAtomic(file: string, text: string, mode = 0o644, { durable = true } = {}): Promise<void> {
  const dir = path.dirname(file);
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${++counter}.tmp`);
  const handle = await open(temp, 'wx', mode);
  try {
    await handle.writeFile(text, 'utf8');
    if (durable) await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  if (!durable) return;
  const dirHandle = await open(dir, 'r');
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}
