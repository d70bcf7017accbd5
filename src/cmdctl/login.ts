import { randomBytes } from 'node:crypto';

/**
 * Login state, apart from HTTP: the tokens handed out and the password
 * checks per address and account. Time is passed in, so the rules are
 * testable without waiting.
 */

/** What a token stands for: a user, as their account was when they logged in, until `expires`. */
export interface Login {
  user: string;
  /** The account's stamp at login (Accounts.stampOf): a removed account or a new password ends the login. */
  stamp: string;
  expires: number;
}

export class Tokens {
  private readonly live = new Map<string, Login>();

  constructor(private readonly ttlMs: number) {}

  issue(user: string, stamp: string, now = Date.now()): string {
    // Expired tokens are dropped when one is issued, so the map stays as small as the logged-in operators.
    for (const [token, entry] of this.live) if (entry.expires <= now) this.live.delete(token);
    const token = randomBytes(32).toString('hex');
    this.live.set(token, { user, stamp, expires: now + this.ttlMs });
    return token;
  }

  /** The login a token stands for; undefined for an unknown, revoked or expired one. */
  loginOf(token: string | undefined, now = Date.now()): Login | undefined {
    const entry = token === undefined ? undefined : this.live.get(token);
    if (!entry) return undefined;
    if (entry.expires > now) return entry;
    this.live.delete(token!);
    return undefined;
  }

  revoke(token: string): void {
    this.live.delete(token);
  }

  /** Revokes the tokens whose account's stamp is no longer the one they were issued with; returns them. */
  revokeStale(stampOf: (user: string) => string | undefined): string[] {
    const stale = [...this.live].filter(([, entry]) => stampOf(entry.user) !== entry.stamp).map(([token]) => token);
    for (const token of stale) this.live.delete(token);
    return stale;
  }
}

export type Admission = { ok: true } | { ok: false; reason: 'failures' | 'busy'; retryAfter: number };

export interface LoginRules {
  /** Failed logins for one account from one address within the window before that pair waits. */
  failures: number;
  /** Password checks one address may have running at once; more are turned away at once. */
  checksPerAddress: number;
  windowMs: number;
}

/**
 * Which password checks may run. A check counts as a failure from the moment
 * it is admitted, before the hash is computed, so any number of concurrent
 * guesses gets no more checks than the limit; a success takes it back.
 *
 * Failures are counted per (address, account): a script guessing one
 * account's password waits alone, and neither locks out the other operators
 * who share its address (every local client is 127.0.0.1) nor lets anyone
 * lock an account out from elsewhere. Spraying guesses over many names from
 * one address is bounded by the checks it may have running at once.
 */
export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();
  private readonly checking = new Map<string, number>();
  private swept = 0;

  constructor(private readonly rules: LoginRules) {}

  /** Lets one password check for `user` from `address` run now, or says why not and for how many seconds. */
  admit(address: string, user: string, now = Date.now()): Admission {
    this.sweep(now);
    if ((this.checking.get(address) ?? 0) >= this.rules.checksPerAddress) return { ok: false, reason: 'busy', retryAfter: 1 };
    const key = JSON.stringify([address, user]);
    const recent = this.recent(key, now);
    if (recent.length >= this.rules.failures) {
      const oldest = recent[recent.length - this.rules.failures]!;
      return { ok: false, reason: 'failures', retryAfter: Math.max(1, Math.ceil((oldest + this.rules.windowMs - now) / 1000)) };
    }
    this.failures.set(key, [...recent, now]);
    this.checking.set(address, (this.checking.get(address) ?? 0) + 1);
    return { ok: true };
  }

  /** Ends an admitted check; a success forgets the pair's failures. */
  settle(address: string, user: string, succeeded: boolean): void {
    const left = (this.checking.get(address) ?? 1) - 1;
    if (left > 0) this.checking.set(address, left);
    else this.checking.delete(address);
    if (succeeded) this.failures.delete(JSON.stringify([address, user]));
  }

  private recent(key: string, now: number): number[] {
    return (this.failures.get(key) ?? []).filter((t) => now - t < this.rules.windowMs);
  }

  /** Forgets pairs with no failure left in the window, once a window, so guesses over many names cannot grow the map for good. */
  private sweep(now: number): void {
    if (now - this.swept < this.rules.windowMs) return;
    this.swept = now;
    for (const [key, times] of this.failures) if (times.every((t) => now - t >= this.rules.windowMs)) this.failures.delete(key);
  }
}
