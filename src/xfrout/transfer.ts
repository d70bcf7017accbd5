import type { Socket } from 'node:net';
import { decide, DEFAULT_TRANSFER_ACL, type AclEntry } from '../dns/acl.js';
import { axfrMessages } from '../dns/axfr.js';
import { bareResponse, lengthPrefixed, parseQuery, RCODE } from '../dns/message.js';
import { soaTimers } from '../dns/rdata.js';
import { checkRequest, Keyring, tsigErrorName, tsigSize, type ResponseSigner } from '../dns/tsig.js';
import { ZoneStore } from '../dns/zone-store.js';
import type { Logger } from '../log.js';

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
  /** The keys a signed request is checked with; its every answer message is then signed (RFC 8945 5.3.1). */
  keyring = new Keyring();
  limits: TransferLimits = DEFAULT_TRANSFER_LIMITS;
  private active = 0;

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
    if (this.active >= this.limits.maxTransfers) {
      this.log.warn({ client, zone: query.qname, running: this.active }, 'transfer denied: max_transfers_out reached');
      await send(bareResponse(query, RCODE.SERVFAIL));
      return;
    }
    this.active++;
    try {
      if (decide(this.acl, client, signer?.key.name) !== 'ACCEPT') {
        this.log.info({ client, zone: query.qname, key: signer?.key.name }, 'transfer refused by the ACL');
        await send(bareResponse(query, RCODE.REFUSED));
        return;
      }
      const store = ZoneStore.open(this.dataPath, { readonly: true });
      try {
        const zone = store.readZone(query.qname);
        if (!zone) {
          await send(bareResponse(query, RCODE.NOTAUTH));
          return;
        }
        this.log.info({ client, zone: query.qname, serial: soaTimers(zone.soa.rdata).serial, key: signer?.key.name }, 'transfer started');
        let messages = 0;
        for (const message of axfrMessages(query, zone.soa, zone.records, signer ? tsigSize(signer.key) : 0)) {
          await send(message);
          messages++;
        }
        this.log.info({ client, zone: query.qname, messages }, 'transfer done');
      } finally {
        store.close();
      }
    } finally {
      this.active--;
    }
  }
}
