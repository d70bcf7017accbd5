import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { encodeQuery } from './message.js';
import { TsigClient, type TsigKey } from './tsig.js';

/**
 * NOTIFY (RFC 1996) to one secondary: sent over UDP, again after 1 s, 2 s,
 * 4 s ... until the secondary acknowledges it or the tries run out. With a
 * key it is signed, and only an acknowledgement signed with it counts.
 */

export interface Target {
  address: string;
  port: number;
}

const OPCODE_NOTIFY = 4;
const AA = 0x0400;
const SOA = 6;

export interface NotifyOptions {
  tries?: number;
  firstWaitMs?: number;
  key?: TsigKey;
}

/** Resolves with the number of tries it took; rejects when no acknowledgement came. */
export async function sendNotify(target: Target, zone: string, options: NotifyOptions = {}): Promise<number> {
  const { tries = 5, firstWaitMs = 1000, key } = options;
  const id = randomInt(65536);
  const tsig = key && new TsigClient(key);
  const unsigned = encodeQuery(id, (OPCODE_NOTIFY << 11) | AA, zone, SOA);
  const message = tsig ? tsig.sign(unsigned) : unsigned;
  const socket = dgram.createSocket(net.isIPv6(target.address) ? 'udp6' : 'udp4');
  let refusal = '';
  try {
    const acknowledged = new Promise<void>((resolve) => {
      socket.on('message', (msg) => {
        if (msg.length < 4 || msg.readUInt16BE(0) !== id || (msg[2]! & 0x80) === 0 || ((msg[2]! >> 3) & 0xf) !== OPCODE_NOTIFY) return;
        try {
          tsig?.verify(msg);
          resolve();
        } catch (err) {
          refusal = ` (an answer was refused: ${(err as Error).message})`;
        }
      });
    });
    let wait = firstWaitMs;
    for (let attempt = 1; attempt <= tries; attempt++) {
      socket.send(message, target.port, target.address);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), wait)));
      const ok = await Promise.race([acknowledged.then(() => true), timedOut]);
      clearTimeout(timer);
      if (ok) return attempt;
      wait *= 2;
    }
    throw new Error(`NOTIFY for ${zone} to ${target.address}#${target.port}: no acknowledgement after ${tries} tries${refusal}`);
  } finally {
    socket.close();
  }
}
