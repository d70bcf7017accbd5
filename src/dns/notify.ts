import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { encodeQuery } from './message.js';

/**
 * NOTIFY (RFC 1996) to one secondary: sent over UDP, again after 1 s, 2 s,
 * 4 s ... until the secondary acknowledges it or the tries run out.
 */

export interface Target {
  address: string;
  port: number;
}

const OPCODE_NOTIFY = 4;
const AA = 0x0400;
const SOA = 6;

/** Resolves with the number of tries it took; rejects when no acknowledgement came. */
export async function sendNotify(target: Target, zone: string, tries = 5, firstWaitMs = 1000): Promise<number> {
  const id = randomInt(65536);
  const message = encodeQuery(id, (OPCODE_NOTIFY << 11) | AA, zone, SOA);
  const socket = dgram.createSocket(net.isIPv6(target.address) ? 'udp6' : 'udp4');
  try {
    const acknowledged = new Promise<void>((resolve) => {
      socket.on('message', (msg) => {
        if (msg.length >= 4 && msg.readUInt16BE(0) === id && (msg[2]! & 0x80) !== 0 && ((msg[2]! >> 3) & 0xf) === OPCODE_NOTIFY) resolve();
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
    throw new Error(`NOTIFY for ${zone} to ${target.address}#${target.port}: no acknowledgement after ${tries} tries`);
  } finally {
    socket.close();
  }
}
