import net from 'node:net';
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { SUPERVISED_ENV } from '../daemon.js';
import { DIST } from '../paths.js';

/** Every process started here, so none can outlive this process. */
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

/**
 * Runs one of b10's programs (a path under dist/, e.g. 'msgq/main.js') or
 * any JavaScript file (an absolute path), logging JSON. With `lifeline`, the
 * program gets an IPC channel and is told it is supervised, as the boss
 * starts its components: b10's daemons stop by themselves once this process
 * is gone, even after a SIGKILL.
 */
export function start(script: string, args: string[], options: SpawnOptions & { lifeline?: boolean } = {}): Proc {
  const { lifeline, ...spawnOptions } = options;
  const file = path.isAbsolute(script) ? script : path.join(DIST, script);
  const child = spawn(process.execPath, [file, ...args], {
    stdio: lifeline ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
    ...spawnOptions,
    env: { ...process.env, B10_LOG_JSON: '1', ...(lifeline ? { [SUPERVISED_ENV]: '1' } : {}), ...spawnOptions.env },
  });
  // The channel is only a lifeline: it must not keep this process alive.
  child.channel?.unref();
  // A connection a daemon hands its parent (auth passes transfers on, for the boss to give xfrout) has
  // nobody to serve it here: closed, else its reset would be an error nobody handles.
  child.on('message', (_message, handle) => {
    if (handle instanceof net.Socket) handle.destroy();
  });
  return new Proc(child);
}

/** Kills every process started here that still runs, and waits for them. */
export async function stopAll(): Promise<void> {
  await Promise.all(
    [...live].map(async (child) => {
      child.kill('SIGKILL');
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    }),
  );
}

