import type { ModuleSession } from '../../protocol/module-session.js';
import { changesToBus, type ZoneChange } from '../dns/zone-changes.js';
import { announceZoneLoaded } from '../dns/zone-events.js';
import type { Logger } from '../log.js';

/** How long ddns waits for auth to say it serves a changed zone before it answers the update anyway, ms. */
const LOADZONE_TIMEOUT_MS = 5000;

/**
 * Tells auth to serve a zone as an update left it (`loadzone`, as `b10
 * zone load` does, with the changes; auth then has xfrout NOTIFY the
 * secondaries), so that an update is answered once auth answers with it.
 * The changes let auth change the zone it holds rather than read it whole
 * from the store: the cost of an update follows its size, not the zone's.
 * Reloads of one zone are coalesced: while one is under way, every update
 * committed meanwhile waits for the one next after it, which carries all
 * their changes, so a burst of updates costs auth a few reloads, not one
 * each.
 */
export class AuthReloads {
  private readonly queued = new Map<string, { done: Promise<void>; changes: ZoneChange[] }>();
  private readonly last = new Map<string, Promise<void>>();

  constructor(
    private readonly module: () => ModuleSession | undefined,
    private readonly log: Logger,
  ) {}

  /** Resolves once auth serves `zone` with `change` made, or could not be told (logged); never rejects. */
  reload(zone: string, change: ZoneChange): Promise<void> {
    const queued = this.queued.get(zone);
    if (queued) {
      queued.changes.push(change);
      return queued.done;
    }
    const changes = [change];
    const done = (this.last.get(zone) ?? Promise.resolve()).then(() => {
      this.queued.delete(zone);
      return this.tell(zone, changes);
    });
    this.queued.set(zone, { done, changes });
    this.last.set(zone, done);
    return done;
  }

  private async tell(zone: string, changes: ZoneChange[]): Promise<void> {
    const session = this.module()?.session;
    try {
      if (!session?.isConnected) throw new Error('not on the bus');
      await session.command('Auth', 'loadzone', { origin: zone, changes: changesToBus(changes) }, { timeout: LOADZONE_TIMEOUT_MS });
      announceZoneLoaded(session, zone, 'update');
    } catch (err) {
      this.log.warn({ zone, err: (err as Error).message }, 'auth was not told of the update: it serves it once it loads the zone again');
    }
  }
}
