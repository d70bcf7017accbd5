import { describe, expect, it } from 'vitest';
import { parseQuery } from '../src/dns/message.js';
import { EDNS_DO, EDNS_NONE, EDNS_PLAIN, lowerQuestion, plainQuery, readPlainQuery } from '../src/dns/plain-query.js';
import { query } from './helpers/dns.js';

/**
 * readPlainQuery is auth's shortcut to a prepared response: whatever it
 * takes must be a query parseQuery reads the same way, and anything
 * parseQuery would refuse, or answer otherwise than from a zone, it must
 * leave alone.
 */

const opt = (fields: { payload?: number; version?: number; flags?: number; rdata?: Buffer } = {}): Buffer => {
  const rdata = fields.rdata ?? Buffer.alloc(0);
  const out = Buffer.alloc(11);
  out.writeUInt16BE(41, 1);
  out.writeUInt16BE(fields.payload ?? 1232, 3);
  out[6] = fields.version ?? 0;
  out.writeUInt16BE(fields.flags ?? 0, 7);
  out.writeUInt16BE(rdata.length, 9);
  return Buffer.concat([out, rdata]);
};

/** A query with `arcount` additional records made of `additional`. */
const withAdditional = (base: Buffer, arcount: number, additional: Buffer): Buffer => {
  const out = Buffer.concat([base, additional]);
  out.writeUInt16BE(arcount, 10);
  return out;
};

const TSIG_RR = Buffer.concat([Buffer.from([3, 0x6b, 0x65, 0x79, 0]), Buffer.from([0, 250, 0, 255, 0, 0, 0, 0, 0, 0])]);

describe('readPlainQuery', () => {
  it('plain_queries_read_as_parseQuery_reads_them: id aside, every field auth answers by is the same', () => {
    const cases = [
      query({ name: 'www.auth.test', type: 1 }),
      query({ name: 'WwW.AuTh.TeSt', type: 28, flags: 0 }),
      query({ name: 'www.auth.test', type: 15, edns: { dnssecOk: false } }),
      query({ name: 'www.auth.test', type: 48, edns: { dnssecOk: true }, flags: 0x0110 }),
      withAdditional(query({ name: 'a.b', type: 1 }), 1, opt({ payload: 512 })),
      withAdditional(query({ name: 'a.b', type: 1 }), 1, opt({ payload: 65_535, flags: 0x8000, rdata: Buffer.from([0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]) })),
    ];
    for (const packet of cases) {
      const plain = plainQuery();
      expect(readPlainQuery(packet, plain)).toBe(true);
      const parsed = parseQuery(packet);
      if (parsed.kind !== 'query') throw new Error(`parseQuery: ${parsed.kind}`);
      const q = parsed.query;
      expect({ end: plain.questionEnd, qtype: plain.qtype, rd: plain.rd, cd: plain.cd, payload: plain.payload }).toEqual({
        end: 12 + q.question.length,
        qtype: q.qtype,
        rd: q.rd,
        cd: q.cd,
        payload: q.edns?.payload ?? 0,
      });
      expect(plain.edns).toBe(q.edns ? (q.edns.dnssecOk ? EDNS_DO : EDNS_PLAIN) : EDNS_NONE);
      expect(q.signed).toBe(false);
    }
  });

  it('malformed_or_special_left_to_parseQuery: bytes after the question or OPT, two OPTs, a TSIG, EDNS 1, pointers, other opcodes, classes and transfers', () => {
    const base = query({ name: 'www.auth.test', type: 1 });
    const pointer = Buffer.concat([base.subarray(0, 12), Buffer.from([0xc0, 12]), base.subarray(base.length - 4)]);
    const cases: [string, Buffer][] = [
      ['trailing byte', query({ trailing: Buffer.from([0]) })],
      ['trailing after OPT', query({ edns: { dnssecOk: false }, trailing: Buffer.from([1, 2]) })],
      ['two OPTs', withAdditional(base, 2, Buffer.concat([opt(), opt()]))],
      ['TSIG', withAdditional(base, 1, TSIG_RR)],
      ['OPT then TSIG', withAdditional(base, 2, Buffer.concat([opt(), TSIG_RR]))],
      ['EDNS version 1', withAdditional(base, 1, opt({ version: 1 }))],
      ['OPT data runs past the end', withAdditional(base, 1, opt().subarray(0, 10))],
      ['pointer in the question', pointer],
      ['response', query({ flags: 0x8000 })],
      ['NOTIFY', query({ flags: 4 << 11 })],
      ['UPDATE', query({ flags: 5 << 11 })],
      ['two questions', query({ qdcount: 2 })],
      ['no question', query({ qdcount: 0 }).subarray(0, 12)],
      ['AXFR', query({ type: 252 })],
      ['IXFR', query({ type: 251 })],
      ['truncated question', base.subarray(0, base.length - 1)],
      ['runt', base.subarray(0, 11)],
    ];
    const chaos = Buffer.from(base);
    chaos.writeUInt16BE(3, chaos.length - 2);
    cases.push(['class CH', chaos]);
    const answerCount = Buffer.from(base);
    answerCount.writeUInt16BE(1, 6);
    cases.push(['an answer record counted', answerCount]);
    const longName = query({ name: Array.from({ length: 128 }, () => 'a').join('.') });
    cases.push(['name past 255 bytes', longName]);
    for (const [what, packet] of cases) expect(readPlainQuery(packet, plainQuery()), what).toBe(false);
  });

  it('case_only_differences_one_question: names lowercased, qtype and qclass bytes kept (type 0x41 is not 0x61)', () => {
    const lowered = (packet: Buffer): string => {
      const into = Buffer.alloc(300);
      return into.subarray(0, lowerQuestion(packet, 12, packet.length, into)).toString('hex');
    };
    expect(lowered(query({ name: 'WWW.Auth.TEST', type: 0x41 }))).toBe(lowered(query({ name: 'www.auth.test', type: 0x41 })));
    expect(lowered(query({ name: 'www.auth.test', type: 0x41 }))).not.toBe(lowered(query({ name: 'www.auth.test', type: 0x61 })));
    // A label of 65 bytes would be 0x41 long: no such label; but a byte 'A' inside a label is a letter.
    expect(lowered(query({ name: 'A.b', type: 1 }))).toBe(lowered(query({ name: 'a.b', type: 1 })));
  });
});
