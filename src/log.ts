import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

export interface LogOptions {
  verbose?: boolean;
  /** Overrides everything else; B10_LOG_LEVEL does the same from the environment. */
  level?: string;
}

/**
 * The root logger of a b10 program. JSON lines on stderr (stdout stays free
 * for command output); pretty-printed only when a person watches a terminal.
 * Writes are synchronous so the last lines before an exit are not lost.
 */
export function createLogger(name: string, options: LogOptions = {}): Logger {
  const level = options.level ?? process.env.B10_LOG_LEVEL ?? (options.verbose ? 'debug' : 'info');
  const settings = { name, level, base: { pid: process.pid } };
  if (process.stderr.isTTY && process.env.B10_LOG_JSON === undefined) {
    // Loaded only for terminals: daemons under the boss never pay for it.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
    return pino(settings, pretty({ destination: 2, sync: true, ignore: 'pid,hostname' }));
  }
  return pino(settings, pino.destination({ dest: 2, sync: true }));
}
