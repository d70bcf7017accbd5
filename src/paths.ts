import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root, found from this file whether it runs from source or from dist/. */
export const PROJECT_ROOT = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('b10: cannot find the project root (no package.json above this file)');
    dir = up;
  }
  return dir;
})();

/** Compiled entry points live here. */
export const DIST = path.join(PROJECT_ROOT, 'dist');

/** Each program bundled in one file, with a launcher that starts it from V8's code cache (scripts/bundle.mjs). */
export const BUNDLES = path.join(DIST, 'bundle');

/**
 * Where to run a program from (`entry` as under DIST, e.g. 'src/auth/main.js'):
 * its bundle's launcher, which has Node load and compile one file instead of
 * the hundreds its imports span (most of a daemon's start-up), or its
 * compiled file in DIST when no bundle was built.
 */
export function programPath(entry: string): string {
  const launcher = path.join(BUNDLES, entry.replace(/\.js$/, '.cjs'));
  return existsSync(launcher) ? launcher : path.join(DIST, entry);
}
