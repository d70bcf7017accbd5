import { CONFIG_MANAGER, MSGQ_GROUP } from '../../protocol/groups.js';
import type { Session } from '../../protocol/session.js';
import type { Logger } from '../log.js';
import type { StatsStore } from './store.js';

/**
 * Polls, every interval, each module that has statistics for its getstats
 * answer (BIND 10's b10-stats): msgq, and every module whose registered
 * spec has a "statistics" section, as the config manager lists them. The
 * modules are asked all at once; one that does not answer within the
 * interval holds up nobody, and keeps its last figures, stale. A poll
 * begins once the last one has ended, so polls never pile up.
 */
export class Poller {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The modules polled last time: kept when the config manager cannot be asked. */
  private modules: string[] = [MSGQ_GROUP];

  constructor(
    private readonly session: Session,
    private readonly store: StatsStore,
    private readonly log: Logger,
    public intervalMs: number,
  ) {}

  /** Polls now, and every interval from then on; a new interval applies from the next poll. */
  start(): void {
    this.timer = setTimeout(() => void this.run(), 0);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async run(): Promise<void> {
    await this.pollOnce();
    if (!this.stopped) this.timer = setTimeout(() => void this.run(), this.intervalMs);
  }

  private async pollOnce(): Promise<void> {
    this.modules = await this.targets();
    await Promise.all(this.modules.map((module) => this.poll(module)));
  }

  private async targets(): Promise<string[]> {
    try {
      const specs = (await this.session.command(CONFIG_MANAGER, 'get_module_spec', undefined, { timeout: this.intervalMs })) as Record<string, { statistics?: unknown }>;
      const withStatistics = Object.keys(specs).filter((name) => Array.isArray(specs[name]?.statistics));
      return [MSGQ_GROUP, ...withStatistics.sort()];
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'cannot list the modules from the config manager: polling those of the last poll');
      return this.modules;
    }
  }

  private async poll(module: string): Promise<void> {
    try {
      this.store.answered(module, await this.session.command(module, 'getstats', undefined, { timeout: this.intervalMs }), Date.now());
    } catch (err) {
      const reason = (err as Error).message;
      this.log.debug({ module, reason }, 'no statistics this poll: the last figures stay, stale');
      this.store.failed(module, reason);
    }
  }
}
