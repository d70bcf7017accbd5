import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';

/** Whether `at` is a directory; false when nothing is there; throws when something else is, or it cannot be looked at. */
async function isDirectory(at: string): Promise<boolean> {
  try {
    if ((await stat(at)).isDirectory()) return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  throw new Error(`${at} exists and is not a directory`);
}

/**
 * Makes the data path and the parents it lacks, one level at a time, each
 * new one owner-only (the bus token lives there). Not mkdir's recursive
 * mode: it spins for ever where a parent exists but refuses new entries with
 * ENOENT (anywhere under /proc).
 */
export async function makeDataPath(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let at = path.resolve(dir); !(await isDirectory(at)); at = path.dirname(at)) missing.push(at);
  for (const at of missing.reverse()) {
    try {
      await mkdir(at, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}
