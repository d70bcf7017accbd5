// `npm run build`, after tsc: each program as one file in dist/bundle/, laid
// out as in dist/, started from V8's code cache. Loading one file instead of
// the hundreds a daemon's imports span roughly halved what a daemon spends
// before its first line of work, and the stack starts ten of them at once.
// For dist/src/auth/main.js:
//   dist/bundle/src/auth/main.cjs        the launcher: what the boss, the bins and auth's cluster run
//   dist/bundle/src/auth/main.code.cjs   the bundle (CommonJS)
//   dist/bundle/src/auth/main.code.cache V8's code cache of the bundle, made by running the default stack once
//                                        (and the program's --help, for what the stack does not run)
// dist/ stays as tsc wrote it, for the tests that spawn its files and for library users.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import vm from 'node:vm';
import { build } from 'esbuild';
import { PROGRAMS } from '../dist/boss/components.js';

/** The components the boss starts, the boss and the CLI: each is run once with --help to fill its code cache (then the stack, below). */
const PROGRAM_ENTRIES = [...Object.values(PROGRAMS), 'boss/main.js', 'src/cli/main.js'];
/**
 * Run by a program, never alone (auth's workers by node:cluster, xfrin's
 * store thread as a worker thread): their code caches hold what compiling
 * them makes, without running them.
 */
const WORKER_ENTRIES = ['src/auth/worker.js', 'src/xfrin/store-thread.js'];
const OUT = 'dist/bundle';

const require = createRequire(import.meta.url);

/** Has `filter`'s imports loaded from `namespace`, except from there, where they stay in node_modules. */
function redirect(plugin, filter, namespace) {
  plugin.onResolve({ filter }, (args) => (args.namespace === namespace ? { path: args.path, external: true } : { path: args.path, namespace }));
}

/**
 * Code that requires a native addon by `placeholder`, its path from the
 * bundle (written in per bundle, below), into `addon`, and runs `orElse`
 * when that fails: the project moved, or was built on another platform.
 */
function requireAddon(placeholder, orElse) {
  return `let addon;
try {
  addon = require(require('node:path').join(__dirname, ${JSON.stringify(placeholder)}));
} catch {
  ${orElse}
}
`;
}

/**
 * better-sqlite3, in the four daemons that keep zones (auth's workers too),
 * is bundled with them, and given its addon by the path found at build
 * time: required from node_modules, its dozen files cost Node a resolve and
 * a compile each, and its addon a search by `bindings`, 8 ms of each start
 * (imported as an ES module, Node's CommonJS export scan on top). When the
 * addon is not where it was built, better-sqlite3 is required from
 * node_modules as before.
 */
const SQLITE_ADDON_PATH = '$B10_SQLITE_ADDON$';
const sqliteAddon = path.join(path.dirname(require.resolve('better-sqlite3/package.json')), 'build/Release/better_sqlite3.node');
const bundleSqlite = {
  name: 'bundle-better-sqlite3',
  setup(plugin) {
    redirect(plugin, /^better-sqlite3$/, 'sqlite');
    // Called by better-sqlite3 only when it is given no addon.
    plugin.onResolve({ filter: /^bindings$/ }, (args) => ({ path: args.path, external: true }));
    plugin.onLoad({ filter: /.*/, namespace: 'sqlite' }, () => ({
      resolveDir: process.cwd(),
      contents: `${requireAddon(SQLITE_ADDON_PATH, "module.exports = require('better-sqlite3');")}
if (addon) {
  const Bundled = require('./node_modules/better-sqlite3/lib/index.js');
  const Database = function Database(filename, options) {
    return new Bundled(filename, { nativeBinding: addon, ...options });
  };
  Database.prototype = Bundled.prototype;
  Database.SqliteError = Bundled.SqliteError;
  module.exports = Database;
}`,
    }));
  },
};

/**
 * cbor-extract (cbor-x's native decoder of strings, which every program
 * loads) finds its addon through node-gyp-build-optional-packages, which
 * asks detect-libc whether this is musl and searches directories: 7 ms of
 * each process's start, for a file known at build time. The bundle requires
 * that file by its path, and cbor-extract as before when that fails.
 */
const CBOR_EXTRACT_ADDON_PATH = '$B10_CBOR_EXTRACT_ADDON$';
const cborExtractAddon = require('node-gyp-build-optional-packages').path(path.dirname(require.resolve('cbor-extract/package.json')));
const requireCborExtract = {
  name: 'require-cbor-extract-addon',
  setup(plugin) {
    redirect(plugin, /^cbor-extract$/, 'addon');
    plugin.onLoad({ filter: /.*/, namespace: 'addon' }, () => ({
      contents: `${requireAddon(CBOR_EXTRACT_ADDON_PATH, "addon = require('cbor-extract');")}module.exports = addon;`,
    }));
  },
};

/**
 * Node's assert, as pino's sonic-boom and thread-stream require it, only to
 * check their own misuse: loading it has Node make process.stderr (for its
 * error messages' colours), about 1 ms of the start of every program, none
 * of which otherwise touches process.stderr (its log goes to fd 2 directly).
 * They get assert loaded when first called.
 */
const lazyAssert = {
  name: 'lazy-assert',
  setup(plugin) {
    plugin.onResolve({ filter: /^assert$/ }, (args) =>
      /node_modules\/(sonic-boom|thread-stream)\//.test(args.importer) ? { path: args.path, namespace: 'lazy-assert' } : undefined,
    );
    plugin.onLoad({ filter: /.*/, namespace: 'lazy-assert' }, () => ({
      contents: "module.exports = (...args) => require('node:assert')(...args);",
    }));
  },
};

/**
 * The launcher of one program: compiles its bundle with the code cache
 * beside it (V8 drops a cache that does not match the source or this Node,
 * and compiles as usual), then runs it as Node runs a CommonJS file. With
 * B10_WRITE_CODE_CACHE=1 it writes the cache as the process exits, with
 * every function that ran compiled in.
 */
const launcher = (name) => `#!/usr/bin/env node
'use strict';
// Generated by scripts/bundle.mjs: runs ${name}.code.cjs from V8's code cache.
const { readFileSync, renameSync, writeFileSync } = require('node:fs');
const { createRequire, wrap } = require('node:module');
const { Script } = require('node:vm');
const file = require('node:path').join(__dirname, '${name}.code.cjs');
const cache = file.replace(/cjs$/, 'cache');
let cachedData;
try {
  cachedData = readFileSync(cache);
} catch {}
const script = new Script(wrap(readFileSync(file, 'utf8')), { filename: file, cachedData });
script.runInThisContext()({}, createRequire(file), { exports: {} }, file, __dirname);
if (process.env.B10_WRITE_CODE_CACHE === '1') {
  // Written whole, then renamed: auth's workers write theirs at the same time.
  process.once('exit', () => {
    writeFileSync(\`\${cache}.\${process.pid}\`, script.createCachedData());
    renameSync(\`\${cache}.\${process.pid}\`, cache);
  });
}
`;

const entries = [...PROGRAM_ENTRIES, ...WORKER_ENTRIES];
rmSync(OUT, { recursive: true, force: true });
await build({
  // From tsc's output, so a bundle runs the very code the tests run.
  entryPoints: entries.map((entry) => ({ in: `dist/${entry}`, out: entry.replace(/\.js$/, '.code') })),
  outdir: OUT,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  // CommonJS: V8's code cache can be given to a script, not to an ES module (Node 20).
  format: 'cjs',
  target: 'node20',
  // What is left of cbor-extract when its addon is not found by its path
  // (it loads the addon relative to its own package), and pino-pretty,
  // required only for a terminal, stay in node_modules.
  external: ['cbor-extract', 'pino-pretty'],
  define: { 'import.meta.url': 'b10ImportMetaUrl' },
  banner: { js: 'var b10ImportMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
  plugins: [bundleSqlite, requireCborExtract, lazyAssert],
  logLevel: 'warning',
});

for (const entry of entries) {
  const base = entry.replace(/\.js$/, '');
  // The entry's #! line, which esbuild keeps, belongs to the launcher: the bundle is run wrapped in a function.
  const code = `${OUT}/${base}.code.cjs`;
  const from = (file) => path.relative(path.dirname(code), file);
  const text = readFileSync(code, 'utf8').replace(/^#!.*/, '');
  writeFileSync(code, text.replace(CBOR_EXTRACT_ADDON_PATH, () => from(cborExtractAddon)).replace(SQLITE_ADDON_PATH, () => from(sqliteAddon)));
  const file = `${OUT}/${base}.cjs`;
  writeFileSync(file, launcher(base.slice(base.lastIndexOf('/') + 1)));
  chmodSync(file, 0o755);
}
for (const entry of PROGRAM_ENTRIES) {
  execFileSync(process.execPath, [`${OUT}/${entry.replace(/\.js$/, '.cjs')}`, '--help'], {
    stdio: 'ignore',
    env: { ...process.env, B10_WRITE_CODE_CACHE: '1' },
  });
}
for (const entry of WORKER_ENTRIES) {
  const worker = `${OUT}/${entry.replace(/\.js$/, '.code.cjs')}`;
  const compiled = new vm.Script(Module.wrap(readFileSync(worker, 'utf8')), { filename: `${process.cwd()}/${worker}` });
  writeFileSync(worker.replace(/cjs$/, 'cache'), compiled.createCachedData());
}

/** How long the stack run below may take, from its start to its end. */
const STACK_RUN_MS = 30_000;

/**
 * A cache from --help holds what a program compiles to read its options; a
 * daemon's start compiles much more (its bus session, its module, its
 * servers), which V8 then compiles lazily at every start. The default stack
 * is started once, on ports the system picks and with a data path of its own
 * (auth with two workers), and stopped: every program writes its cache as it
 * exits, with what it compiled to start and to stop. xfrout to ready: 57.7 ->
 * 50.9 ms of CPU. Should the stack not start (no loopback, say), the caches
 * from --help stay, and the build goes on.
 */
async function cachesFromStack() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'b10-build-'));
  const config = { version: 2, Auth: { workers: 2 }, StatsHttpd: { listen_on: [{ address: '127.0.0.1', port: 0 }] } };
  writeFileSync(path.join(dir, 'b10-config.db'), JSON.stringify(config));
  const boss = spawn(process.execPath, [`${OUT}/boss/main.cjs`, '-m', '0', '-p', '0', '--cmdctl-port', '0', '-d', dir], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, B10_WRITE_CODE_CACHE: '1', B10_LOG_JSON: '1' },
  });
  const exited = new Promise((resolve) => boss.once('exit', (code, signal) => resolve(signal ?? code)));
  const timer = setTimeout(() => boss.kill('SIGKILL'), STACK_RUN_MS);
  createInterface({ input: boss.stderr }).on('line', (line) => {
    if (line.includes('"msg":"b10 started"')) boss.kill('SIGTERM');
  });
  const end = await exited;
  clearTimeout(timer);
  rmSync(dir, { recursive: true, force: true });
  if (end !== 0) process.stderr.write(`bundle: the default stack ended with ${end}: some code caches are from --help only\n`);
}
await cachesFromStack();
