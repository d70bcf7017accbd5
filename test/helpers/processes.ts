import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { DIST } from '../../src/paths.js';
import path from 'node:path';
import { createInterface } from 'node:readline';

export { PROJECT_ROOT as ROOT, DIST } from '../../src/paths.js';

/** Every child a test started, so none can outlive the test run. */
const live = new Set<ChildProcess>();

process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface LogLine {
  msg?: string;
  level?: number;
  [key: string]: unknown;
}

/** A running program: its stderr JSON log lines and its exit, as events. */
export class Proc {
  readonly logs: LogLine[] = [];
  readonly stderrLines: string[] = [];
  stdout = '';
  private watchers: { test: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when stdout and stderr have delivered their last bytes. */
  readonly drained: Promise<unknown>;

  constructor(readonly child: ChildProcess) {
    live.add(child);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        live.delete(child);
        resolve({ code, signal });
      });
    });
    this.drained = Promise.all([child.stdout, child.stderr].map((s) => s && once(s, 'close')));
    child.stdout?.setEncoding('utf8').on('data', (text: string) => (this.stdout += text));
    if (child.stderr) {
      createInterface({ input: child.stderr }).on('line', (text) => {
        this.stderrLines.push(text);
        let line: LogLine;
        try {
          line = JSON.parse(text) as LogLine;
        } catch {
          line = { msg: text };
        }
        this.logs.push(line);
        this.watchers = this.watchers.filter((w) => {
          if (!w.test(line)) return true;
          w.resolve(line);
          return false;
        });
      });
    }
  }

  get pid(): number {
    return this.child.pid!;
  }

  /**
   * Resolves with the first log line from index `since` on (past or future)
   * that passes `test`; rejects if the process exits first.
   */
  waitForLog(test: (line: LogLine) => boolean, what = 'log line', since = 0): Promise<LogLine> {
    const seen = this.logs.slice(since).find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      this.watchers.push({ test, resolve });
      void this.exited.then(({ code, signal }) => {
        reject(new Error(`process exited (code ${code}, signal ${signal}) before ${what}:\n${this.stderrLines.join('\n')}`));
      });
    });
  }

  /** Resolves once stdout holds `text`; rejects if the process exits first. */
  async waitForStdout(text: string): Promise<void> {
    const stdout = this.child.stdout!;
    while (!this.stdout.includes(text)) {
      const more = once(stdout, 'data');
      const gone = this.exited.then(() => {
        throw new Error(`process exited before printing ${JSON.stringify(text)}`);
      });
      await Promise.race([more, gone]);
    }
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 2000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

export function start(script: string, args: string[], options: SpawnOptions = {}): Proc {
  const child = spawn(process.execPath, [path.join(DIST, script), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options,
    env: { ...process.env, B10_LOG_JSON: '1', ...options.env },
  });
  return new Proc(child);
}

export async function stopAll(): Promise<void> {
  await Promise.all(
    [...live].map(async (child) => {
      child.kill('SIGKILL');
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    }),
  );
}

export interface MsgqHandle {
  proc: Proc;
  port: number;
  stop(): Promise<void>;
}

/** Starts the real msgq on a free port and waits until it listens. */
export async function startMsgq(args: string[] = []): Promise<MsgqHandle> {
  const proc = start('msgq/main.js', ['--port', '0', ...args]);
  const line = await proc.waitForLog((l) => l.msg === 'msgq listening', 'msgq listening');
  return { proc, port: line.port as number, stop: () => proc.stop() };
}

/** Runs a command to completion and returns its exit code and output. */
export async function run(
  script: string,
  args: string[],
  options: SpawnOptions = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = start(script, args, options);
  const { code } = await proc.exited;
  // Streams may still hold the last bytes when 'exit' fires.
  await proc.drained;
  return { code, stdout: proc.stdout, stderr: proc.stderrLines.join('\n') };
}

export interface CfgmgrHandle {
  proc: Proc;
  stop(): Promise<void>;
}

/** Starts the real b10-cfgmgr against a running msgq and waits until it answers. */
export async function startCfgmgr(msgqPort: number, dataPath: string, args: string[] = []): Promise<CfgmgrHandle> {
  const proc = start('src/cfgmgr/main.js', ['--data-path', dataPath, '-m', String(msgqPort), ...args]);
  await proc.waitForLog((l) => l.msg === 'config manager ready', 'config manager ready');
  return { proc, stop: () => proc.stop() };
}

/** A port nobody listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
