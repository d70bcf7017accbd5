import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { IxfrFormatError, IxfrReader, serialOf, type IxfrResult } from './ixfr.js';
import type { ZoneRecord } from './master-file.js';
import { encodeQuery, lengthPrefixed } from './message.js';
import { MessageWriter } from './message-writer.js';
import { nameToWire } from './name.js';
import { soaTimers } from './rdata.js';
import { TcpFrames } from './tcp-frames.js';
import { readResponse } from './response.js';
import { TsigClient, TsigVerifyError, type TsigKey } from './tsig.js';

/**
 * The client side of zone transfers, as xfrin uses it: an AXFR (RFC 5936)
 * or an IXFR (RFC 1995) over TCP, and the SOA serial a primary has now (RFC 1996's check before a
 * transfer). Each fails with TransferError saying why; nothing half-received
 * is ever returned. With a TSIG key the request is signed and every
 * message of the answer must verify, the last one signed.
 */

export class TransferError extends Error {
  readonly code = 'ERR_TRANSFER';
}

export interface Primary {
  address: string;
  port: number;
}

const AXFR = 252;
const IXFR = 251;
const SOA = 6;
const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];

/**
 * One transfer over TCP: `query` sent, then each message's answer records
 * handed to `take` in order, and `messageEnd` after each message, until
 * `done` says the transfer is complete. With `tsig` the query is signed
 * and every message must verify, the last one signed. TransferError (named
 * `what`) when refused, cut, malformed, badly signed, silent for `idleMs`
 * or not done after `maxMs`.
 * `counted.bytes` grows by every byte read, for the statistics.
 */
function receive(
  primary: Primary,
  what: string,
  query: Buffer,
  id: number,
  idleMs: number,
  handler: { take(record: ZoneRecord): void; messageEnd(): void; done(): boolean; received(): number },
  tsig?: TsigClient,
  counted = { bytes: 0 },
  maxMs = Infinity,
): Promise<void> {
  return new Promise((resolveAll, rejectAll) => {
    const frames = new TcpFrames();
    let settled = false;
    const socket = net.connect({ host: primary.address, port: primary.port });
    // A primary that keeps sending (the same records over and over, say) is never idle: this ends it.
    const deadline = Number.isFinite(maxMs) ? setTimeout(() => fail(`not done after ${maxMs / 1000} s (max_transfer_time_in)`), maxMs) : undefined;
    const resolve = (): void => {
      clearTimeout(deadline);
      resolveAll();
    };
    const reject = (err: unknown): void => {
      clearTimeout(deadline);
      rejectAll(err);
    };
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(new TransferError(`${what} from ${primary.address}#${primary.port}: ${why}`));
    };
    socket.setTimeout(idleMs, () => fail(`nothing received for ${idleMs} ms`));
    socket.on('error', (err) => fail(err.message));
    socket.on('close', () => fail(`connection closed before the transfer ended (${handler.received()} records so far)`));
    socket.on('connect', () => {
      socket.write(lengthPrefixed(tsig ? tsig.sign(query) : query));
    });
    socket.on('data', (chunk: Buffer) => {
      counted.bytes += chunk.length;
      frames.push(chunk);
      for (let message = frames.next(); !settled && message !== undefined; message = frames.next()) {
        let decoded: ReturnType<typeof readResponse>;
        try {
          decoded = readResponse(message);
          if (decoded.id !== id) return fail(`a message with id ${decoded.id}, not ${id}`);
          tsig?.verify(message);
        } catch (err) {
          if (err instanceof TsigVerifyError) return fail(`TSIG: ${err.message}`);
          return fail(`malformed message: ${(err as Error).message}`);
        }
        if (decoded.rcode !== 0) return fail(`the primary answered ${RCODES[decoded.rcode] ?? `rcode ${decoded.rcode}`}`);
        try {
          for (const record of decoded.answers) {
            handler.take(record);
            if (handler.done()) break;
          }
          handler.messageEnd();
        } catch (err) {
          if (err instanceof IxfrFormatError || err instanceof TransferError) return fail(err.message);
          // The handler's own refusal (a record the zone's rules refuse, the store failing): as it is.
          settled = true;
          socket.destroy();
          reject(err);
          return;
        }
        if (handler.done()) {
          if (tsig && !tsig.complete) return fail('TSIG: the last message is not signed');
          settled = true;
          socket.destroy();
          resolve();
          return;
        }
      }
    });
  });
}

/** The whole zone from `primary` by AXFR, signed with `key` if given; TransferError and `counted` as receive() says. */
export async function axfrFrom(primary: Primary, zone: string, idleMs = 10_000, key?: TsigKey, counted = { bytes: 0 }): Promise<ZoneRecord[]> {
  const records: ZoneRecord[] = [];
  await axfrStream(primary, zone, (batch) => {
    for (const r of batch) records.push(r);
  }, { idleMs, key, counted });
  return records;
}

/**
 * The same, each message's records handed to `each` as it arrives (the
 * closing SOA not among them), so that they are checked and stored while
 * the rest is on its way; an error `each` throws ends the transfer and is
 * thrown as it is. The number of records.
 */
export async function axfrStream(
  primary: Primary,
  zone: string,
  each: (records: ZoneRecord[]) => void,
  { idleMs = 10_000, maxMs, key, counted = { bytes: 0 } }: { idleMs?: number; maxMs?: number; key?: TsigKey; counted?: { bytes: number } } = {},
): Promise<number> {
  const id = randomInt(65536);
  let batch: ZoneRecord[] = [];
  let received = 0;
  let soaSeen = 0;
  await receive(primary, `AXFR of ${zone}`, encodeQuery(id, 0, zone, AXFR), id, idleMs, {
    take(record) {
      const isSoa = record.type === SOA && record.name === zone;
      if (received === 0 && !isSoa) throw new TransferError('the transfer does not begin with the zone\'s SOA');
      if (isSoa && ++soaSeen === 2) return;
      batch.push(record);
      received++;
    },
    messageEnd() {
      if (batch.length === 0) return;
      const full = batch;
      batch = [];
      each(full);
    },
    done: () => soaSeen === 2,
    received: () => received,
  }, key && new TsigClient(key), counted, maxMs);
  return received;
}

/**
 * An IXFR (RFC 1995) of `zone` from `primary`, telling it our SOA `ours`:
 * the differences since, the whole zone when the primary answers so, or
 * that we are current. TransferError as for AXFR, and when the answer is
 * neither form. Signed with `key` if given; `counted` as receive() says.
 */
export async function ixfrFrom(primary: Primary, zone: string, ours: ZoneRecord, idleMs = 10_000, key?: TsigKey, counted = { bytes: 0 }, maxMs?: number): Promise<IxfrResult> {
  const id = randomInt(65536);
  const w = new MessageWriter(id, 0);
  w.questionOf(nameToWire(zone), IXFR);
  w.record('authority', nameToWire(zone), SOA, ours.ttl, ours.rdata);
  const reader = new IxfrReader(zone, serialOf(ours));
  let received = 0;
  await receive(primary, `IXFR of ${zone}`, w.finish(), id, idleMs, {
    take(record) {
      received++;
      reader.push(record);
    },
    messageEnd: () => reader.messageEnd(),
    done: () => reader.result !== undefined,
    received: () => received,
  }, key && new TsigClient(key), counted, maxMs);
  return reader.result!;
}

/** The serial of the zone's SOA at `primary` now, over UDP; TransferError when it does not say, or its answer is badly signed. */
export function soaSerial(primary: Primary, zone: string, timeoutMs = 3000, key?: TsigKey): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(primary.address) ? 'udp6' : 'udp4');
    const id = randomInt(65536);
    const tsig = key && new TsigClient(key);
    const timer = setTimeout(() => done(new TransferError(`SOA of ${zone} from ${primary.address}#${primary.port}: no answer in ${timeoutMs} ms`)), timeoutMs);
    const done = (result: number | Error): void => {
      clearTimeout(timer);
      socket.close();
      if (typeof result === 'number') resolve(result);
      else reject(result);
    };
    socket.on('message', (msg) => {
      try {
        const decoded = readResponse(msg);
        if (decoded.id !== id) return;
        tsig?.verify(msg);
        const soa = decoded.answers.find((r) => r.type === SOA && r.name === zone);
        if (!soa) return done(new TransferError(`SOA of ${zone} from ${primary.address}#${primary.port}: not in the answer`));
        done(soaTimers(soa.rdata).serial);
      } catch (err) {
        done(new TransferError(`SOA of ${zone}: ${err instanceof TsigVerifyError ? 'TSIG' : 'malformed answer'}: ${(err as Error).message}`));
      }
    });
    const request = encodeQuery(id, 0, zone, SOA);
    socket.send(tsig ? tsig.sign(request) : request, primary.port, primary.address);
  });
}

