import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { rdataOfText } from '../src/dns/master-file.js';
import { answerResponse, encodeQuery, lengthPrefixed, parseQuery, type Query } from '../src/dns/message.js';
import { decompressName, nameToWire, wireToName } from '../src/dns/name.js';
import { rdataFromMessage } from '../src/dns/rdata.js';
import { makeRRset, type RRset } from '../src/dns/zone.js';
import { requireTool } from './helpers/debian.js';
import { startAuth, udpExchange } from './helpers/dns.js';
import { freePort, Proc } from './helpers/processes.js';
import { tempDir } from './helpers/tmp.js';

const TC = 0x0200;
const count = (msg: Buffer, section: 'an' | 'ns' | 'ar'): number => msg.readUInt16BE({ an: 6, ns: 8, ar: 10 }[section]);

function queryOf(name: string, type: number, options: { dnssecOk?: boolean } = {}): Query {
  let bytes = encodeQuery(0x4242, 0, name, type);
  if (options.dnssecOk !== undefined) {
    const opt = Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, options.dnssecOk ? 0x80 : 0, 0, 0, 0]);
    bytes = Buffer.concat([bytes, opt]);
    bytes.writeUInt16BE(1, 10);
  }
  const parsed = parseQuery(bytes);
  if (parsed.kind !== 'query') throw new Error(`not a query: ${JSON.stringify(parsed)}`);
  return parsed.query;
}

const rrset = (name: string, type: number, ...texts: string[]): RRset => makeRRset(name, type, 300, texts.map((t) => rdataOfText(type, t)));

/** Every section of a response as RRsets (consecutive records of one name and type), RDATA decompressed. */
function sectionsOf(msg: Buffer): { answer: RRset[]; authority: RRset[]; additional: RRset[] } {
  let pos = 12;
  for (let i = 0; i < msg.readUInt16BE(4); i++) pos = decompressName(msg, pos, msg.length).end + 4;
  const read = (n: number): RRset[] => {
    const out: { name: string; type: number; ttl: number; rdatas: Buffer[] }[] = [];
    for (let i = 0; i < n; i++) {
      const owner = decompressName(msg, pos, msg.length);
      const name = wireToName(owner.wire, 0, true);
      const type = msg.readUInt16BE(owner.end);
      const ttl = msg.readUInt32BE(owner.end + 4);
      const length = msg.readUInt16BE(owner.end + 8);
      const rdata = rdataFromMessage(msg, owner.end + 10, length, type);
      pos = owner.end + 10 + length;
      if (type === 41) continue;
      const last = out.at(-1);
      if (last && last.name === name && last.type === type) last.rdatas.push(rdata);
      else out.push({ name, type, ttl, rdatas: [rdata] });
    }
    return out.map((r) => makeRRset(r.name, r.type, r.ttl, r.rdatas));
  };
  const answer = read(count(msg, 'an'));
  const authority = read(count(msg, 'ns'));
  const additional = read(count(msg, 'ar'));
  return { answer, authority, additional };
}

/** named -n 1 as primary for `zone` (text given), on a free port; stopped when the test ends. */
async function namedWith(zone: string, text: string): Promise<number> {
  const named = requireTool('named', 'bind9');
  const dir = await tempDir();
  const port = await freePort();
  await writeFile(path.join(dir, 'z.zone'), text);
  await writeFile(
    path.join(dir, 'named.conf'),
    `options { directory "${dir}"; listen-on port ${port} { 127.0.0.1; }; listen-on-v6 { none; }; recursion no; pid-file "${dir}/named.pid"; };
zone "${zone}" { type primary; file "z.zone"; };
`,
  );
  const proc = new Proc(spawn(named, ['-g', '-n', '1', '-c', path.join(dir, 'named.conf'), '-u', 'root'], { stdio: ['ignore', 'pipe', 'pipe'] }));
  onTestFinished(() => proc.stop());
  await proc.waitForLog((l) => String(l.msg).trimEnd().endsWith(' running'), 'named running');
  return port;
}

/** One query over TCP; the response. */
function tcpAsk(port: number, query: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' }, () => socket.write(lengthPrefixed(query)));
    let got = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) {
        socket.destroy();
        resolve(got.subarray(2, 2 + got.readUInt16BE(0)));
      }
    });
    socket.on('error', reject);
  });
}

const COMPRESS_ZONE = [
  '$TTL 300',
  '@ SOA ns0 hostmaster 1 3600 900 604800 300',
  ...Array.from({ length: 13 }, (_, i) => `@ NS ns${i}`),
  ...Array.from({ length: 13 }, (_, i) => `ns${i} A 192.0.2.${i + 1}\nns${i} AAAA 2001:db8::${i + 1}`),
  ...Array.from({ length: 13 }, (_, i) => `mx MX ${i} mail${i}.example.net.`),
  ...Array.from({ length: 13 }, (_, i) => `sub NS ns${i}.sub\nns${i}.sub A 198.51.100.${i + 1}`),
  ...Array.from({ length: 5 }, (_, i) => `_sip._tcp SRV 10 ${i} 5060 ns${i}`),
  'soa-heavy MINFO ns0 ns1',
].join('\n');

describe('name compression, against named', () => {
  it('the_same_records_as_named_in_as_many_bytes: NS, MX, referral, SRV and MINFO answers', { timeout: 30_000 }, async () => {
    const port = await namedWith('compress.test', `${COMPRESS_ZONE}\n`);
    for (const [name, type] of [
      ['compress.test.', 2],
      ['mx.compress.test.', 15],
      ['www.sub.compress.test.', 1],
      ['_sip._tcp.compress.test.', 33],
      ['soa-heavy.compress.test.', 14],
    ] as const) {
      const theirs = await tcpAsk(port, encodeQuery(7, 0, name, type));
      const sections = sectionsOf(theirs);
      expect(sections.answer.length + sections.authority.length, name).toBeGreaterThan(0);
      const ours = answerResponse(queryOf(name, type), { rcode: 'NOERROR', aa: (theirs[2]! & 0x04) !== 0, ...sections }, 65_535);
      expect(Math.abs(ours.length - theirs.length), `${name}: b10 ${ours.length} bytes, named ${theirs.length}`).toBeLessThanOrEqual(2);
    }
  });
});

describe('truncation (RFC 2181 9)', () => {
  const glue = Array.from({ length: 40 }, (_, i) => rrset(`host${i}.example.`, 28, `2001:db8::${i}`, `2001:db8::1:${i}`));

  it('additional_only_overflow: additional RRsets that do not fit are left out whole, without TC', () => {
    const msg = answerResponse(queryOf('example.', 15), { rcode: 'NOERROR', aa: true, answer: [rrset('example.', 15, '10 host0.example.')], authority: [], additional: glue }, 512);
    expect(msg.length).toBeLessThanOrEqual(512);
    expect(msg.readUInt16BE(2) & TC).toBe(0);
    expect(count(msg, 'an')).toBe(1);
    expect(count(msg, 'ar')).toBeGreaterThan(0);
    expect(count(msg, 'ar')).toBeLessThan(80);
    expect(count(msg, 'ar') % 2).toBe(0);
  });

  it('answer_overflow: TC, with the records that fit, as named sends them', () => {
    const big = rrset('example.', 16, ...Array.from({ length: 30 }, (_, i) => `"${'x'.repeat(40)} ${i}"`));
    const msg = answerResponse(queryOf('example.', 16), { rcode: 'NOERROR', aa: true, answer: [big], authority: [], additional: glue }, 512);
    expect(msg.length).toBeLessThanOrEqual(512);
    expect(msg.readUInt16BE(2) & TC).toBe(TC);
    expect(count(msg, 'an')).toBeGreaterThan(0);
    expect(count(msg, 'an')).toBeLessThan(30);
    expect(count(msg, 'ar')).toBe(0);
  });

  it('opt_kept: the OPT record has its room even when the answer fills the message', () => {
    const big = rrset('example.', 16, ...Array.from({ length: 30 }, (_, i) => `"${'x'.repeat(40)} ${i}"`));
    const msg = answerResponse(queryOf('example.', 16, { dnssecOk: false }), { rcode: 'NOERROR', aa: true, answer: [big], authority: [], additional: [] }, 512);
    expect(msg.length).toBeLessThanOrEqual(512);
    expect(count(msg, 'ar')).toBe(1);
    expect(msg.readUInt16BE(msg.length - 11 + 1)).toBe(41);
  });
});

describe('what a response echoes', () => {
  const a = { rcode: 'NOERROR' as const, aa: true, answer: [rrset('example.', 1, '192.0.2.1')], authority: [], additional: [] };

  it('do_bit: the OPT echoes the query\'s DO bit (RFC 3225), and only it', () => {
    const withDo = answerResponse(queryOf('example.', 1, { dnssecOk: true }), a, 1232);
    const without = answerResponse(queryOf('example.', 1, { dnssecOk: false }), a, 1232);
    expect(withDo.readUInt16BE(withDo.length - 11 + 5 + 2) & 0x8000).toBe(0x8000);
    expect(without.readUInt16BE(without.length - 11 + 5 + 2) & 0x8000).toBe(0);
  });

  it('question_byte_for_byte: a label with a space and mixed case comes back as sent', () => {
    const sent = Buffer.concat([nameToWire('Sp\\032Ace.EXAMPLE.'), Buffer.from([0, 1, 0, 1])]);
    const query = { ...queryOf('sp\\032ace.example.', 1), question: sent };
    const msg = answerResponse(query, a, 512);
    expect(msg.subarray(12, 12 + sent.length).equals(sent)).toBe(true);
  });

  it('question_echo_through_auth: b10-auth echoes an escaped label as the same bytes, cached or not', { timeout: 20_000 }, async () => {
    const auth = await startAuth();
    onTestFinished(() => auth.stop());
    for (const spelling of ['Sp\\032Ace\\.x.auth.test.', 'sP\\032aCE\\.X.AUTH.TEST.']) {
      const query = encodeQuery(0x5151, 0, spelling, 1);
      const question = query.subarray(12);
      const response = await udpExchange(auth.port, query, 2000);
      expect(response, spelling).toBeDefined();
      expect(response!.subarray(12, 12 + question.length).equals(question), spelling).toBe(true);
    }
  });
});
