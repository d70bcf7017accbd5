import { randomBytes } from 'node:crypto';

/**
 * Login state, apart from HTTP: the tokens handed out and the failed
 * attempts per address. Time is passed in, so the rules are testable
 * without waiting.
 */

export class Tokens {
  private readonly live = new Map<string, { user: string; expires: number }>();

  constructor(private readonly ttlMs: number) {}

  issue(user: string, now = Date.now()): string {
    // Expired tokens are dropped when one is issued, so the map stays as small as the logged-in operators.
    for (const [token, entry] of this.live) if (entry.expires <= now) this.live.delete(token);
    const token = randomBytes(32).toString('hex');
    this.live.set(token, { user, expires: now + this.ttlMs });
    return token;
  }

  /** The user a token belongs to; undefined for an unknown or expired one. */
  userOf(token: string | undefined, now = Date.now()): string | undefined {
    const entry = token === undefined ? undefined : this.live.get(token);
    if (!entry) return undefined;
    if (entry.expires > now) return entry.user;
    this.live.delete(token!);
    return undefined;
  }

  revoke(token: string): void {
    this.live.delete(token);
  }
}

/** Failed logins per address within a sliding minute; past the limit the address waits. */
export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly perMinute: number,
    private readonly windowMs = 60_000,
  ) {}

  /** Seconds the address must wait before trying again; 0 when it may try now. */
  retryAfter(address: string, now = Date.now()): number {
    const recent = this.recent(address, now);
    if (recent.length < this.perMinute) return 0;
    return Math.max(1, Math.ceil((recent[recent.length - this.perMinute]! + this.windowMs - now) / 1000));
  }

  failed(address: string, now = Date.now()): void {
    this.failures.set(address, [...this.recent(address, now), now]);
  }

  succeeded(address: string): void {
    this.failures.delete(address);
  }

  private recent(address: string, now: number): number[] {
    const recent = (this.failures.get(address) ?? []).filter((t) => now - t < this.windowMs);
    if (recent.length === 0) this.failures.delete(address);
    return recent;
  }
}
