import type { Socket } from 'node:net';
import { decide, DEFAULT_TRANSFER_ACL, type AclEntry } from '../dns/acl.js';
import { axfrMessages, transferFlags, transferMessages, transferType } from '../dns/axfr.js';
import { differenceSize, ixfrSequence, serialNewer, serialOf } from '../dns/ixfr.js';
import { bareResponse, lengthPrefixed, parseQuery, RCODE, type Query } from '../dns/message.js';
import { readResponse } from '../dns/response.js';
import { checkRequest, Keyring, tsigErrorName, tsigSize, type ResponseSigner } from '../dns/tsig.js';
import type { ZoneRecord } from '../dns/master-file.js';
import { ZoneStore } from '../dns/zone-store.js';
import type { Logger } from '../log.js';
import { TransferCounters } from '../stats/transfer-counters.js';
import { PreparedZones, restamp } from './prepared.js';

export interface TransferLimits {
  /** Transfers at once at most; one more is answered SERVFAIL, as named answers past its transfers-out. */
  maxTransfers: number;
  /** A transfer whose client takes nothing for this long is closed, ms. */
  idleMs: number;
}

export const DEFAULT_TRANSFER_LIMITS: TransferLimits = Object.freeze({ maxTransfers: 10, idleMs: 30_000 });

/** Bytes of AXFR messages xfrout keeps to send again, over all zones (a 1,000,000-record zone takes about 30 MB). */
export const PREPARED_BYTES = 128 * 1024 * 1024;

const IXFR = 251;

/** The serial an IXFR asks from: its authority section's SOA of the zone (RFC 1995 3); undefined when it has none or it cannot be read. */
export function ixfrClientSerial(packet: Buffer, zone: string): number | undefined {
  try {
    const soa = readResponse(packet).authority.find((r) => r.type === 6 && r.name === zone);
    return soa && serialOf(soa);
  } catch {
    return undefined;
  }
}

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
 * pace: AXFR, or IXFR (RFC 1995) from the journal: the SOA alone for a
 * client that is current, the differences since its serial, or the whole
 * zone AXFR-style when the journal does not reach back to that serial or
 * the differences are larger than the zone (as named's max-ixfr-ratio). The store is read a bounded number of records at a time, each
 * read a short transaction, so a slow or stalled client holds no
 * transaction open; one that reads nothing for the idle timeout is cut.
 */
export class TransfersOut {
  acl: readonly AclEntry[] = DEFAULT_TRANSFER_ACL;
  /** The keys a signed request is checked with; its every answer message is then signed (RFC 8945 5.3.1). */
  keyring = new Keyring();
  limits: TransferLimits = DEFAULT_TRANSFER_LIMITS;
  private active = 0;
  readonly counters = new TransferCounters();
  private readonly prepared = new PreparedZones(PREPARED_BYTES);

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
    let signer: ResponseSigner | undefined;
    if (query.signed) {
      const check = checkRequest(packet, this.keyring);
      if (check.status === 'bad') {
        this.log.warn({ client, zone: query.qname, key: check.keyName, tsigError: tsigErrorName(check.error), why: check.why }, 'transfer refused: its TSIG does not verify');
        await sendMessage(socket, check.finish(bareResponse(query, check.rcode)), this.limits.idleMs);
        return;
      }
      if (check.status === 'signed') signer = check.signer;
    }
    const send = (message: Buffer): Promise<void> => sendMessage(socket, signer ? signer.sign(message) : message, this.limits.idleMs);
    // Each message leaves room for its TSIG.
    const room = signer ? tsigSize(signer.key) : 0;
    const kind = query.qtype === IXFR ? 'IXFR' : 'AXFR';
    if (this.active >= this.limits.maxTransfers) {
      this.log.warn({ client, zone: query.qname, running: this.active }, 'transfer denied: max_transfers_out reached');
      this.counters.count(query.qname, kind, 'busy');
      await send(bareResponse(query, RCODE.SERVFAIL));
      return;
    }
    this.active++;
    try {
      if (decide(this.acl, client, signer?.key.name) !== 'ACCEPT') {
        this.log.info({ client, zone: query.qname, key: signer?.key.name }, 'transfer refused by the ACL');
        this.counters.count(query.qname, kind, 'refused');
        await send(bareResponse(query, RCODE.REFUSED));
        return;
      }
      const store = ZoneStore.open(this.dataPath, { readonly: true });
      try {
        const soa = store.soa(query.qname);
        if (!soa) {
          this.counters.count(query.qname, kind, 'notauth');
          await send(bareResponse(query, RCODE.NOTAUTH));
          return;
        }
        let since: number | undefined;
        if (query.qtype === IXFR) {
          since = ixfrClientSerial(packet, query.qname);
          if (since === undefined) {
            this.log.info({ client, zone: query.qname }, 'IXFR refused: no SOA of the zone in its authority section');
            this.counters.count(query.qname, kind, 'refused');
            await send(bareResponse(query, RCODE.FORMERR));
            return;
          }
          if (await this.incremental(store, soa, query, since, client, send, room)) return;
        }
        const zone = store.readZone(query.qname);
        if (!zone) {
          this.counters.count(query.qname, kind, 'notauth');
          await send(bareResponse(query, RCODE.NOTAUTH));
          return;
        }
        const version = { id: zone.id, serial: serialOf(zone.soa), room };
        const kept = this.prepared.get(query.qname, version);
        this.log.info({ client, zone: query.qname, serial: version.serial, transfer: 'AXFR', asked: since === undefined ? 'AXFR' : 'IXFR', key: signer?.key.name, prepared: kept !== undefined }, 'transfer started');
        const messages = kept ? restamped(kept, query) : this.prepared.keep(query.qname, version, axfrMessages(query, zone.soa, zone.records, room));
        const sent = await this.stream(query.qname, 'AXFR', messages, send);
        this.log.info({ client, zone: query.qname, transfer: 'AXFR', ...sent }, 'transfer done');
      } finally {
        store.close();
      }
    } finally {
      this.active--;
    }
  }

  /**
   * Answers an IXFR from the journal when it can: true when answered (the
   * SOA alone, or the differences), false when the whole zone is to go.
   * `soa`: the zone's as just read; `room`: bytes each message leaves free (for a TSIG).
   */
  private async incremental(store: ZoneStore, soa: ZoneRecord, query: Query, since: number, client: string, send: (m: Buffer) => Promise<void>, room: number): Promise<boolean> {
    if (!serialNewer(serialOf(soa), since)) {
      this.log.info({ client, zone: query.qname, serial: serialOf(soa), since }, 'IXFR: the client is current, the SOA alone sent');
      await this.stream(query.qname, 'IXFR', transferMessages(query, [soa], room), send);
      return true;
    }
    const found = store.differences(query.qname, since);
    if (!found) {
      this.log.info({ client, zone: query.qname, since }, 'IXFR: the journal does not reach back to the client\'s serial: the whole zone sent');
      return false;
    }
    const records = differenceSize(found.chain);
    if (records > found.zoneRecords) {
      this.log.info({ client, zone: query.qname, since, records, zoneRecords: found.zoneRecords }, 'IXFR: the differences are larger than the zone: the whole zone sent');
      return false;
    }
    const serial = serialOf(found.soa);
    this.log.info({ client, zone: query.qname, serial, since, transfer: 'IXFR', changes: found.chain.length, records }, 'transfer started');
    const sent = await this.stream(query.qname, 'IXFR', transferMessages(query, ixfrSequence(found.soa, found.chain), room), send);
    this.log.info({ client, zone: query.qname, transfer: 'IXFR', messages: sent.messages, records }, 'transfer done');
    return true;
  }

  /** Sends a transfer's messages, counted as `kind` for the statistics: success once all went, failed when it was cut. */
  private async stream(zone: string, kind: string, messages: Iterable<Buffer>, send: (m: Buffer) => Promise<void>): Promise<{ messages: number; records: number }> {
    const sent = { messages: 0, records: 0, bytes: 0 };
    try {
      for (const message of messages) {
        await send(message);
        sent.messages++;
        sent.records += message.readUInt16BE(6);
        sent.bytes += message.length;
      }
    } catch (err) {
      this.counters.count(zone, kind, 'failed', sent.records, sent.bytes);
      throw err;
    }
    this.counters.count(zone, kind, 'success', sent.records, sent.bytes);
    return { messages: sent.messages, records: sent.records };
  }
}

/** Messages kept from an earlier transfer of the zone, one at a time, each made this query's answer. */
function* restamped(messages: readonly Buffer[], query: Query): Generator<Buffer> {
  const flags = transferFlags(query);
  const qtype = transferType(query);
  for (const message of messages) yield restamp(message, query.id, flags, qtype);
}
