import { withDefaults, type Config } from '../../protocol/config-data.js';
import { isNotification } from '../../protocol/message.js';
import { CONFIG_MANAGER, CONFIG_NOTIFICATIONS, CONFIG_UPDATE, MODULE_SPEC, type ModuleSession } from '../../protocol/module-session.js';
import type { Message } from '../../protocol/session.js';
import { loadSpecFile, type ModuleSpec } from '../../protocol/spec.js';
import { RCODE } from '../dns/message.js';
import type { Logger } from '../log.js';
import { LogThrottle } from '../log-throttle.js';
import { notifyVerdict, secondaryZones, XFRIN_SPEC, type SecondaryZone } from './secondaries.js';

const XFRIN = 'Xfrin';

/**
 * Xfrin's zones as auth sees them, so that auth answers a NOTIFY itself,
 * as named does, without waiting on the bus: REFUSED when it does not come
 * from the zone's primary (and Xfrin is not bothered), NOERROR and passed
 * to Xfrin when it does. Xfrin's configuration is followed through the
 * config manager: fetched at the start and whenever Xfrin or auth registers
 * (Xfrin has just come, or the config manager or the bus is back), and
 * taken from every committed change.
 */
export class XfrinZones {
  /** Undefined until Xfrin's configuration could be read. */
  private zones: ReadonlyMap<string, SecondaryZone> | undefined;
  /** Counts committed changes seen, so a slow fetch cannot undo a newer change. */
  private changes = 0;
  private module: ModuleSession | undefined;
  private readonly refused = new LogThrottle();
  /**
   * Told whenever the zones known change (auth passes them on to its workers); the log that they are known
   * waits for what it returns, so that it is true of every process answering NOTIFY.
   */
  onChange: (() => void | Promise<void>) | undefined;

  private constructor(
    private readonly spec: ModuleSpec,
    private readonly log: Logger,
    private readonly knownLog: string,
  ) {}

  /** `known`: what the daemon logs once it knows Xfrin's zones (what it does with them). */
  static async load(log: Logger, known = 'Xfrin\'s zones known: NOTIFY for them answered here'): Promise<XfrinZones> {
    return new XfrinZones(await loadSpecFile(XFRIN_SPEC), log, known);
  }

  /** Whether `zone` is one of Xfrin's (a secondary here); false while Xfrin's configuration is not known. */
  isSecondary(zone: string): boolean {
    return this.zones?.has(zone) === true;
  }

  /** Xfrin's zones as known now, for a process that answers NOTIFY without the bus (an auth worker); null while unknown. */
  known(): SecondaryZone[] | null {
    return this.zones ? [...this.zones.values()] : null;
  }

  /** Takes Xfrin's zones as another process follows them (known() there). */
  adopt(zones: readonly SecondaryZone[] | null): void {
    this.zones = zones ? new Map(zones.map((zone) => [zone.name, zone])) : undefined;
  }

  /** Starts following Xfrin's configuration on `module`'s session; its onMessage must call onMessage here. */
  async follow(module: ModuleSession): Promise<void> {
    this.module = module;
    try {
      await module.session.subscribe(CONFIG_NOTIFICATIONS);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'cannot follow Xfrin\'s configuration: NOTIFY goes to Xfrin to decide');
      return;
    }
    await this.fetch();
  }

  /** Takes what the config manager announces: every message the module session passes on. */
  onMessage(message: Message): void {
    if (message.env.group !== CONFIG_NOTIFICATIONS || !isNotification(message.body)) return;
    const [event, params] = message.body.notification;
    const { module_name: module, config } = (params ?? {}) as { module_name?: unknown; config?: unknown };
    if (event === CONFIG_UPDATE && module === XFRIN && config !== null && typeof config === 'object') {
      this.changes++;
      this.apply(config as Config);
    } else if (event === MODULE_SPEC && (module === XFRIN || module === this.module?.name)) {
      void this.fetch();
    }
  }

  /**
   * The rcode for a NOTIFY of `zone` from `from`, calling `pass` when Xfrin
   * is to hear of it; undefined for a zone that is not Xfrin's, which auth
   * answers on its own. Until Xfrin's configuration is known every NOTIFY
   * is passed on, and Xfrin, which checks the source again, decides.
   */
  answerNotify(zone: string, from: string, pass: () => void): number | undefined {
    const verdict = this.zones && notifyVerdict(this.zones, zone, from);
    if (verdict === 'not-secondary') return undefined;
    if (verdict === 'refuse') {
      const held = this.refused.take(`${zone} ${from}`);
      if (held !== undefined) this.log.warn({ zone, from, primary: this.zones?.get(zone)?.primary, heldBack: held }, 'NOTIFY refused: not from the zone\'s primary');
      return RCODE.REFUSED;
    }
    pass();
    return verdict === 'accept' ? RCODE.NOERROR : undefined;
  }

  private async fetch(): Promise<void> {
    const session = this.module?.session;
    if (!session?.isConnected) return;
    const changes = this.changes;
    let config: unknown;
    try {
      config = await session.command(CONFIG_MANAGER, 'get_config', { module_name: XFRIN });
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'Xfrin\'s configuration not read: NOTIFY goes to Xfrin to decide');
      return;
    }
    if (changes === this.changes) this.apply((config ?? {}) as Config);
  }

  private apply(config: Config): void {
    try {
      this.zones = secondaryZones(withDefaults(this.spec.config_data, config));
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'Xfrin\'s configuration not understood: NOTIFY goes to Xfrin to decide');
      this.zones = undefined;
      void this.onChange?.();
      return;
    }
    const zones = [...this.zones.keys()];
    void Promise.resolve(this.onChange?.()).then(() => this.log.info({ zones }, this.knownLog));
  }
}
