import { Command, Option } from 'commander';
import {
  AnswerError,
  AuthError,
  B10Error,
  ClosedError,
  ConnectionError,
  NoRecipientError,
  ProtocolError,
  TimeoutError,
  UsageError,
  ValidationError,
} from '../../protocol/errors.js';
import { DEFAULT_TIMEOUT_MS } from '../../protocol/limits.js';
import { Session, type SessionOptions } from '../../protocol/session.js';
import { CONFIG_MANAGER } from '../../protocol/groups.js';
import { resolveTokenFile } from '../../protocol/token.js';
import { EXIT_FAILURE, EXIT_UNREACHABLE, EXIT_USAGE, parseMilliseconds, parsePort } from '../options.js';

export interface BusOptions {
  msgqPort?: number;
  msgqSocketFile?: string;
  msgqTokenFile?: string;
  dataPath?: string;
  timeout: number;
  /** How long to retry connecting while msgq is not there yet; without it one attempt. */
  wait?: number;
}

/**
 * Options every bus command takes. `connectWait: false` leaves out --wait,
 * for a command that gives --wait a meaning of its own.
 */
export function withBusOptions(command: Command, { connectWait = true } = {}): Command {
  command
    .addOption(
      new Option('-m, --msgq-port <port>', 'msgq port (default: B10_MSGQ_PORT, else 9912)').argParser(parsePort),
    )
    .addOption(
      new Option('--msgq-socket-file <path>', 'reach msgq through its Unix socket file instead of TCP').env('B10_MSGQ_SOCKET_FILE'),
    )
    .addOption(
      new Option('--msgq-token-file <file>', 'the bus token (default: B10_MSGQ_TOKEN_FILE, else msgq.token in the data path)'),
    )
    .addOption(
      new Option('-t, --timeout <ms>', 'how long to wait for answers')
        .argParser(parseMilliseconds)
        .default(DEFAULT_TIMEOUT_MS),
    );
  // Commands that keep data (zone) already take -d, for the same directory.
  if (!command.options.some((o) => o.long === '--data-path')) {
    command.option('-d, --data-path <dir>', 'where b10 keeps its data, the bus token among it (default: B10_DATA_PATH, else ./b10)');
  }
  if (!connectWait) return command;
  return command.addOption(
    new Option('--wait <ms>', 'keep trying to reach msgq this long (for scripts that have just started b10); default: fail at once')
      .argParser(parseMilliseconds),
  );
}

/** A one-shot command's session: no reconnecting, so a bus that goes away ends the command. */
export function connect(opts: BusOptions, options: SessionOptions = {}): Promise<Session> {
  return Session.connect({
    port: opts.msgqPort,
    socketFile: opts.msgqPort === undefined ? opts.msgqSocketFile : undefined,
    tokenFile: busTokenFile(opts),
    timeout: opts.timeout,
    connectTimeout: opts.wait ?? 0,
    reconnect: false,
    ...options,
  });
}

export function busTokenFile(opts: BusOptions): string {
  return resolveTokenFile({ tokenFile: opts.msgqTokenFile, dataPath: opts.dataPath });
}

export function parseJsonArgument(name: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${name} is not valid JSON: ${(err as Error).message}`);
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/**
 * The one place errors become exit codes: 1 for an error answer, 2 for usage,
 * 3 when the bus or the addressee could not be reached or did not answer.
 */
export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError || err instanceof ValidationError) return EXIT_USAGE;
  if (err instanceof AnswerError) return EXIT_FAILURE;
  if (
    err instanceof ConnectionError ||
    err instanceof AuthError ||
    err instanceof ClosedError ||
    err instanceof TimeoutError ||
    err instanceof NoRecipientError ||
    err instanceof ProtocolError
  ) {
    return EXIT_UNREACHABLE;
  }
  return EXIT_FAILURE;
}

export function reportError(err: unknown): number {
  const message =
    err instanceof NoRecipientError && err.group === CONFIG_MANAGER && err.to === '*'
      ? 'the config manager is not running (the boss restarts it; try again shortly)'
      : err instanceof B10Error || err instanceof Error
        ? err.message
        : String(err);
  process.stderr.write(`b10: ${message}\n`);
  return exitCodeFor(err);
}

/** Runs a command body with a session, closing it on every path. */
export async function withSession(opts: BusOptions, body: (session: Session) => Promise<void>): Promise<void> {
  const session = await connect(opts);
  try {
    await body(session);
  } finally {
    await session.close();
  }
}
