/**
 * What Stats knows: each module's last answer to getstats, when it came,
 * and whether the last poll failed (the figures are then kept, marked
 * stale, with the reason). Pure: the poller feeds it.
 */
export interface ModuleFigures {
  /** The module's last getstats answer. */
  statistics: Record<string, unknown>;
  /** When that answer came, seconds since the epoch. */
  updated: number;
  /** The last poll got no answer: these figures are older than the last poll. */
  stale: boolean;
  /** Why the last poll failed, while stale. */
  reason?: string;
}

export class StatsStore {
  private readonly modules = new Map<string, ModuleFigures>();

  answered(module: string, statistics: unknown, now: number): void {
    const figures = statistics !== null && typeof statistics === 'object' && !Array.isArray(statistics) ? (statistics as Record<string, unknown>) : {};
    this.modules.set(module, { statistics: figures, updated: now / 1000, stale: false });
  }

  /** The poll of `module` failed: its last figures stay, stale. A module that never answered has none to keep. */
  failed(module: string, reason: string): void {
    const last = this.modules.get(module);
    if (last) this.modules.set(module, { ...last, stale: true, reason });
  }

  /** Every module's figures, or one module's (an empty answer when it has none), by module name. */
  show(owner?: string): Record<string, ModuleFigures> {
    if (owner === undefined) return Object.fromEntries([...this.modules].sort(([a], [b]) => a.localeCompare(b)));
    const one = this.modules.get(owner);
    return one ? { [owner]: one } : {};
  }
}
