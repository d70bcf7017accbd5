import { describe, expect, it } from 'vitest';
import { decompressName, labels, readName, sortKey, wireToName, type PointedNames } from '../src/dns/name.js';

/** What decompressName and wireToName make of the name at `pos`: the reference readName must agree with. */
function reference(msg: Buffer, pos: number): { name: string; end: number } | string {
  try {
    const { wire, end } = decompressName(msg, pos, msg.length);
    return { name: wireToName(wire, 0, true), end };
  } catch (err) {
    return (err as Error).message;
  }
}

function read(msg: Buffer, pos: number, pointed: PointedNames): { name: string; end: number } | string {
  try {
    return readName(msg, pos, msg.length, pointed);
  } catch (err) {
    return (err as Error).message;
  }
}

const label = (text: string): number[] => [text.length, ...Buffer.from(text, 'latin1')];
const pointer = (to: number): number[] => [0xc0 | (to >> 8), to & 0xff];

describe('readName', () => {
  it('names_through_pointers_read_as_decompressName_reads_them', () => {
    // 0: XFER.test.  11: h1 -> 0   16: A.b -> 11 (a pointer to a name that ends in a pointer)  22: root  23: a\.b"x -> 0  31: -> 16
    const msg = Buffer.from([
      ...label('XFER'), ...label('test'), 0,
      ...label('h1'), ...pointer(0),
      ...label('A'), ...label('b'), ...pointer(11),
      0,
      ...label('a.b"x'), ...pointer(0),
      ...pointer(16),
    ]);
    const pointed: PointedNames = new Map();
    for (const pos of [0, 11, 16, 22, 23, 31, 16, 31]) expect(read(msg, pos, pointed)).toEqual(reference(msg, pos));
    expect(read(msg, 31, pointed)).toEqual({ name: 'a.b.h1.xfer.test.', end: 33 });
    expect(read(msg, 23, pointed)).toEqual({ name: 'a\\.b\\"x.xfer.test.', end: 31 });
    expect(read(msg, 22, pointed)).toEqual({ name: '.', end: 23 });
  });

  it('malformed_names_refused_as_decompressName_refuses_them', () => {
    const cases: number[][] = [
      [...pointer(0)], // to itself
      [...pointer(2), 0], // forward
      [...label('a')], // runs past the end
      [0xc0], // a pointer cut
      [64, ...Buffer.alloc(64)], // a label of 64
      [...Array.from({ length: 5 }, () => label('x'.repeat(60))).flat(), 0], // over 255 bytes
    ];
    for (const bytes of cases) {
      const msg = Buffer.from(bytes);
      const got = read(msg, 0, new Map());
      expect(typeof got).toBe('string');
      expect(got).toBe(reference(msg, 0));
    }
    // Over 255 bytes only through a pointer to a name known already.
    const long = [...Array.from({ length: 3 }, () => label('y'.repeat(60))).flat(), 0];
    const msg = Buffer.from([...long, ...label('z'.repeat(60)), ...label('w'.repeat(10)), ...pointer(0)]);
    const pointed: PointedNames = new Map();
    expect(read(msg, 0, pointed)).toEqual(reference(msg, 0));
    pointed.set(0, { text: 'y'.repeat(60), length: 184, end: 184, pointers: 0 });
    expect(read(msg, long.length, pointed)).toBe('a name longer than 255 bytes');
    expect(reference(msg, long.length)).toBe('a name longer than 255 bytes');
  });

  it('pointer_into_a_name_known_already_refused_as_decompressName_refuses_it', () => {
    // 0: one label of 8 bytes whose 5th and 6th are a pointer to 0, then the root; 10: a pointer to 0.
    // Read at 10 first (room up to 10), the name at 0 is fine; read at 5 its label runs past the pointer.
    const msg = Buffer.from([8, 0x61, 0x62, 0x63, 0x64, 0xc0, 0x00, 0x78, 0x79, 0, ...pointer(0)]);
    const pointed: PointedNames = new Map();
    expect(read(msg, 10, pointed)).toEqual(reference(msg, 10));
    expect(reference(msg, 5)).toBe('a label runs past the end');
    expect(read(msg, 5, pointed)).toBe('a label runs past the end');
  });

  it('more_than_127_pointers_through_names_known_already_refused', () => {
    // The root at 0, then 121 pointers each to the one before: 121 hops, read (and kept) first; then
    // 10 more pointers each to the one before, never led to before: 131 hops in all.
    const bytes = [0];
    for (let at = 0; bytes.length < 1 + 2 * 121; at = bytes.length - 2) bytes.push(...pointer(at));
    const first = bytes.length - 2;
    for (let i = 0; i < 10; i++) bytes.push(...pointer(bytes.length - 2));
    const msg = Buffer.from(bytes);
    const pointed: PointedNames = new Map();
    expect(read(msg, first, pointed)).toEqual({ name: '.', end: first + 2 });
    const last = msg.length - 2;
    expect(reference(msg, last)).toBe('too many compression pointers');
    expect(read(msg, last, pointed)).toBe('too many compression pointers');
  });

  it('random_messages_read_alike', () => {
    // Names built at random from labels and pointers back to where earlier names began (bytes seeded, no Math.random).
    let seed = 7;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let round = 0; round < 200; round++) {
      const bytes: number[] = [];
      const starts: number[] = [];
      for (let n = 0; n < 20; n++) {
        starts.push(bytes.length);
        for (let l = next(4); l > 0; l--) bytes.push(...label(['www', 'A', 'x-1', 'b\\c', '\u00e9', '*'][next(6)]!));
        if (starts.length > 1 && next(3) > 0) bytes.push(...pointer(starts[next(starts.length - 1)]!));
        else bytes.push(0);
      }
      const msg = Buffer.from(bytes);
      const pointed: PointedNames = new Map();
      for (const pos of starts) expect(read(msg, pos, pointed)).toEqual(reference(msg, pos));
    }
  });
});

describe('sortKey', () => {
  it('agrees_with_labels_reversed', () => {
    for (const name of ['.', 'a.', 'www.Example.org.', 'a.b', '\\..a.', 'a\\.b.c.', '*.x.y.', 'a\\032b.c.', 'x']) {
      expect(sortKey(name)).toBe(labels(name).reverse().join('\u0000'));
    }
  });

  it('empty_label_refused', () => {
    for (const name of ['.a.', 'a..b.', 'a..']) expect(() => sortKey(name)).toThrow(/empty label/);
  });
});
