import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { NoRecipientError, TimeoutError } from '../../protocol/errors.js';
import { DEFAULT_TIMEOUT_MS } from '../../protocol/limits.js';
import { createAnswer, parseCommand, RCODE_ERROR } from '../../protocol/message.js';
import type { Session } from '../../protocol/session.js';
import { eventFrom } from '../cmdctl/events.js';
import type { Logger } from '../log.js';
import { LogThrottle } from '../log-throttle.js';
import { natsOptions } from './nats.js';
import { commandSubjects, eventsSubject, groupOf, HOSTS_SUBJECT, isFleetSubject, maskServer, type NatsSettings } from './subjects.js';
import { NO_RECIPIENT, type FleetEvent, type FleetReply, type HostInfo } from './wire.js';

/** Bridge's configuration as the bridge runs on it, host resolved. */
export interface BridgeSettings {
  nats: NatsSettings;
  host: string;
  export: string[];
  events: boolean;
  /** ms a local module may take to answer. */
  timeout: number;
}

/** Waits between tries to reach a NATS server, ms: short, so a host is back soon after a node it used dies. */
const RECONNECT_WAIT_MS = 250;
/** The longest wait between tries to join NATS at all. */
const MAX_JOIN_WAIT_MS = 5000;
/**
 * Fleet commands a bridge runs at once; more are answered "busy". Each
 * holds its command (up to NATS's max_payload, 1 MB) until the local
 * module answers, so this bounds the bridge's memory under a burst.
 */
export const MAX_COMMANDS_IN_FLIGHT = 64;

/** An error answer the bridge gives itself, in the bus's answer shape. */
const errorAnswer = (text: string): FleetReply['answer'] => createAnswer(RCODE_ERROR, text) as FleetReply['answer'];

/**
 * One host's bus joined to NATS: a command arriving on one of its exported
 * groups' subjects is sent to that group on the local bus, and the local
 * answer goes back with the host's name. Groups not exported have no
 * subscription, so NATS itself answers "no responders". The NATS client
 * reconnects on its own (to any node of the cluster) and subscribes again.
 */
export class Bridge {
  private nc: NatsConnection | undefined;
  private subscriptions: Subscription[] = [];
  private settings: BridgeSettings | undefined;
  /** Counts connections asked for, so one still connecting when the settings change is dropped. */
  private generation = 0;
  private readonly joinFailures = new LogThrottle();
  private readonly refusedReplies = new LogThrottle();
  private readonly busyRefusals = new LogThrottle();
  private inFlight = 0;
  /** Whether the connection is up: the client keeps its server while it tries to reconnect. */
  private connected = false;

  constructor(
    private readonly bus: Session,
    private readonly log: Logger,
  ) {}

  /**
   * Takes a configuration: connects again when the NATS settings changed,
   * subscribes again when the host or the exported groups did. Returns at
   * once; the connection comes when a server answers. Throws UsageError for
   * a credentials or TLS file that cannot be read.
   */
  apply(next: BridgeSettings): void {
    const before = this.settings;
    const options = natsOptions(next.nats, `b10-bridge ${next.host}`);
    this.settings = next;
    if (!before || JSON.stringify(before.nats) !== JSON.stringify(next.nats)) {
      const generation = ++this.generation;
      void this.disconnect().then(() => this.connect(generation, options));
      return;
    }
    if (before.host !== next.host || JSON.stringify(before.export) !== JSON.stringify(next.export)) this.subscribe();
  }

  /** What `status` answers. */
  status(): { host: string | undefined; export: string[]; events: boolean; server: string | null } {
    return {
      host: this.settings?.host,
      export: this.settings?.export ?? [],
      events: this.settings?.events ?? false,
      server: this.nc && this.connected && !this.nc.isClosed() ? this.nc.getServer() || null : null,
    };
  }

  /** A message of a bus announcement group: published on b10.<host>.events when events are on. */
  forwardEvent(group: string, body: unknown): void {
    const settings = this.settings;
    if (!settings?.events || !this.nc || this.nc.isClosed()) return;
    const event = eventFrom(group, body);
    if (!event) return;
    const published: FleetEvent = { host: settings.host, ...event };
    this.nc.publish(eventsSubject(settings.host), JSON.stringify(published));
  }

  async close(): Promise<void> {
    this.generation++;
    await this.disconnect();
  }

  /**
   * Joins NATS, trying again until it works or the settings change: the
   * reason it failed (no server, TLS refused, credentials refused) is logged
   * once a minute at most, for the operator to see in the boss's log.
   */
  private async connect(generation: number, options: ReturnType<typeof natsOptions>): Promise<void> {
    let nc: NatsConnection | undefined;
    for (let wait = RECONNECT_WAIT_MS; generation === this.generation; wait = Math.min(wait * 2, MAX_JOIN_WAIT_MS)) {
      try {
        nc = await connect({ ...options, maxReconnectAttempts: -1, reconnectTimeWait: RECONNECT_WAIT_MS });
        break;
      } catch (err) {
        const held = this.joinFailures.take((err as Error).message);
        if (held !== undefined) this.log.warn({ err: (err as Error).message, servers: this.settings?.nats.servers.map(maskServer), heldBack: held }, 'cannot join NATS: trying again');
        await sleep(wait);
      }
    }
    if (!nc) return;
    if (generation !== this.generation) {
      await nc.close();
      return;
    }
    this.nc = nc;
    this.connected = true;
    this.log.info({ server: nc.getServer(), host: this.settings?.host }, 'joined NATS');
    void this.watch(nc);
    this.subscribe();
  }

  /** Follows the connection's ups and downs, and logs them: an operator sees the bridge move to another node. */
  private async watch(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        if (nc === this.nc) this.connected = false;
        this.log.warn({ server: status.server }, 'NATS connection lost: reconnecting');
      } else if (status.type === 'reconnect') {
        if (nc === this.nc) this.connected = true;
        this.log.info({ server: status.server }, 'NATS reconnected');
      } else if (status.type === 'error') this.log.warn({ err: String(status.error) }, 'NATS error');
    }
  }

  private subscribe(): void {
    const nc = this.nc;
    const settings = this.settings;
    if (!nc || !settings) return;
    for (const sub of this.subscriptions) sub.unsubscribe();
    // Host and export are those subscribed with (a change subscribes again); events and timeout are read as they are now.
    const info = (): HostInfo => ({ host: settings.host, export: settings.export, events: this.settings?.events ?? false });
    this.subscriptions = [
      nc.subscribe(HOSTS_SUBJECT, {
        callback: (err, msg) => {
          if (!err && this.answerable(msg, HOSTS_SUBJECT)) msg.respond(JSON.stringify(info()));
        },
      }),
      ...commandSubjects(settings.host, settings.export).map((subject) =>
        nc.subscribe(subject, { callback: (err, msg) => void (err ? undefined : this.onRequest(msg, settings.host)) }),
      ),
    ];
    this.log.info({ host: settings.host, export: settings.export }, 'listening for fleet commands');
  }

  /** A fleet command: sent on the local bus, its answer sent back with the host's name. */
  private async onRequest(msg: Msg, host: string): Promise<void> {
    const group = groupOf(msg.subject)!;
    if (!this.answerable(msg, group)) return;
    if (this.inFlight >= MAX_COMMANDS_IN_FLIGHT) {
      const held = this.busyRefusals.take(group);
      if (held !== undefined) this.log.warn({ group, inFlight: this.inFlight, heldBack: held }, 'fleet command refused: too many in progress');
      const busy = errorAnswer(`busy: ${MAX_COMMANDS_IN_FLIGHT} fleet commands are in progress on ${host}; try again`);
      msg.respond(JSON.stringify({ host, answer: busy } satisfies FleetReply));
      return;
    }
    this.inFlight++;
    try {
      const answer = await this.localAnswer(group, msg, this.settings?.timeout ?? DEFAULT_TIMEOUT_MS);
      msg.respond(this.replyText(host, answer, msg.data.length));
    } finally {
      this.inFlight--;
    }
  }

  /**
   * Whether a request may be answered: not when its reply subject is a
   * fleet subject, where the answer would go out as this bridge's word (on
   * its b10.<host>.events, say), published with the bridge's permissions.
   * A client's inbox is never one.
   */
  private answerable(msg: Msg, what: string): boolean {
    if (msg.reply === undefined || !isFleetSubject(msg.reply)) return true;
    const held = this.refusedReplies.take(what);
    if (held !== undefined) this.log.warn({ subject: msg.subject, reply: msg.reply, heldBack: held }, 'fleet request refused: its reply subject is a b10 subject');
    return false;
  }

  /**
   * The reply as sent. One larger than the server takes (its max_payload,
   * 1 MB by default; an answer can outgrow the command that asked for it)
   * would make the NATS client throw and the bridge stop: an error answer
   * saying so goes instead.
   */
  private replyText(host: string, answer: FleetReply['answer'], requestBytes: number): string {
    const text = JSON.stringify({ host, answer } satisfies FleetReply);
    const max = this.nc?.info?.max_payload;
    const bytes = Buffer.byteLength(text);
    if (max === undefined || bytes <= max) return text;
    this.log.warn({ bytes, max, requestBytes }, 'fleet answer too large for NATS: an error answer sent instead');
    const tooLarge = errorAnswer(`the answer (${bytes} bytes) is larger than NATS's max_payload (${max} bytes)`);
    return JSON.stringify({ host, answer: tooLarge } satisfies FleetReply);
  }

  private async localAnswer(group: string, msg: Msg, timeout: number): Promise<FleetReply['answer']> {
    let body: unknown;
    try {
      body = JSON.parse(msg.string());
      parseCommand(body);
    } catch (err) {
      return errorAnswer(`malformed command: ${(err as Error).message}`);
    }
    try {
      return (await this.bus.request(group, body, { timeout })).body as FleetReply['answer'];
    } catch (err) {
      if (err instanceof NoRecipientError) return NO_RECIPIENT;
      if (err instanceof TimeoutError) return errorAnswer(`${group} did not answer within ${timeout} ms`);
      this.log.warn({ err: (err as Error).message, group }, 'fleet command not delivered on the bus');
      return errorAnswer(`not delivered on the bus: ${(err as Error).message}`);
    }
  }

  private async disconnect(): Promise<void> {
    const nc = this.nc;
    this.nc = undefined;
    this.subscriptions = [];
    if (!nc) return;
    // Drained: commands already taken get their answers out before the connection closes.
    await nc.drain().catch(() => nc.close());
    this.log.info('left NATS');
  }
}
