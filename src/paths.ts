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
