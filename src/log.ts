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
 * It is also where the program's uncaught errors go (see exitOnUncaught).
 */
export function createLogger(name: string, options: LogOptions = {}): Logger {
  const level = options.level ?? process.env.B10_LOG_LEVEL ?? (options.verbose ? 'debug' : 'info');
  const settings = { name, level, base: { pid: process.pid } };
  let log: Logger;
  if (process.stderr.isTTY && process.env.B10_LOG_JSON === undefined) {
    // Loaded only for terminals: daemons under the boss never pay for it.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
    log = pino(settings, pretty({ destination: 2, sync: true, ignore: 'pid,hostname' }));
  } else {
    log = pino(settings, pino.destination({ dest: 2, sync: true }));
  }
  exitOnUncaught(log);
  return log;
}

let uncaughtLog: Logger | undefined;

/**
 * An error nothing caught (a rejected await at the top included) ends the
 * program as one fatal line with its message, instead of Node's stack dump
 * on stderr, which the boss would log line by line. The stack is logged
 * too, at debug level, for whoever runs with -v. Exit code 1.
 */
function exitOnUncaught(log: Logger): void {
  if (uncaughtLog === undefined) {
    process.on('uncaughtException', (err: unknown) => {
      const error = err instanceof Error ? err : new Error(String(err));
      uncaughtLog!.debug({ stack: error.stack }, 'the stack of the uncaught error below');
      uncaughtLog!.fatal({ code: (error as NodeJS.ErrnoException).code }, `stopping on an error: ${error.message}`);
      process.exit(1);
    });
  }
  uncaughtLog = log;
}
