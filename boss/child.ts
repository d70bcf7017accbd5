import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { SUPERVISED_ENV } from '../src/daemon.js';
import type { Logger } from '../src/log.js';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildHandle {
  readonly pid: number;
  readonly exited: Promise<Exit>;
  readonly running: boolean;
  kill(signal: NodeJS.Signals): void;
  /** Sends a message over the IPC channel, if it is still open; never throws. */
  notify(message: string): void;
  /** Passes a message with a socket (the handle travels); false when the channel is gone. */
  pass(message: unknown, handle: import('node:net').Socket): boolean;
}

const LEVELS: Record<number, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/**
 * One line of a component's output into the boss's log, under the
 * component's name: a pino JSON line keeps its level, message and fields;
 * anything else is logged as text.
 */
export function forwardLine(log: Logger, stream: 'stdout' | 'stderr', line: string): Record<string, unknown> | undefined {
  if (line.startsWith('{')) {
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      const level = LEVELS[parsed.level as number];
      if (level && typeof parsed.msg === 'string') {
        const { level: _l, time: _t, pid, hostname: _h, name: _n, msg, ...fields } = parsed;
        log[level]({ ...fields, childPid: pid }, msg as string);
        return parsed;
      }
    } catch {
      // not JSON after all: logged as text below
    }
  }
  if (line.trim() !== '') log.info({ stream }, line);
  return undefined;
}

/**
 * Starts a component as a child Node process with an IPC channel: the
 * channel closing is how the child learns the boss is gone, even after a
 * SIGKILL. Its output goes to the boss's log, tagged with its name.
 */
export function spawnChild(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  log: Logger,
  onRecord?: (record: Record<string, unknown>) => void,
  onMessage?: (message: unknown, handle: unknown) => void,
): ChildHandle {
  const child = spawn(process.execPath, [script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, ...env, B10_LOG_JSON: '1', [SUPERVISED_ENV]: '1' },
  });
  let running = true;
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false;
      resolve({ code, signal });
    });
    child.once('error', (err) => {
      log.error({ err }, 'cannot start process');
      if (running && child.pid === undefined) {
        running = false;
        resolve({ code: null, signal: null });
      }
    });
  });
  for (const [name, stream] of [['stdout', child.stdout!], ['stderr', child.stderr!]] as const) {
    createInterface({ input: stream }).on('line', (line) => {
      const record = forwardLine(log, name, line);
      if (record && onRecord) onRecord(record);
    });
  }
  if (onMessage) child.on('message', onMessage);
  // The IPC channel is only a lifeline; it must not keep the boss alive by itself.
  child.channel?.unref();
  return {
    pid: child.pid ?? -1,
    exited,
    get running() {
      return running;
    },
    kill(signal) {
      if (running) child.kill(signal);
    },
    pass(message, handle) {
      if (!running || !child.connected) return false;
      child.send(message as Parameters<typeof child.send>[0], handle, {}, () => {});
      return true;
    },
    notify(message) {
      // The callback takes a send error (the child just exited) instead of an 'error' event.
      if (running && child.connected) child.send(message, () => {});
    },
  };
}
