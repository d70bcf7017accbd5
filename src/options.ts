import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { PROJECT_ROOT } from './paths.js';

/** b10's version, as package.json says: every program answers --version with it. */
export const VERSION = (JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** Exit codes shared by every b10 program. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_UNREACHABLE = 3;

export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError('requires a port number (0-65535).');
  }
  return port;
}

/** Positive integer, optionally with a k/M suffix (binary units): 64k, 16M. */
export function parseSize(value: string): number {
  const match = /^(\d+)([kKmM]?)$/.exec(value.trim());
  const scale = { '': 1, k: 1024, K: 1024, m: 1024 * 1024, M: 1024 * 1024 }[match?.[2] ?? ''] ?? 1;
  const size = match ? Number(match[1]) * scale : NaN;
  if (!Number.isSafeInteger(size) || size <= 0) {
    throw new InvalidArgumentError('requires a positive size in bytes (suffix k or M allowed).');
  }
  return size;
}

export function parseCount(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('requires a whole number of at least 1.');
  return n;
}

export function parseMilliseconds(value: string): number {
  const ms = parseMillisecondsOrZero(value);
  if (ms === 0) throw new InvalidArgumentError('requires a positive number of milliseconds.');
  return ms;
}

/** The longest wait Node's timers keep: a longer one fires at once, with a TimeoutOverflowWarning. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function parseMillisecondsOrZero(value: string): number {
  const ms = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(ms)) {
    throw new InvalidArgumentError('requires a whole number of milliseconds.');
  }
  if (ms > MAX_TIMER_MS) throw new InvalidArgumentError(`requires at most ${MAX_TIMER_MS} milliseconds (about 24 days).`);
  return ms;
}

/**
 * Parses argv with commander's exits turned into exceptions, so usage errors
 * end with EXIT_USAGE and --help/--version with 0 (commander alone exits 1).
 * Returns the exit code when parsing ended the program, else undefined.
 */
export async function parseArgs(program: Command, argv: readonly string[]): Promise<number | undefined> {
  const override = (command: Command): void => {
    command.exitOverride();
    for (const sub of command.commands) override(sub);
  };
  override(program);
  try {
    await program.parseAsync(argv as string[]);
    return undefined;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    throw err;
  }
}

/**
 * What a program's main does last: parses its command line and sets the
 * exit code from it (`report` turns an error into one). Not an await at the top level: the bundles the programs
 * run as are CommonJS (scripts/bundle.mjs), which has none.
 */
export function runProgram(program: Command, report?: (err: unknown) => number): void {
  void parseArgs(program, process.argv).then(
    (code) => {
      process.exitCode = code ?? process.exitCode;
    },
    (err: unknown) => {
      // Without a report, as a rejected top-level await ends a program: its error, and exit code 1.
      if (!report) throw err;
      process.exitCode = report(err);
    },
  );
}
