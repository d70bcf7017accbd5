import type { ModuleSession } from '../../protocol/module-session.js';
import type { Logger } from '../log.js';

/** How long ddns waits for auth to say it serves a changed zone before it answers the update anyway, ms. */
const LOADZONE_TIMEOUT_MS = 5000;

/**
 * Tells auth to serve a zone again after an update (`loadzone`, as `b10
 * zone load` does; auth then has xfrout NOTIFY the secondaries), so that an
 * update is answered once auth answers with it. Reloads of one zone are
 * coalesced: while one is under way, every update committed meanwhile
 * waits for the one next after it, so a burst of updates costs auth a few
 * reloads, not one each.
 */
export class AuthReloads {
  private readonly queued = new Map<string, Promise<void>>();
  private readonly last = new Map<string, Promise<void>>();

  constructor(
    private readonly module: () => ModuleSession | undefined,
    private readonly log: Logger,
  ) {}

  /** Resolves once auth has loaded `zone` as the store has it now, or could not be told (logged); never rejects. */
  reload(zone: string): Promise<void> {
    const queued = this.queued.get(zone);
    if (queued) return queued;
    const next = (this.last.get(zone) ?? Promise.resolve()).then(() => {
      this.queued.delete(zone);
      return this.tell(zone);
    });
    this.queued.set(zone, next);
    this.last.set(zone, next);
    return next;
  }

  private async tell(zone: string): Promise<void> {
    const session = this.module()?.session;
    try {
      if (!session?.isConnected) throw new Error('not on the bus');
      await session.command('Auth', 'loadzone', { origin: zone }, { timeout: LOADZONE_TIMEOUT_MS });
    } catch (err) {
      this.log.warn({ zone, err: (err as Error).message }, 'auth was not told of the update: it serves it once it loads the zone again');
    }
  }
}
