import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { BUNDLES } from '../src/paths.js';
import { ROOT, run } from './helpers/processes.js';

/** A copy of msgq's launcher and bundle in a directory of its own under dist/bundle (inside the project, as the build lays them out). */
async function msgqCopy(): Promise<string> {
  const dir = await mkdtemp(path.join(BUNDLES, 'test-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  for (const file of ['main.cjs', 'main.code.cjs']) await copyFile(path.join(BUNDLES, 'msgq', file), path.join(dir, file));
  return dir;
}

describe('bundles', () => {
  it('stale_code_cache: a program whose code cache this Node refuses, or that has none, still runs', async () => {
    const { version } = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const dir = await msgqCopy();
    expect(await run(path.join(dir, 'main.cjs'), ['--version'])).toMatchObject({ code: 0, stdout: `${version}\n` });
    // What a cache made by another Node looks like to this one: bytes V8 does not accept.
    await writeFile(path.join(dir, 'main.code.cache'), Buffer.alloc(4096, 7));
    expect(await run(path.join(dir, 'main.cjs'), ['--version'])).toMatchObject({ code: 0, stdout: `${version}\n` });
  });
});
