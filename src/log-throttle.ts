/**
 * At most one log line per key and period, for events anyone on the network
 * can cause (a spoofed NOTIFY costs its sender one UDP packet): a flood
 * must not become a flood of log lines. Pure; the caller passes the time.
 */
export class LogThrottle {
  /** Per key: when it was last logged, and how many were held back since. */
  private readonly seen = new Map<string, { at: number; held: number }>();

  constructor(
    private readonly periodMs = 60_000,
    /** Keys remembered at most: one sender cycling through many sources cannot grow this without bound. */
    private readonly maxKeys = 1000,
  ) {}

  /**
   * Whether to log the event `key` now: undefined when not, else how many
   * events of that key were held back since its last line.
   */
  take(key: string, now = Date.now()): number | undefined {
    const entry = this.seen.get(key);
    if (entry && now - entry.at < this.periodMs) {
      entry.held++;
      return undefined;
    }
    if (!entry && this.seen.size >= this.maxKeys) {
      for (const [k, e] of this.seen) if (now - e.at >= this.periodMs) this.seen.delete(k);
      // Still full: every key in it was logged within the period, so the log already has maxKeys lines of it.
      if (this.seen.size >= this.maxKeys) return undefined;
    }
    this.seen.set(key, { at: now, held: 0 });
    return entry?.held ?? 0;
  }
}
