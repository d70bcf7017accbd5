import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import type { ZoneRecord } from './master-file.js';
import { encodeQuery, lengthPrefixed } from './message.js';
import { soaTimers } from './rdata.js';
import { readResponse, type Response } from './response.js';

/**
 * The client side of zone transfers, as xfrin uses it: an AXFR (RFC 5936)
 * over TCP, and the SOA serial a primary has now (RFC 1996's check before a
 * transfer). Each fails with TransferError saying why; nothing half-received
 * is ever returned.
 */

export class TransferError extends Error {
  readonly code = 'ERR_TRANSFER';
}

export interface Primary {
  address: string;
  port: number;
}

const AXFR = 252;
const SOA = 6;
const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];

/**
 * The whole zone from `primary` by AXFR; TransferError when refused, cut, malformed or silent for `idleMs`.
 * `received.bytes` grows by every byte read, for the statistics.
 */
export function axfrFrom(primary: Primary, zone: string, idleMs = 10_000, received = { bytes: 0 }): Promise<ZoneRecord[]> {
  return new Promise((resolve, reject) => {
    const id = randomInt(65536);
    const records: ZoneRecord[] = [];
    let soaSeen = 0;
    let pending = Buffer.alloc(0);
    let settled = false;
    const socket = net.connect({ host: primary.address, port: primary.port });
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(new TransferError(`AXFR of ${zone} from ${primary.address}#${primary.port}: ${why}`));
    };
    socket.setTimeout(idleMs, () => fail(`nothing received for ${idleMs} ms`));
    socket.on('error', (err) => fail(err.message));
    socket.on('close', () => fail(`connection closed before the transfer ended (${records.length} records so far)`));
    socket.on('connect', () => {
      socket.write(lengthPrefixed(encodeQuery(id, 0, zone, AXFR)));
    });
    socket.on('data', (chunk: Buffer) => {
      received.bytes += chunk.length;
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const message = pending.subarray(2, 2 + pending.readUInt16BE(0));
        pending = pending.subarray(2 + message.length);
        let decoded: Response;
        try {
          decoded = readResponse(message);
        } catch (err) {
          fail(`malformed message: ${(err as Error).message}`);
          return;
        }
        if (decoded.id !== id) return fail(`a message with id ${decoded.id}, not ${id}`);
        if (decoded.rcode !== 0) return fail(`the primary answered ${RCODES[decoded.rcode] ?? `rcode ${decoded.rcode}`}`);
        for (const record of decoded.answers) {
          const isSoa = record.type === SOA && record.name === zone;
          if (records.length === 0 && !isSoa) return fail('the transfer does not begin with the zone\'s SOA');
          if (isSoa && ++soaSeen === 2) {
            settled = true;
            socket.destroy();
            resolve(records);
            return;
          }
          records.push(record);
        }
      }
    });
  });
}

/** The serial of the zone's SOA at `primary` now, over UDP; TransferError when it does not say. */
export function soaSerial(primary: Primary, zone: string, timeoutMs = 3000): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(primary.address) ? 'udp6' : 'udp4');
    const id = randomInt(65536);
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
        const soa = decoded.answers.find((r) => r.type === SOA && r.name === zone);
        if (!soa) return done(new TransferError(`SOA of ${zone} from ${primary.address}#${primary.port}: not in the answer`));
        done(soaTimers(soa.rdata).serial);
      } catch (err) {
        done(new TransferError(`SOA of ${zone}: malformed answer: ${(err as Error).message}`));
      }
    });
    socket.send(encodeQuery(id, 0, zone, SOA), primary.port, primary.address);
  });
}

/** RFC 1982 serial arithmetic: whether serial `a` is newer than `b`. */
export function serialNewer(a: number, b: number): boolean {
  const diff = (a - b) >>> 0;
  return diff !== 0 && diff < 0x80000000;
}
