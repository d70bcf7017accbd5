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

/** One bundled file per program (scripts/bundle.mjs, run by `npm run build`), laid out as in DIST. */
export const BUNDLES = path.join(DIST, 'bundle');

/**
 * Where to run a program from: its bundle, which Node loads as one file
 * instead of the hundreds its imports span (a third of a daemon's start-up),
 * or its compiled file in DIST when no bundle was built.
 */
export function programPath(entry: string): string {
  const bundle = path.join(BUNDLES, entry);
  return existsSync(bundle) ? bundle : path.join(DIST, entry);
}
