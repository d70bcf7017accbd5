import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nameToWire } from '../src/dns/name.js';
import { typeCode } from '../src/dns/types.js';
import { ORIGIN, ZONE } from './fixtures/zones/b10-types.questions.js';
import { query, rcodeOf, startAuth, udpExchange, type AuthHandle } from './helpers/dns.js';
import { ROOT } from './helpers/processes.js';
import { queriesForZone } from './helpers/zone-queries.js';

/**
 * auth answers a question it has answered before from the response it
 * prepared then, patched with the new query's id, flags and question
 * (server.ts sendPrepared). Whatever the path, the answer must be the one
 * the first query got, and a message that only looks like it must not be
 * taken for it.
 */

const SIGNED_ORIGIN = 'example';
const SIGNED_ZONE = path.join(ROOT, 'test/fixtures/zones/rfc5155-example.zone');
const RD = 0x0100;
const CD = 0x0010;

let handle: AuthHandle;

beforeAll(async () => {
  handle = await startAuth({ zones: [{ origin: ORIGIN, file: ZONE }, { origin: SIGNED_ORIGIN, file: SIGNED_ZONE }] });
}, 30_000);

afterAll(() => handle?.stop());

/** The name's ASCII letters in upper case, in wire form (length bytes untouched). */
function upperWire(name: Buffer): Buffer {
  const out = Buffer.from(name);
  for (let i = 0; out[i] !== 0; i += out[i]! + 1) {
    for (let j = i + 1; j <= i + out[i]!; j++) if (out[j]! >= 0x61 && out[j]! <= 0x7a) out[j]! -= 32;
  }
  return out;
}

interface Shape {
  edns?: { payload: number; dnssecOk: boolean };
  rd: boolean;
}

function packet(id: number, flags: number, name: Buffer, type: number, edns: Shape['edns']): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(edns ? 1 : 0, 10);
  const tail = Buffer.from([type >> 8, type & 0xff, 0, 1]);
  const opt = edns ? Buffer.from([0, 0, 41, edns.payload >> 8, edns.payload & 0xff, 0, 0, edns.dnssecOk ? 0x80 : 0, 0, 0, 0]) : Buffer.alloc(0);
  return Buffer.concat([header, name, tail, opt]);
}

const SHAPES: Shape[] = [
  { rd: false },
  { rd: true },
  { edns: { payload: 1232, dnssecOk: false }, rd: false },
  { edns: { payload: 1232, dnssecOk: true }, rd: true },
  { edns: { payload: 512, dnssecOk: true }, rd: false },
  { edns: { payload: 4096, dnssecOk: true }, rd: false },
];

describe('prepared responses', () => {
  it('asked_again_same_bytes: every generated question of two zones (one NSEC3-signed), in six shapes, asked again in other case with another id and CD set, gets the first answer with its own id, case and CD', { timeout: 120_000 }, async () => {
    const mismatches: string[] = [];
    let asked = 0;
    for (const [origin, file] of [[ORIGIN, ZONE], [SIGNED_ORIGIN, SIGNED_ZONE]] as const) {
      for (const q of await queriesForZone(file, origin)) {
        const type = typeCode(q.type);
        if (type === undefined) continue;
        const name = nameToWire(q.name.endsWith('.') ? q.name : `${q.name}.`);
        for (const shape of SHAPES) {
          const flags = shape.rd ? RD : 0;
          const first = await udpExchange(handle.port, packet(0x0101, flags, name, type, shape.edns), 2000);
          const again = packet(0x0202, flags | CD, upperWire(name), type, shape.edns);
          const second = await udpExchange(handle.port, again, 2000);
          asked++;
          if (!first || !second) {
            mismatches.push(`${q.name} ${q.type} ${JSON.stringify(shape)}: no answer`);
            continue;
          }
          const expected = Buffer.from(first);
          expected.writeUInt16BE(0x0202, 0);
          expected[3]! |= CD;
          again.copy(expected, 12, 12, 12 + name.length + 4);
          if (!second.equals(expected)) mismatches.push(`${q.name} ${q.type} ${JSON.stringify(shape)}:\n  first  ${first.toString('hex')}\n  second ${second.toString('hex')}`);
        }
      }
    }
    expect(asked).toBeGreaterThan(500);
    expect(mismatches).toEqual([]);
  });

  it('prepared_then_malformed: once a question\'s answer is prepared, the same question with a byte after it is FORMERR, with two OPTs FORMERR, with EDNS version 1 BADVERS', async () => {
    const plain = query({ name: 'www.auth.test', type: 1, edns: { dnssecOk: false } });
    expect(rcodeOf((await udpExchange(handle.port, plain))!)).toBe(5);
    const good = query({ name: `ns1.${ORIGIN}`, type: 1, edns: { dnssecOk: false } });
    const answered = (await udpExchange(handle.port, good))!;
    expect(rcodeOf(answered)).toBe(0);
    expect((await udpExchange(handle.port, good))!.equals(answered)).toBe(true);

    const trailing = Buffer.concat([good, Buffer.from([0])]);
    expect(rcodeOf((await udpExchange(handle.port, trailing))!)).toBe(1);
    const twoOpts = Buffer.concat([good, good.subarray(good.length - 11)]);
    twoOpts.writeUInt16BE(2, 10);
    expect(rcodeOf((await udpExchange(handle.port, twoOpts))!)).toBe(1);
    const version1 = Buffer.from(good);
    version1[good.length - 5] = 1;
    const badvers = (await udpExchange(handle.port, version1))!;
    // BADVERS: 16, its upper bits in the OPT's extended rcode, 0 in the header.
    expect(rcodeOf(badvers)).toBe(0);
    expect(badvers[badvers.length - 6]).toBe(1);
  });

  it('counted_when_prepared: getstats counts every query answered from a prepared response, by qtype, rcode and zone', async () => {
    const session = await handle.bus.connect();
    const before = (await session.command('Auth', 'getstats')) as Stats;
    const hit = query({ name: `ns1.${ORIGIN}`, type: 28, flags: 0 });
    const miss = query({ name: `nowhere.${ORIGIN}`, type: 28, edns: { dnssecOk: true } });
    for (let i = 0; i < 5; i++) {
      await udpExchange(handle.port, hit);
      await udpExchange(handle.port, miss);
    }
    const after = (await session.command('Auth', 'getstats')) as Stats;
    const zone = `${ORIGIN}.`;
    expect((after.queries.udp.AAAA ?? 0) - (before.queries.udp.AAAA ?? 0)).toBe(10);
    expect((after.responses.NXDOMAIN ?? 0) - (before.responses.NXDOMAIN ?? 0)).toBe(5);
    expect(after.dnssec_ok - before.dnssec_ok).toBe(5);
    expect(after.zones[zone]!.queries - (before.zones[zone]?.queries ?? 0)).toBe(10);
    expect(after.zones[zone]!.nxdomain - (before.zones[zone]?.nxdomain ?? 0)).toBe(5);
  });
});

interface Stats {
  queries: { udp: Record<string, number> };
  responses: Record<string, number>;
  dnssec_ok: number;
  zones: Record<string, { queries: number; nxdomain: number }>;
}
