import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { BUNDLES } from '../src/paths.js';
import { ROOT, run } from './helpers/processes.js';

/**
 * A copy of a program's launcher and bundle (`program` as under dist/bundle, e.g. 'msgq') in a directory of
 * its own under dist/bundle: inside the project, but not as deep as the build put it.
 */
async function bundleCopy(program: string): Promise<string> {
  const dir = await mkdtemp(path.join(BUNDLES, 'test-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  for (const file of ['main.cjs', 'main.code.cjs']) await copyFile(path.join(BUNDLES, program, file), path.join(dir, file));
  return dir;
}

describe('bundles', () => {
  it('stale_code_cache: a program whose code cache this Node refuses, or that has none, still runs', async () => {
    const { version } = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const dir = await bundleCopy('msgq');
    expect(await run(path.join(dir, 'main.cjs'), ['--version'])).toMatchObject({ code: 0, stdout: `${version}\n` });
    // What a cache made by another Node looks like to this one: bytes V8 does not accept.
    await writeFile(path.join(dir, 'main.code.cache'), Buffer.alloc(4096, 7));
    expect(await run(path.join(dir, 'main.cjs'), ['--version'])).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it('addons_moved: a bundle whose native addons are not where the build found them loads them from node_modules', async () => {
    // The copy stores the zone (better-sqlite3), having loaded cbor-x and its cbor-extract as it started;
    // the bundle where the build put it reads the zone back.
    const dir = await bundleCopy('src/cli');
    const dataPath = await mkdtemp(path.join(os.tmpdir(), 'b10-bundle-'));
    onTestFinished(() => rm(dataPath, { recursive: true, force: true }));
    const zone = path.join(ROOT, 'docs/examples/example.org.zone');
    const loaded = await run(path.join(dir, 'main.cjs'), ['zone', 'load', 'example.org', zone, '-d', dataPath, '--no-notify']);
    expect(loaded).toMatchObject({ code: 0, stdout: expect.stringContaining('example.org.: 10 records loaded') });
    const shown = await run(path.join(BUNDLES, 'src/cli/main.cjs'), ['zone', 'show', 'example.org', '-d', dataPath]);
    expect(shown).toMatchObject({ code: 0, stdout: expect.stringContaining('example.org.') });
  });
});
