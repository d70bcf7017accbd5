import { execFile } from 'node:child_process';
import { copyFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/processes.js';
import { tempDir } from './helpers/tmp.js';

const exec = promisify(execFile);
const FIXTURES = path.join(ROOT, 'test/fixtures/consumer');
const TSC = path.join(ROOT, 'node_modules/.bin/tsc');

/** tsc in the consumer project on one file; the exit code and what it said. */
async function typeCheck(dir: string, file: string): Promise<{ code: number; out: string }> {
  const config = {
    compilerOptions: {
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      target: 'ES2022',
      strict: true,
      noEmit: true,
      types: ['node'],
      typeRoots: [path.join(ROOT, 'node_modules/@types')],
    },
    files: [file],
  };
  await writeFile(path.join(dir, 'tsconfig.json'), JSON.stringify(config));
  try {
    const { stdout } = await exec(TSC, ['-p', 'tsconfig.json'], { cwd: dir });
    return { code: 0, out: stdout };
  } catch (err) {
    const { code, stdout } = err as { code: number; stdout: string };
    return { code, out: stdout };
  }
}

describe('b10 as a library', () => {
  it('packed_and_installed: another project imports b10 and b10/testing by name, runs a module, and type-checks', { timeout: 120_000 }, async () => {
    const packs = await tempDir();
    await exec('npm', ['pack', '--ignore-scripts', '--pack-destination', packs], { cwd: ROOT });
    const [tarball] = (await readdir(packs)).filter((f) => f.endsWith('.tgz'));
    expect(tarball).toMatch(/^b10-.*\.tgz$/);

    const project = await tempDir();
    await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module', private: true }));
    // Without install scripts: they only build better-sqlite3 (80 s here), which the zone store
    // uses and nothing imported from 'b10' or 'b10/testing' loads.
    await exec('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', path.join(packs, tarball!)], { cwd: project });
    for (const file of ['module.mjs', 'run.mjs']) await copyFile(path.join(FIXTURES, file), path.join(project, file));

    const { stdout } = await exec(process.execPath, ['run.mjs'], { cwd: project, timeout: 60_000 });
    expect(stdout).toBe('hello from the tarball\n');

    await copyFile(path.join(FIXTURES, 'typed.ts.txt'), path.join(project, 'typed.ts'));
    expect(await typeCheck(project, 'typed.ts')).toEqual({ code: 0, out: '' });
    // The declarations carry real types: a wrong use is an error, not `any`.
    await copyFile(path.join(FIXTURES, 'mistyped.ts.txt'), path.join(project, 'mistyped.ts'));
    const wrong = await typeCheck(project, 'mistyped.ts');
    expect(wrong.code).not.toBe(0);
    expect(wrong.out).toMatch(/Type 'unknown' is not assignable to type 'number'/);
  });
});
