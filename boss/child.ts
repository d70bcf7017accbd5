import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { SUPERVISED_ENV } from '../src/daemon.js';
import type { Logger } from '../src/log.js';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why the process could not be spawned at all. */
  error?: string;
}

export interface ChildHandle {
  readonly pid: number;
  /** Resolves once the process has exited and its output has been read to the end. */
  readonly exited: Promise<Exit>;
  readonly running: boolean;
  /** The last error the process reported: an error or fatal log line, or a JavaScript error on stderr. */
  readonly lastError: string | undefined;
  kill(signal: NodeJS.Signals): void;
  /** Sends a message over the IPC channel, if it is still open; never throws. False when the channel is gone. */
  notify(message: string | object): boolean;
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
const ERROR_LEVEL = 50;
/** How a JavaScript error that nothing caught starts its line on stderr: "Error: …", "TypeError [ERR_X]: …". */
const UNCAUGHT = /^(?:[A-Z][A-Za-z]*)?Error(?: \[[A-Z_]+\])?: /;
/**
 * How long to wait, after a child exited, for the last of its output: a
 * process it left behind could hold the pipes open for ever.
 */
const OUTPUT_GRACE_MS = 1000;

/** The key a component's pid is logged under: `pid` is the boss's own, in every line it writes. */
export const COMPONENT_PID = 'componentPid';

/**
 * One line of a component's output into the boss's log, under the
 * component's name: a pino JSON line keeps its level, message and fields,
 * its pid under COMPONENT_PID; other text is logged as text, at warn when it
 * came on stderr (b10's programs log JSON there, so text is a crash's).
 */
export function forwardLine(log: Logger, stream: 'stdout' | 'stderr', line: string): Record<string, unknown> | undefined {
  if (line.startsWith('{')) {
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      const level = LEVELS[parsed.level as number];
      if (level && typeof parsed.msg === 'string') {
        const { level: _l, time: _t, pid, hostname: _h, name: _n, msg, ...fields } = parsed;
        log[level]({ ...fields, [COMPONENT_PID]: pid }, msg as string);
        return parsed;
      }
    } catch {
      // not JSON after all: logged as text below
    }
  }
  if (line.trim() === '') return undefined;
  if (stream === 'stderr') log.warn({ stream }, line);
  else log.info({ stream }, line);
  return undefined;
}

/** What a line of output says went wrong, if anything: what the boss names as the cause when the process ends. */
export function reportedError(line: string, record: Record<string, unknown> | undefined): string | undefined {
  if (record) return (record.level as number) >= ERROR_LEVEL ? String(record.msg) : undefined;
  return UNCAUGHT.test(line) ? line.trim() : undefined;
}

/** How a process ended, in words: "exited with code 1", "was killed by SIGKILL". */
export function describeExit({ code, signal, error }: Exit): string {
  if (error !== undefined) return `could not be spawned: ${error}`;
  return signal ? `was killed by ${signal}` : `exited with code ${code}`;
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
  let lastError: string | undefined;
  const exited = new Promise<Exit>((resolve) => {
    // 'close' comes once the output has been read too, so a cause logged just
    // before the exit is known when the exit is handled.
    child.once('exit', (code, signal) => {
      running = false;
      setTimeout(() => resolve({ code, signal }), OUTPUT_GRACE_MS).unref();
    });
    child.once('close', (code, signal) => resolve({ code, signal }));
    child.once('error', (err) => {
      log.error({ err }, 'cannot start process');
      if (running && child.pid === undefined) {
        running = false;
        resolve({ code: null, signal: null, error: err.message });
      }
    });
  });
  for (const [name, stream] of [['stdout', child.stdout!], ['stderr', child.stderr!]] as const) {
    createInterface({ input: stream }).on('line', (line) => {
      const record = forwardLine(log, name, line);
      lastError = reportedError(line, record) ?? lastError;
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
    get lastError() {
      return lastError;
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
      if (!running || !child.connected) return false;
      child.send(message as Parameters<typeof child.send>[0], () => {});
      return true;
    },
  };
}
