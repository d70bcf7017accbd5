import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { AuthError } from './errors.js';

/**
 * The bus token: the secret a TCP client proves it holds before msgq routes
 * anything of its. It lives in a file only b10's user can read, so the file
 * system decides who may use the bus, as the socket's directory did for
 * BIND 10.
 */
export const TOKEN_FILE_NAME = 'msgq.token';
/** 32 random bytes, written as 64 hex digits. */
const TOKEN_PATTERN = /^[0-9a-f]{64}$/;

export interface TokenFileOptions {
  /** An explicit token file (--msgq-token-file). */
  tokenFile?: string;
  /** The data path (-d); the token is `msgq.token` in it. */
  dataPath?: string;
}

/**
 * Where the token is, found as the data path is: an explicit file, then
 * B10_MSGQ_TOKEN_FILE, then `msgq.token` in the data path (-d,
 * B10_DATA_PATH, else ./b10).
 */
export function resolveTokenFile(options: TokenFileOptions = {}, env: NodeJS.ProcessEnv = process.env): string {
  const file = options.tokenFile ?? (options.dataPath === undefined ? env.B10_MSGQ_TOKEN_FILE || undefined : undefined);
  if (file !== undefined) return path.resolve(file);
  return path.resolve(options.dataPath ?? (env.B10_DATA_PATH || 'b10'), TOKEN_FILE_NAME);
}

export function createToken(): string {
  return randomBytes(32).toString('hex');
}

export function isToken(text: string): boolean {
  return TOKEN_PATTERN.test(text);
}

/** Reads a token file; AuthError saying what to do when it cannot be used. */
export function readTokenFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file (is b10 running with this data path? give -d or --msgq-token-file)'
        : code === 'EACCES'
          ? 'permission denied (only the user b10 runs as may use the bus)'
          : (err as Error).message;
    throw new AuthError(`cannot read the bus token ${file}: ${why}`, { cause: err });
  }
  if (!isToken(text)) throw new AuthError(`${file} does not hold a bus token (64 hex digits)`);
  return text;
}

/** A token file that others can read lets them onto the bus: refused, as ssh refuses such a key. */
export function assertPrivate(file: string): void {
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new AuthError(`${file} can be read by other users (mode ${mode.toString(8).padStart(4, '0')}): make it 0600`);
  }
}

/** Compares in time that does not depend on where the two differ. */
export function tokensMatch(given: string, expected: string): boolean {
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
