import { describe, expect, it } from 'vitest';
import { HeaderPattern } from '../msgq/header-pattern.js';
import { encodeValue, frameBytes } from './helpers/raw.js';

/** Group names that give headers of every length modulo 4, so the overlapping last word is exercised. */
const GROUPS = ['G', 'Gr', 'Gro', 'Grou'];
const MAX_FRAME = 1 << 20;

/** seq comes before the group, so the words after it cover bytes that matter. */
function header(group: string, seq: number): Buffer {
  return encodeValue({ type: 'send', from: 'abc_1@host', to: '*', seq, instance: '*', group }, 'cbor');
}

/** Where seq's value lies: right after the text "seq". */
function seqSpan(bytes: Buffer): [number, number] {
  const start = bytes.indexOf(Buffer.from([0x63, 0x73, 0x65, 0x71])) + 4;
  const info = bytes[start]! & 0x1f;
  return [start, start + 1 + (info < 24 ? 0 : 1 << (info - 24))];
}

function pattern(group: string, seq = 1000): HeaderPattern {
  const bytes = header(group, seq);
  return new HeaderPattern(bytes, ...seqSpan(bytes));
}

function viewOf(buf: Buffer): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.length);
}

function run(group: string, firstSeq: number, count: number): Buffer {
  const body = encodeValue({ n: 1 }, 'cbor');
  return Buffer.concat(Array.from({ length: count }, (_, i) => frameBytes(header(group, firstSeq + i), body)));
}

/** A small deterministic generator, so a failure can be replayed. */
function prng(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x80000000;
  };
}

describe('header pattern', () => {
  it('seq_only_differs: another seq of the same width matches, a change anywhere else does not', () => {
    for (const group of GROUPS) {
      const p = pattern(group);
      const compiled = p.compile();
      const other = header(group, 4321);
      expect(p.matches(viewOf(other), 0)).toBe(true);
      const [seqStart, seqEnd] = seqSpan(other);
      for (let i = 0; i < other.length; i++) {
        if (i >= seqStart && i < seqEnd) continue;
        const changed = Buffer.from(other);
        changed[i]! ^= 0x01;
        expect(p.matches(viewOf(changed), 0), `byte ${i} of a ${other.length}-byte header`).toBe(false);
        const frame = frameBytes(changed, Buffer.from([0xf6]));
        expect(compiled(viewOf(frame), 0, frame.length, MAX_FRAME)).toBe(0);
      }
    }
  });

  it('reply_also_differs: with a reply, another seq and reply of the same widths match, another reply width does not', () => {
    const make = (seq: number, reply: number): Buffer => encodeValue({ type: 'send', from: 'abc_1@host', to: 'x_2@host', seq, reply, group: 'Echo' }, 'cbor');
    const bytes = make(1000, 70000);
    const at = (name: string): [number, number] => {
      const start = bytes.indexOf(Buffer.from(name)) + name.length;
      const info = bytes[start]! & 0x1f;
      return [start, start + 1 + (info < 24 ? 0 : 1 << (info - 24))];
    };
    const p = new HeaderPattern(bytes, ...at('seq'), ...at('reply'));
    const compiled = p.compile();
    for (const [other, matches] of [
      [make(4321, 99999), true],
      [make(4321, 300), false],
      [encodeValue({ type: 'send', from: 'abc_1@host', to: 'x_3@host', seq: 4321, reply: 99999, group: 'Echo' }, 'cbor'), false],
    ] as const) {
      expect(p.matches(viewOf(other), 0)).toBe(matches);
      const framed = frameBytes(other, encodeValue({ n: 1 }, 'cbor'));
      expect(compiled(viewOf(framed), 0, framed.length, MAX_FRAME) === framed.length).toBe(matches && other.length === bytes.length);
    }
  });

  it('seq_type_changed: a byte string or another width in the seq bytes does not match, a negative int does', () => {
    const cases = [
      // seq 1000: a uint16
      [1000, 0x19, true],
      [1000, 0x39, true], // negative, same width
      [1000, 0x42, false], // byte string of 2
      [1000, 0x18, false], // uint8: another width
      [1000, 0x59, false], // byte string, 2-byte length
      // seq 5: in the initial byte itself
      [5, 0x17, true],
      [5, 0x25, true], // -6
      [5, 0x45, false], // byte string of 5
      [5, 0x65, false], // text of 5
      [5, 0x18, false], // uint8: another width
    ] as const;
    for (const [seq, initial, fits] of cases) {
      const p = pattern('G', seq);
      const compiled = p.compile();
      const bytes = header('G', seq);
      const [seqStart] = seqSpan(bytes);
      const changed = Buffer.from(bytes);
      changed[seqStart] = initial;
      expect(p.matches(viewOf(changed), 0), `initial byte 0x${initial.toString(16)}`).toBe(fits);
      const frame = frameBytes(changed, Buffer.from([0xf6]));
      expect(compiled(viewOf(frame), 0, frame.length, MAX_FRAME) === frame.length).toBe(fits);
    }
  });

  it('scan_stops_at_limits: a partial frame, an oversized one and another header length end the run', () => {
    const p = pattern('G');
    const whole = run('G', 1000, 10);
    const frameLength = whole.length / 10;
    const scanners = [p.compile(), (v: DataView, pos: number, end: number, max: number) => pattern('G').scan(v, pos, end, max)];
    for (const scan of scanners) {
      expect(scan(viewOf(whole), 0, whole.length, MAX_FRAME)).toBe(whole.length);
      expect(scan(viewOf(whole), 0, whole.length - 1, MAX_FRAME)).toBe(whole.length - frameLength);
      expect(scan(viewOf(whole), 0, whole.length, frameLength - 5)).toBe(0);
      const mixed = Buffer.concat([run('G', 1000, 3), run('G', 10, 1), run('G', 1003, 3)]);
      expect(scan(viewOf(mixed), 0, mixed.length, MAX_FRAME)).toBe(3 * frameLength);
    }
  });

  it('compiled_agrees_with_loop: both scanners end a damaged run at the same frame', () => {
    const random = prng(42);
    for (let round = 0; round < 400; round++) {
      const group = GROUPS[round % GROUPS.length]!;
      const bytes = run(group, 1000, 40);
      const damage = Math.floor(random() * 3);
      const at = Math.floor(random() * bytes.length);
      if (damage === 0) bytes[at]! ^= 1 << Math.floor(random() * 8);
      if (damage === 1) bytes[at] = Math.floor(random() * 256);
      const end = damage === 2 ? at : bytes.length;
      const loop = pattern(group).scan(viewOf(bytes), 0, end, MAX_FRAME);
      const compiled = pattern(group).compile()(viewOf(bytes), 0, end, MAX_FRAME);
      expect(compiled, `round ${round}: damage ${damage} at ${at}`).toBe(loop);
    }
  });

  it('compiles_once_streaming: after enough frames scan uses the compiled scanner with the same result', () => {
    const p = pattern('Gro');
    const bytes = run('Gro', 1000, 100);
    expect(p.scan(viewOf(bytes), 0, bytes.length, MAX_FRAME)).toBe(bytes.length);
    const damaged = Buffer.from(bytes);
    damaged[damaged.length - 1]! ^= 0xff;
    // The damage is in the body of the last frame: bodies are not the header's business.
    expect(p.scan(viewOf(damaged), 0, damaged.length, MAX_FRAME)).toBe(damaged.length);
    const headerDamaged = Buffer.from(bytes);
    headerDamaged[bytes.length / 2 + 8]! ^= 0xff;
    const frameLength = bytes.length / 100;
    const expected = Math.floor((bytes.length / 2 + 8) / frameLength) * frameLength;
    expect(p.scan(viewOf(headerDamaged), 0, headerDamaged.length, MAX_FRAME)).toBe(expected);
  });
});
