import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { unwatchFile, watchFile } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { writeFileAtomic } from '../atomic-file.js';

/**
 * cmdctl's accounts: one JSON file in the data path, each password scrypt-
 * hashed with its own salt (node:crypto), written atomically. Passwords are
 * never stored, logged or taken from argv.
 */

export const ACCOUNTS_FILE = 'cmdctl-accounts.json';
const VERSION = 1;
const KEYLEN = 64;
const COST = { N: 16384, r: 8, p: 1 } as const;

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number, options: object) => Promise<Buffer>;

export class AccountsError extends Error {
  readonly code = 'ERR_ACCOUNTS';
}

interface StoredUser {
  salt: string;
  hash: string;
  N: number;
  r: number;
  p: number;
}

const NAME = /^[A-Za-z0-9._@-]{1,64}$/;

/** Whether `name` could be a user's: no account can have any other. */
export function isUserName(name: string): boolean {
  return NAME.test(name);
}

/**
 * Calls `onChange` when the accounts file in `dataPath` changes (written,
 * replaced, removed); returns the function that stops watching. The file's
 * status is polled: that sees the atomic rename `b10 user` does (a watch on
 * the file would stay on the replaced one), works on any filesystem and
 * whether or not the file or its directory exist yet, for one stat a poll.
 */
export function watchAccounts(dataPath: string, intervalMs: number, onChange: () => void): () => void {
  const file = path.join(dataPath, ACCOUNTS_FILE);
  const listener = (): void => onChange();
  watchFile(file, { interval: intervalMs, persistent: false }, listener);
  return () => unwatchFile(file, listener);
}

export class Accounts {
  private constructor(
    readonly file: string,
    private users: Record<string, StoredUser>,
  ) {}

  /** The accounts in `dataPath`; none when the file does not exist. A corrupt file is an error naming it. */
  static async load(dataPath: string): Promise<Accounts> {
    const file = path.join(dataPath, ACCOUNTS_FILE);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Accounts(file, {});
      throw new AccountsError(`${file}: ${(err as Error).message}`);
    }
    let parsed: { version?: unknown; users?: unknown };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      throw new AccountsError(`${file}: not JSON; the file is left as it is`);
    }
    if (parsed.version !== VERSION || parsed.users === null || typeof parsed.users !== 'object') {
      throw new AccountsError(`${file}: not an accounts file of version ${VERSION}; the file is left as it is`);
    }
    return new Accounts(file, parsed.users as Record<string, StoredUser>);
  }

  names(): string[] {
    return Object.keys(this.users).sort();
  }

  /** What a login is tied to: it changes with the user's password, and is undefined once the user is removed. */
  stampOf(name: string): string | undefined {
    return Object.prototype.hasOwnProperty.call(this.users, name) ? this.users[name]!.hash : undefined;
  }

  async add(name: string, password: string): Promise<void> {
    if (!isUserName(name)) throw new AccountsError(`"${name}" is not a user name: 1 to 64 letters, digits, . _ @ -`);
    if (password.length === 0) throw new AccountsError('an empty password is not a password');
    const salt = randomBytes(16);
    const hash = await scryptAsync(password, salt, KEYLEN, { ...COST, maxmem: 64 * 1024 * 1024 });
    this.users = { ...this.users, [name]: { salt: salt.toString('base64'), hash: hash.toString('base64'), ...COST } };
    await this.save();
  }

  async remove(name: string): Promise<boolean> {
    if (!(name in this.users)) return false;
    const { [name]: _gone, ...rest } = this.users;
    this.users = rest;
    await this.save();
    return true;
  }

  /** Whether `password` is the user's; the same work is done for an unknown user, so timing tells nothing. */
  async verify(name: string, password: string): Promise<boolean> {
    const user = Object.prototype.hasOwnProperty.call(this.users, name) ? this.users[name] : undefined;
    const salt = user ? Buffer.from(user.salt, 'base64') : randomBytes(16);
    const cost = user ? { N: user.N, r: user.r, p: user.p } : COST;
    const hash = await scryptAsync(password, salt, KEYLEN, { ...cost, maxmem: 64 * 1024 * 1024 });
    return user !== undefined && timingSafeEqual(hash, Buffer.from(user.hash, 'base64'));
  }

  /** Readable by its owner only: the hashes are not passwords, but no one else needs them. */
  private async save(): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.file, `${JSON.stringify({ version: VERSION, users: this.users }, null, 2)}\n`, 0o600);
  }
}
