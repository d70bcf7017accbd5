import { describe, expect, it } from 'vitest';
import { cbor } from '../protocol/codec.js';
import { parseEnvelope } from '../protocol/envelope.js';
import { ScannedSend } from '../protocol/header-scan.js';

/** What the full path makes of a header: the envelope, or undefined when it refuses it. */
function fullPath(bytes: Buffer): Record<string, unknown> | undefined {
  try {
    return parseEnvelope(cbor.decode(bytes), 'client') as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

const viewOf = (buf: Buffer): DataView => new DataView(buf.buffer, buf.byteOffset, buf.length);
const text = (buf: Buffer, start: number, end: number): string => buf.toString('utf8', start, end);

/** Deterministic pseudo-random numbers, so a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed;
  return () => ((s = Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32;
}

describe('the send scan', () => {
  it('finds_fields: the offsets point at each routing field, whatever the order', () => {
    const scan = new ScannedSend();
    const header = cbor.encode({ seq: 70000, group: 'Auth', want_answer: true, type: 'send', instance: 'i1', to: '*', from: 'x'.repeat(30), reply: 3 });
    expect(scan.scan(header, viewOf(header), 0, header.length)).toBe(true);
    expect(text(header, scan.groupStart, scan.groupEnd)).toBe('Auth');
    expect(text(header, scan.instanceStart, scan.instanceEnd)).toBe('i1');
    expect(text(header, scan.toStart, scan.toEnd)).toBe('*');
    expect(cbor.decode(header.subarray(scan.fromStart, scan.fromEnd))).toBe('x'.repeat(30));
    expect(cbor.decode(header.subarray(scan.seqStart, scan.seqEnd))).toBe(70000);
    expect(scan.wantAnswer).toBe(true);
    expect(scan.hasReply).toBe(true);
  });

  it('map_size_forms: a map whose size is written in one or two more bytes (as some encoders do) is scanned the same', () => {
    const scan = new ScannedSend();
    const short = cbor.encode({ type: 'send', from: 'a', to: '*', group: 'G', instance: '*', seq: 9 });
    for (const head of [[0xb8, 6], [0xb9, 0, 6]]) {
      const long = Buffer.concat([Buffer.from(head), short.subarray(1)]);
      expect(scan.scan(long, viewOf(long), 0, long.length)).toBe(true);
      expect(text(long, scan.groupStart, scan.groupEnd)).toBe('G');
      expect(fullPath(long)).toMatchObject({ group: 'G', seq: 9 });
    }
  });

  it('leaves_to_the_full_path: other types, missing fields, wrong kinds, unknown keys, long or odd forms', () => {
    const scan = new ScannedSend();
    const refused = [
      { type: 'ping' },
      { type: 'send', group: 'G', seq: 1 },
      { type: 'send', to: '*', seq: 1 },
      { type: 'send', to: '*', group: 'G' },
      { type: 'send', to: '*', group: 'G', seq: '1' },
      { type: 'send', to: '*', group: 7, seq: 1 },
      { type: 'send', to: '*', group: 'G', seq: 1, want_answer: 1 },
      { type: 'send', to: '*', group: 'G', seq: 2 ** 40 },
      { type: 'send', to: '*', group: 'G', seq: -1, extra: 'field' },
      { type: 'send', to: '*', group: 'G'.repeat(300), seq: 1 },
    ];
    for (const header of refused) {
      const bytes = cbor.encode(header);
      expect(scan.scan(bytes, viewOf(bytes), 0, bytes.length), JSON.stringify(header).slice(0, 80)).toBe(false);
    }
  });

  it('never_accepts_what_the_full_path_refuses: 200,000 mutated headers, each checked against the full decoder', () => {
    const scan = new ScannedSend();
    const next = random(9);
    const base = cbor.encode({ type: 'send', from: 'lname_1@host', to: '*', group: 'Group', instance: '*', seq: 1234, reply: 7, want_answer: false });
    let accepted = 0;
    for (let i = 0; i < 200_000; i++) {
      const bytes = Buffer.from(base);
      for (let m = 1 + Math.floor(next() * 3); m > 0; m--) bytes[Math.floor(next() * bytes.length)] = Math.floor(next() * 256);
      const cut = next() < 0.1 ? bytes.subarray(0, Math.floor(next() * bytes.length)) : bytes;
      if (!scan.scan(cut, viewOf(cut), 0, cut.length)) continue;
      accepted++;
      const env = fullPath(cut);
      expect(env, cut.toString('hex')).toBeDefined();
      expect(env!.type).toBe('send');
      expect(text(cut, scan.groupStart, scan.groupEnd)).toBe(env!.group);
      expect(text(cut, scan.toStart, scan.toEnd)).toBe(env!.to);
      expect(cbor.decode(cut.subarray(scan.seqStart, scan.seqEnd))).toBe(env!.seq);
      expect(scan.wantAnswer).toBe(env!.want_answer === true);
    }
    // Mutations that hit only values keep the header valid: the property was exercised, not vacuous.
    expect(accepted).toBeGreaterThan(10_000);
  });
});
