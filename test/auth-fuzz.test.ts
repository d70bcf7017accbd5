import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMasterFile } from '../src/dns/master-file.js';
import { RR_TYPES } from '../src/dns/types.js';
import { query, rcodeOf, startAuth, udpExchange, type AuthHandle } from './helpers/dns.js';
import { ROOT, type Proc } from './helpers/processes.js';
import { pick, seeded } from './helpers/random.js';
import { signZone } from './helpers/sign.js';

const PACKETS = 100_000;
/** Packets sent before waiting for a good query's answer: keeps the socket buffers from overflowing. */
const BURST = 200;

let handle: AuthHandle;
let auth: Proc;
let port: number;

const ZONES = path.join(ROOT, 'test/fixtures/zones');
/** Every type b10 knows, and a few it does not. */
const TYPES = [...RR_TYPES.map((t) => t.code), 0, 254, 255, 1000, 65000];
/** Every owner name of the zones served (a signed one among them), names below them and names outside. */
let names: string[] = [];

function zoneNames(file: string, origin: string): string[] {
  return parseMasterFile(path.isAbsolute(file) ? file : path.join(ZONES, file), origin).map((r) => r.name.slice(0, -1));
}

/**
 * Random bytes, a good query with bytes flipped, cut or grown, or a good
 * query of any name served and any type, DO set on half of those with EDNS.
 */
function packet(rand: () => number): Buffer {
  const kind = rand();
  if (kind < 0.2) return Buffer.from(Array.from({ length: Math.floor(rand() * 600) }, () => Math.floor(rand() * 256)));
  const edns = rand() < 0.8 ? { dnssecOk: rand() < 0.5 } : undefined;
  const good = query({ id: Math.floor(rand() * 65536), name: pick(rand, names), type: pick(rand, TYPES), flags: rand() < 0.5 ? 0x0100 : 0, edns });
  if (kind < 0.45) return Buffer.from(good);
  const bytes = Buffer.from(good);
  if (kind < 0.75) {
    for (let n = 1 + Math.floor(rand() * 4); n > 0; n--) bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
    return bytes;
  }
  if (kind < 0.9) return bytes.subarray(0, Math.floor(rand() * bytes.length));
  return Buffer.concat([bytes, Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 40) }, () => Math.floor(rand() * 256)))]);
}

function rssMb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
}

async function stillAnswers(): Promise<void> {
  const msg = await udpExchange(port, query({ id: 4242, name: 'www.auth.test' }), 2000);
  expect(msg && rcodeOf(msg)).toBe(0);
  expect([...msg!.subarray(-4)].join('.')).toBe('192.0.2.10');
}

beforeAll(async () => {
  handle = await startAuth();
  auth = handle.auth;
  port = handle.port;
}, 30_000);

afterAll(() => handle?.stop());

describe('b10-auth under random and mutated packets', () => {
  it('fuzz_udp_and_tcp: 100,000 packets of every type, DO on half, at a signed zone too: no crash, good queries still answered, memory bounded', { timeout: 120_000 }, async () => {
    await stillAnswers();
    const before = rssMb(auth.pid);
    const rand = seeded(20261125);
    const udp = dgram.createSocket('udp4');
    try {
      // Three quarters over UDP, in bursts, each burst followed by a good query that must be answered.
      const udpPackets = (PACKETS * 3) / 4;
      for (let sent = 0; sent < udpPackets; sent += BURST) {
        for (let i = 0; i < BURST; i++) udp.send(packet(rand), port, '127.0.0.1');
        await stillAnswers();
      }
    } finally {
      udp.close();
    }
    // A quarter over TCP: length-prefixed mutated messages on many connections, some with lying prefixes.
    const tcpPackets = PACKETS / 4;
    const perConnection = 250;
    for (let done = 0; done < tcpPackets; done += perConnection) {
      const socket = net.connect({ port, host: '127.0.0.1' });
      socket.on('error', () => {});
      socket.on('data', () => {});
      const frames: Buffer[] = [];
      for (let i = 0; i < perConnection; i++) {
        const body = packet(rand);
        const prefix = Buffer.alloc(2);
        prefix.writeUInt16BE(rand() < 0.02 ? Math.floor(rand() * 65536) : body.length);
        frames.push(prefix, body);
      }
      await new Promise<void>((resolve) => socket.write(Buffer.concat(frames), () => resolve()));
      socket.destroy();
    }
    await stillAnswers();
    expect(auth.child.exitCode).toBeNull();
    expect(auth.logs.filter((l) => (l.level as number) >= 50)).toEqual([]);
    // Prepared answers and buffers are bounded: growth stays far below what 100,000 packets could pile up.
    const after = rssMb(auth.pid);
    expect(after - before).toBeLessThan(100);
  });
});
