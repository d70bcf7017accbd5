import dgram from 'node:dgram';
import net from 'node:net';
import { lengthPrefixed } from '../../src/dns/message.js';
import { nameToWire } from '../../src/dns/name.js';

/**
 * A dynamic update client of our own (nsupdate costs a process per
 * update): UPDATE messages built by hand, sent one at a time over UDP or
 * one TCP connection, each waiting for its answer.
 */

export const IN = 1;
export const NONE = 254;
export const ANY = 255;

/** A record of the prerequisite or update section; class IN, TTL 0 and no data unless given. */
export interface UpdateRecord {
  name: string;
  type: number;
  klass?: number;
  ttl?: number;
  rdata?: Buffer;
}

function record(r: UpdateRecord): Buffer {
  const fixed = Buffer.alloc(10);
  const rdata = r.rdata ?? Buffer.alloc(0);
  fixed.writeUInt16BE(r.type, 0);
  fixed.writeUInt16BE(r.klass ?? IN, 2);
  fixed.writeUInt32BE(r.ttl ?? 0, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([nameToWire(r.name), fixed, rdata]);
}

/** An UPDATE for `zone` (its zone section: SOA, class `zoneClass`), names uncompressed. */
export function encodeUpdate(id: number, zone: string, prerequisites: UpdateRecord[], updates: UpdateRecord[], zoneClass = IN, zoneType = 6): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(5 << 11, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(prerequisites.length, 6);
  header.writeUInt16BE(updates.length, 8);
  const zoneSection = Buffer.alloc(4);
  zoneSection.writeUInt16BE(zoneType, 0);
  zoneSection.writeUInt16BE(zoneClass, 2);
  return Buffer.concat([header, nameToWire(zone), zoneSection, ...prerequisites.map(record), ...updates.map(record)]);
}

export interface UpdateSender {
  /**
   * The rcode of the answer to `packet`, or undefined when none came within
   * the timeout; `check` is given the answer first (a TSIG verified), and
   * what it throws rejects.
   */
  send(packet: Buffer, check?: (answer: Buffer) => void): Promise<number | undefined>;
  close(): void;
}

/** One update at a time: `write` sends it, `answer` takes every message received (matched by id). */
function oneAtATime(write: (packet: Buffer) => void, timeoutMs: number): { send: UpdateSender['send']; answer: (msg: Buffer | undefined) => void } {
  let waiting: { id: number; done: (answer: Buffer | undefined) => void } | undefined;
  return {
    send: (packet, check) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => finish(undefined), timeoutMs);
        const finish = (answer: Buffer | undefined): void => {
          clearTimeout(timer);
          waiting = undefined;
          try {
            if (answer) check?.(answer);
            resolve(answer && answer.readUInt16BE(2) & 0xf);
          } catch (err) {
            reject(err as Error);
          }
        };
        waiting = { id: packet.readUInt16BE(0), done: finish };
        write(packet);
      }),
    answer: (msg) => {
      if (msg === undefined) waiting?.done(undefined);
      else if (msg.length >= 12 && waiting && msg.readUInt16BE(0) === waiting.id) waiting.done(msg);
    },
  };
}

/** Sends over UDP from one socket, waiting `timeoutMs` at most for each answer. */
export async function udpSender(port: number, timeoutMs = 5000, host = '127.0.0.1'): Promise<UpdateSender> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { send, answer } = oneAtATime((packet) => socket.send(packet, port, host), timeoutMs);
  socket.on('message', answer);
  return { send, close: () => socket.close() };
}

/** Sends over one TCP connection, waiting `timeoutMs` at most for each answer. */
export async function tcpSender(port: number, timeoutMs = 5000, host = '127.0.0.1'): Promise<UpdateSender> {
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ port, host }, () => resolve(s));
    s.once('error', reject);
  });
  socket.setNoDelay(true);
  socket.on('error', () => {});
  const { send, answer } = oneAtATime((packet) => socket.write(lengthPrefixed(packet)), timeoutMs);
  let input = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    input = Buffer.concat([input, chunk]);
    while (input.length >= 2 && input.length >= 2 + input.readUInt16BE(0)) {
      const msg = input.subarray(2, 2 + input.readUInt16BE(0));
      input = input.subarray(2 + msg.length);
      answer(msg);
    }
  });
  socket.on('close', () => answer(undefined));
  return { send, close: () => socket.destroy() };
}
