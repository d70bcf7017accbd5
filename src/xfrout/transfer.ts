import type { Socket } from 'node:net';
import { decide, DEFAULT_TRANSFER_ACL, type AclEntry } from '../dns/acl.js';
import { axfrMessages } from '../dns/axfr.js';
import { bareResponse, lengthPrefixed, parseQuery, RCODE } from '../dns/message.js';
import { soaTimers } from '../dns/rdata.js';
import { ZoneStore } from '../dns/zone-store.js';
import type { Logger } from '../log.js';
import { TransferCounters } from '../stats/transfer-counters.js';

export interface TransferLimits {
  /** Transfers at once at most; one more is answered SERVFAIL, as named answers past its transfers-out. */
  maxTransfers: number;
  /** A transfer whose client takes nothing for this long is closed, ms. */
  idleMs: number;
}

export const DEFAULT_TRANSFER_LIMITS: TransferLimits = Object.freeze({ maxTransfers: 10, idleMs: 30_000 });

/** The client took nothing for the idle timeout, or went away, in the middle of a transfer. */
export class TransferCutError extends Error {}

/**
 * Writes one message and resolves once the socket can take more: at the
 * pace the client reads, never faster, and never waiting longer than
 * `idleMs` for it to read anything.
 */
export async function sendMessage(socket: Socket, message: Buffer, idleMs: number): Promise<void> {
  if (socket.destroyed) throw new TransferCutError('the client is gone');
  if (socket.write(lengthPrefixed(message))) return;
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error): void => {
      clearTimeout(timer);
      socket.off('drain', onDrain);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = (): void => done();
    const onClose = (): void => done(new TransferCutError('the client closed the connection'));
    const timer = setTimeout(() => done(new TransferCutError(`the client read nothing for ${idleMs} ms`)), idleMs);
    socket.once('drain', onDrain);
    socket.once('close', onClose);
  });
}

/**
 * xfrout's side of a connection auth handed over: the cap on transfers at
 * once, the ACL, then the zone streamed from the store at the client's
 * pace. The store is read a bounded number of records at a time, each
 * read a short transaction, so a slow or stalled client holds no
 * transaction open; one that reads nothing for the idle timeout is cut.
 */
export class TransfersOut {
  acl: readonly AclEntry[] = DEFAULT_TRANSFER_ACL;
  limits: TransferLimits = DEFAULT_TRANSFER_LIMITS;
  private active = 0;
  readonly counters = new TransferCounters();

  constructor(
    private readonly dataPath: string,
    private readonly log: Logger,
  ) {}

  /** Serves the transfer asked by `packet`; the connection is closed when it ends, cut when it fails. */
  async serve(socket: Socket, packet: Buffer): Promise<void> {
    try {
      await this.answer(socket, packet);
      socket.end();
      // A client that stops reading just before the end must not keep the connection open forever.
      socket.setTimeout(this.limits.idleMs, () => socket.destroy());
    } catch (err) {
      socket.destroy();
      throw err;
    }
  }

  private async answer(socket: Socket, packet: Buffer): Promise<void> {
    const parsed = parseQuery(packet);
    if (parsed.kind !== 'query') return;
    const { query } = parsed;
    const client = socket.remoteAddress ?? '';
    const send = (message: Buffer): Promise<void> => sendMessage(socket, message, this.limits.idleMs);
    if (this.active >= this.limits.maxTransfers) {
      this.log.warn({ client, zone: query.qname, running: this.active }, 'transfer denied: max_transfers_out reached');
      this.counters.count(query.qname, 'AXFR', 'busy');
      await send(bareResponse(query, RCODE.SERVFAIL));
      return;
    }
    this.active++;
    try {
      if (decide(this.acl, client) !== 'ACCEPT') {
        this.log.info({ client, zone: query.qname }, 'transfer refused by the ACL');
        this.counters.count(query.qname, 'AXFR', 'refused');
        await send(bareResponse(query, RCODE.REFUSED));
        return;
      }
      const store = ZoneStore.open(this.dataPath, { readonly: true });
      try {
        const zone = store.readZone(query.qname);
        if (!zone) {
          this.counters.count(query.qname, 'AXFR', 'notauth');
          await send(bareResponse(query, RCODE.NOTAUTH));
          return;
        }
        this.log.info({ client, zone: query.qname, serial: soaTimers(zone.soa.rdata).serial }, 'transfer started');
        let messages = 0;
        const sent = { records: 0, bytes: 0 };
        try {
          for (const message of axfrMessages(query, zone.soa, zone.records)) {
            await send(message);
            messages++;
            sent.records += message.readUInt16BE(6);
            sent.bytes += message.length;
          }
        } catch (err) {
          this.counters.count(query.qname, 'AXFR', 'failed', sent.records, sent.bytes);
          throw err;
        }
        this.counters.count(query.qname, 'AXFR', 'success', sent.records, sent.bytes);
        this.log.info({ client, zone: query.qname, messages }, 'transfer done');
      } finally {
        store.close();
      }
    } finally {
      this.active--;
    }
  }
}
