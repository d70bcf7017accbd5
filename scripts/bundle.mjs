// `npm run build`, after tsc: one file per program in dist/bundle/, laid out
// as in dist/ (dist/bundle/src/auth/main.js ...). Loading one file instead of
// the hundreds a daemon's imports span roughly halves what a daemon spends
// before its first line of work, and the stack starts ten of them at once.
// The boss, auth's workers and the bin entries run these; dist/ stays as tsc
// wrote it, for the tests that spawn its files and for library users.
import { build } from 'esbuild';
import { PROGRAMS } from '../dist/boss/components.js';

/** The components the boss starts, auth's worker (node:cluster runs it), the boss and the CLI. */
const ENTRIES = [...Object.values(PROGRAMS), 'src/auth/worker.js', 'boss/main.js', 'src/cli/main.js'];

/**
 * better-sqlite3 imported as an ES module costs Node a CommonJS export scan
 * on top of the load: 15 ms of CPU against 9 ms for a require(), in each of
 * the four daemons that keep zones. The bundle requires it instead.
 */
const requireSqlite = {
  name: 'require-better-sqlite3',
  setup(plugin) {
    plugin.onResolve({ filter: /^better-sqlite3$/ }, (args) =>
      args.namespace === 'required' ? { path: args.path, external: true } : { path: args.path, namespace: 'required' },
    );
    plugin.onLoad({ filter: /.*/, namespace: 'required' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});` }));
  },
};

await build({
  // From tsc's output, so a bundle runs the very code the tests run.
  entryPoints: ENTRIES.map((entry) => ({ in: `dist/${entry}`, out: entry.replace(/\.js$/, '') })),
  outdir: 'dist/bundle',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Native addons load their .node files relative to their own package, and
  // pino-pretty is required only for a terminal: all stay in node_modules.
  external: ['better-sqlite3', 'cbor-extract', 'pino-pretty'],
  // The CommonJS packages inside (commander, pino, ws, prom-client) call
  // require() for Node's modules, which an ES module has no binding for.
  banner: { js: "import { createRequire as b10CreateRequire } from 'node:module'; const require = b10CreateRequire(import.meta.url);" },
  plugins: [requireSqlite],
  logLevel: 'warning',
});
