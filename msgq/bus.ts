import type { Envelope } from '../protocol/envelope.js';
import type { Frame } from '../protocol/framing.js';
import type { Limits } from '../protocol/limits.js';
import type { Logger } from '../src/log.js';
import type { AdmissionLimits } from './admission.js';
import type { Client } from './client.js';
import type { MsgqCounters } from './counters.js';
import type { Outgoing } from './outgoing.js';
import type { SubscriptionTable } from './routing.js';

export interface MsgqOptions {
  port: number;
  address: string;
  /** A Unix socket file to listen on as well (the original clients' way in). */
  socketFile?: string;
  limits: Limits;
  /** Bytes a client may leave unread before it is cut off. */
  maxQueue: number;
  /** How long senders wait for a reader past the high-water mark before it is taken for stuck. */
  stallGraceMs: number;
  /** Honour `stop` messages (from loopback only); the boss starts msgq so. */
  allowStop: boolean;
  /** The bus token a TCP client must send first. */
  token: string;
  admission: AdmissionLimits;
}

/** Member events announced on group cc_members, as later BIND 10 did. */
export type MemberEvent = 'connected' | 'disconnected' | 'subscribed' | 'unsubscribed';

/** What the message handlers may do to the bus: the seam between routing logic and sockets. */
export interface Bus {
  readonly log: Logger;
  readonly options: MsgqOptions;
  readonly table: SubscriptionTable<Client>;
  readonly counters: MsgqCounters;
  client(lname: string): Client | undefined;
  lnames(): string[];
  /** Sends to each recipient in its own encoding; returns how many took it. */
  deliver(message: Outgoing, recipients: readonly Client[]): number;
  /**
   * Passes a client's message to each recipient but the sender. With
   * `asSent`, recipients of the sender's encoding get the very input bytes;
   * with `spliceFrom`, the input bytes with the sender's lname put in place
   * of the `from` value the header cache located.
   */
  forward(sender: Client, env: Envelope, frame: Frame, asSent: boolean, recipients: readonly Client[], spliceFrom?: boolean): number;
  /** A message from msgq itself to one client, encoded for it. */
  sendFromMsgq(client: Client, env: Envelope, body?: unknown): void;
  nextSeq(): number;
  notifyMembers(event: MemberEvent, client: string, group?: string): void;
  stop(reason: string): void;
}

/** msgq's own name on the bus, used as `from` of what it sends. */
export const MSGQ_LNAME = 'msgq';
export { MSGQ_GROUP, MEMBERS_GROUP } from '../protocol/groups.js';
