import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { assertPrivate, createToken, readTokenFile } from '../protocol/token.js';
import { writeFileAtomic } from '../src/atomic-file.js';

/**
 * Writes a fresh bus token, readable by its owner alone; its directory is made owner-only if it is new.
 * Not fsynced: it is made anew at every start of the bus, which waits for it (a few ms of every cold start).
 */
export async function writeTokenFile(file: string): Promise<string> {
  const token = createToken();
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, `${token}\n`, 0o600, { durable: false });
  return token;
}

/**
 * msgq's token: the one in `file` (the boss wrote it; a file others can read
 * is refused), or, for a msgq started on its own, a fresh one written there.
 */
export async function loadOrCreateToken(file: string): Promise<{ token: string; created: boolean }> {
  try {
    assertPrivate(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { token: await writeTokenFile(file), created: true };
    throw err;
  }
  return { token: readTokenFile(file), created: false };
}
