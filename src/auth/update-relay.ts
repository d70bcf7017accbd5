import { UPDATE_ANSWER, UPDATE_HANDOFF, type UpdateAnswer, type UpdateHandoff } from '../daemon.js';
import { bareResponse, RCODE, type Query } from '../dns/message.js';
import type { Logger } from '../log.js';
import { LogThrottle } from '../log-throttle.js';

/** Updates waiting for ddns at once at most (auth's workers together); one more is answered SERVFAIL (named's update-quota is 100). */
export const MAX_UPDATES_IN_FLIGHT = 100;
/** How long an update waits for ddns's answer before auth answers SERVFAIL itself (ddns died with it, say), ms. */
export const UPDATE_TIMEOUT_MS = 10_000;

export interface UpdateClient {
  address: string;
  port: number;
  transport: 'udp' | 'tcp';
}

interface Pending {
  query: Query;
  resolve: (response: Buffer | undefined) => void;
  timer: NodeJS.Timeout;
}

/**
 * auth's side of dynamic updates: an UPDATE goes to ddns through the boss
 * (`send`, over the IPC channel), and ddns's answer comes back to be sent
 * from the socket the update came in on. What auth holds for this is
 * bounded: MAX_UPDATES_IN_FLIGHT updates, each for UPDATE_TIMEOUT_MS at
 * most. When ddns is not running the boss says so at once and auth
 * answers NOTIMP, as BIND 10's auth answered when b10-ddns was not there.
 */
export class UpdateRelay {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly throttle = new LogThrottle();

  /** Updates handed on whose answers have not come yet. */
  get inFlight(): number {
    return this.pending.size;
  }

  constructor(
    /** Sends a handoff to the boss; false when there is no boss to send it to. */
    private readonly send: (handoff: UpdateHandoff) => boolean,
    private readonly log: Logger,
    private readonly limits = { maxInFlight: MAX_UPDATES_IN_FLIGHT, timeoutMs: UPDATE_TIMEOUT_MS },
  ) {}

  /** The response to the UPDATE `packet` (parsed as `query`), once ddns or the relay has one; undefined: send nothing. */
  forward(packet: Buffer, query: Query, client: UpdateClient): Promise<Buffer | undefined> {
    if (this.pending.size >= this.limits.maxInFlight) return Promise.resolve(this.busy(query, client.address, this.pending.size));
    const id = this.nextId;
    this.nextId = this.nextId >= 0x7fffffff ? 1 : this.nextId + 1;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.log.warn({ client: client.address, zone: query.qname, ms: this.limits.timeoutMs }, 'update answered SERVFAIL: no answer from ddns in time');
        resolve(bareResponse(query, RCODE.SERVFAIL));
      }, this.limits.timeoutMs);
      this.pending.set(id, { query, resolve, timer });
      if (!this.send({ type: UPDATE_HANDOFF, id, packet: packet.toString('base64'), client })) {
        this.settle({ type: UPDATE_ANSWER, id, unavailable: 'auth runs without the boss' });
      }
    });
  }

  /** An answer the boss passed back: ddns's response, or word that ddns is not running. */
  settle(answer: UpdateAnswer): void {
    const pending = this.pending.get(answer.id);
    if (!pending) return;
    this.pending.delete(answer.id);
    clearTimeout(pending.timer);
    if (answer.busy) {
      pending.resolve(this.busy(pending.query, undefined, undefined));
      return;
    }
    if (answer.unavailable !== undefined) {
      this.warn('unavailable', { zone: pending.query.qname, why: answer.unavailable }, 'update answered NOTIMP: ddns is not running');
      pending.resolve(bareResponse(pending.query, RCODE.NOTIMP));
      return;
    }
    pending.resolve(answer.response === undefined ? undefined : Buffer.from(answer.response, 'base64'));
  }

  /** Answers SERVFAIL to every update still waiting: auth is stopping. */
  close(): void {
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      this.pending.delete(id);
      pending.resolve(bareResponse(pending.query, RCODE.SERVFAIL));
    }
  }

  private busy(query: Query, client: string | undefined, inFlight: number | undefined): Buffer {
    this.warn('busy', { client, inFlight }, 'update answered SERVFAIL: too many updates in flight');
    return bareResponse(query, RCODE.SERVFAIL);
  }

  private warn(key: string, fields: object, message: string): void {
    const held = this.throttle.take(key);
    if (held !== undefined) this.log.warn({ ...fields, heldBack: held }, message);
  }
}
