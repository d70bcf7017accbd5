import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { onTestFinished } from 'vitest';

/** A fresh directory removed when the current test ends (or through `cleanup`). */
export async function tempDir(cleanup: (remove: () => Promise<void>) => void = onTestFinished): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'b10-test-'));
  cleanup(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
