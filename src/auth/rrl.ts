import { addressBytes } from '../dns/acl.js';

/**
 * Response rate limiting as BIND 9's rate-limit clause does it, so auth is
 * a poor amplifier for spoofed queries. Identical responses to one client
 * prefix share an account that earns its per-second rate of credits, holds
 * at most one second's worth, and pays one per response; while it is
 * overdrawn the response is dropped, or every `slip`th one sent truncated
 * (TC, question only) so a real client asks again over TCP. An account
 * goes no lower than `window` seconds of credits: a flood is remembered
 * that long after it stops. Pure: the caller passes the clock.
 */

/** What a response is counted as: named's responses, nxdomains and errors classes. */
export type ResponseKind = 'response' | 'nxdomain' | 'error';

/** What to do with a response: send it, send it truncated instead (errors: send it as it is), or drop it. */
export type Verdict = 'send' | 'slip' | 'drop';

export interface RateLimit {
  /** Identical answers (positive, NODATA, referrals) per second; 0: not limited. */
  responsesPerSecond: number;
  /** NXDOMAIN answers per second for one zone. */
  nxdomainsPerSecond: number;
  /** Error responses (REFUSED, FORMERR, NOTIMP ...) per second, whatever the name. */
  errorsPerSecond: number;
  /** Every slip-th limited response is sent truncated; 0: all dropped, 1: all truncated. */
  slip: number;
  windowSeconds: number;
  ipv4PrefixLength: number;
  ipv6PrefixLength: number;
}

/** `Auth/rate_limit` as the spec declares it (snake_case); rates left out follow responses_per_second, as named's do. */
export interface RateLimitItems {
  responses_per_second?: number;
  nxdomains_per_second?: number;
  errors_per_second?: number;
  slip?: number;
  window?: number;
  ipv4_prefix_length?: number;
  ipv6_prefix_length?: number;
}

/** named's defaults: not limited, every other limited response truncated, 15 s, /24 and /56. */
const DEFAULTS = { responses_per_second: 0, slip: 2, window: 15, ipv4_prefix_length: 24, ipv6_prefix_length: 56 };

/** Accounts kept at most (named's max-table-size default); the least recently used makes room. */
export const MAX_ACCOUNTS = 20_000;

/** The rate limit `items` configure; named's bounds on each are auth.spec's, checked before auth sees them. */
export function rateLimitFrom(items: RateLimitItems): RateLimit {
  const given = { ...DEFAULTS, ...items };
  return {
    responsesPerSecond: given.responses_per_second,
    nxdomainsPerSecond: given.nxdomains_per_second ?? given.responses_per_second,
    errorsPerSecond: given.errors_per_second ?? given.responses_per_second,
    slip: given.slip,
    windowSeconds: given.window,
    ipv4PrefixLength: given.ipv4_prefix_length,
    ipv6PrefixLength: given.ipv6_prefix_length,
  };
}

/** True when `limit` limits anything at all. */
export function limitsAnything(limit: RateLimit): boolean {
  return limit.responsesPerSecond > 0 || limit.nxdomainsPerSecond > 0 || limit.errorsPerSecond > 0;
}

interface Account {
  /** Credits; negative while overdrawn. */
  balance: number;
  /** When it was last paid from, ms. */
  at: number;
  /** Limited responses since the last slipped one, modulo slip. */
  sinceSlip: number;
}

export class ResponseRateLimiter {
  /** In the order last used, oldest first (a Map keeps insertion order; a use moves the account to the end). */
  private readonly accounts = new Map<string, Account>();

  constructor(readonly limit: RateLimit) {}

  /**
   * The verdict on one UDP response of `kind` to `client`. Identical
   * responses are told apart by `name` (the name asked for answers, the
   * zone for NXDOMAIN; errors share one account per client prefix) and, for
   * answers, `qtype`. `now` in ms, from a clock that never goes back.
   */
  decide(client: string, kind: ResponseKind, name: string, qtype: number, now: number): Verdict {
    const rate = kind === 'response' ? this.limit.responsesPerSecond : kind === 'nxdomain' ? this.limit.nxdomainsPerSecond : this.limit.errorsPerSecond;
    if (rate === 0) return 'send';
    this.forgetIdle(now);
    const key = `${kind} ${this.prefix(client)} ${kind === 'error' ? '' : name} ${kind === 'response' ? qtype : ''}`;
    let account = this.accounts.get(key);
    if (account) {
      this.accounts.delete(key);
      account.balance = Math.min(rate, account.balance + ((now - account.at) / 1000) * rate);
    } else {
      if (this.accounts.size >= MAX_ACCOUNTS) this.accounts.delete(this.accounts.keys().next().value!);
      account = { balance: rate, at: now, sinceSlip: 0 };
    }
    account.at = now;
    this.accounts.set(key, account);
    account.balance -= 1;
    if (account.balance >= 0) return 'send';
    account.balance = Math.max(account.balance, -this.limit.windowSeconds * rate);
    if (this.limit.slip === 0) return 'drop';
    const verdict = account.sinceSlip === 0 ? 'slip' : 'drop';
    account.sinceSlip = (account.sinceSlip + 1) % this.limit.slip;
    return verdict;
  }

  /** Accounts in use now. */
  get size(): number {
    return this.accounts.size;
  }

  /** An account unused for a window and a second is back to full credit: as good as none. */
  private forgetIdle(now: number): void {
    const horizon = now - (this.limit.windowSeconds + 1) * 1000;
    for (const [key, account] of this.accounts) {
      if (account.at >= horizon) break;
      this.accounts.delete(key);
    }
  }

  /** The client's network: its address cut to the configured prefix length. */
  private prefix(client: string): string {
    let bytes: number[];
    try {
      bytes = addressBytes(client);
    } catch {
      return client;
    }
    const bits = bytes.length === 4 ? this.limit.ipv4PrefixLength : this.limit.ipv6PrefixLength;
    const kept = bytes.map((byte, i) => byte & (0xff << (8 - Math.min(8, Math.max(0, bits - i * 8)))) & 0xff);
    return `${kept.join('.')}/${bits}`;
  }
}
