import { compressible, rdataNames } from './rdata.js';
import { nameToWire } from './name.js';
import type { RRset } from './zone.js';

/**
 * A DNS message written into a buffer, with name compression as RFC 1035
 * 4.1.4 has it: every name written (owners, the question, names in RDATA)
 * leaves its suffixes in a map, and a later name ends in a pointer to the
 * longest suffix already there; pointers only go back. Names inside RDATA
 * are compressed only for the RFC 1035 types (RFC 3597 4: NS, CNAME, SOA,
 * MB, MG, MR, PTR, MINFO, MX), which is also what named does. Suffixes
 * compare without case (ASCII only). Records are written whole or not at
 * all: one that would pass the size limit is taken back and add() says so.
 */

const HEADER = 12;
/** Pointers address the first 16 KiB of a message only. */
const POINTER_LIMIT = 0x4000;
/** A message, plus room for one more record of any size before the limit is checked. */
const SCRATCH = 65_535 + 65_535 + 512;

/** One scratch buffer: a message is built, copied out, and the buffer used again (there is one thread). */
let scratch: Buffer | undefined;

export const SECTION = { answer: 6, authority: 8, additional: 10 } as const;
export type Section = keyof typeof SECTION;

/** A name's suffixes as map keys: its bytes from each label on, ASCII lowercased. */
const lowered = Buffer.allocUnsafe(256);
function suffixKey(src: Buffer, from: number, end: number): string {
  for (let i = from; i < end; i++) {
    const b = src[i]!;
    lowered[i - from] = b >= 0x41 && b <= 0x5a ? b + 32 : b;
  }
  return lowered.toString('latin1', 0, end - from);
}

const EMPTY = Buffer.alloc(0);

export class MessageWriter {
  private readonly buf: Buffer;
  private pos = HEADER;
  private readonly names = new Map<string, number>();
  private readonly counts = [0, 0, 0, 0];

  /** `limit`: the largest message allowed (UDP: 512 or the EDNS payload; TCP: 65535). */
  constructor(
    id: number,
    flags: number,
    private readonly limit = 65_535,
  ) {
    this.buf = scratch ??= Buffer.allocUnsafe(SCRATCH);
    this.buf.writeUInt16BE(id, 0);
    this.buf.writeUInt16BE(flags, 2);
  }

  get size(): number {
    return this.pos;
  }

  /** The question as the query sent it, byte for byte; its name is a target for pointers like any other. */
  question(bytes: Buffer): void {
    bytes.copy(this.buf, this.pos);
    this.remember(this.buf, this.pos, this.pos + bytes.length - 4, this.pos + bytes.length - 4, this.pos);
    this.pos += bytes.length;
    this.counts[0]!++;
  }

  /** A question made from a name in wire form. */
  questionOf(name: Buffer, type: number, klass = 1): void {
    const q = Buffer.allocUnsafe(name.length + 4);
    name.copy(q);
    q.writeUInt16BE(type, name.length);
    q.writeUInt16BE(klass, name.length + 2);
    this.question(q);
  }

  /** Suffixes of the name at `start` in `src` whose labels were written up to `stop`, the name now at `at` in the message. */
  private remember(src: Buffer, start: number, stop: number, end: number, at: number): void {
    for (let p = start; p < stop && src[p] !== 0 && at + (p - start) < POINTER_LIMIT; p += src[p]! + 1) {
      const key = suffixKey(src, p, end);
      if (!this.names.has(key)) this.names.set(key, at + (p - start));
    }
  }

  /** The uncompressed name at `start` in `src`, ending in a pointer where it can (and `compress`). */
  private name(src: Buffer, start: number, compress: boolean): number {
    let end = start;
    while (src[end] !== 0) end += src[end]! + 1;
    end++;
    for (let p = start; compress && src[p] !== 0; p += src[p]! + 1) {
      const at = this.names.get(suffixKey(src, p, end));
      if (at === undefined) continue;
      src.copy(this.buf, this.pos, start, p);
      this.remember(src, start, p, end, this.pos);
      this.pos += p - start;
      this.buf.writeUInt16BE(0xc000 | at, this.pos);
      this.pos += 2;
      return end;
    }
    src.copy(this.buf, this.pos, start, end);
    this.remember(src, start, end, end, this.pos);
    this.pos += end - start;
    return end;
  }

  /** One record; false (and nothing written) when it would pass the limit, less `reserve` bytes kept for what must follow. */
  record(section: Section, owner: Buffer, type: number, ttl: number, rdata: Buffer, rdStart = 0, rdEnd = rdata.length, reserve = 0): boolean {
    const mark = this.pos;
    this.name(owner, 0, true);
    this.buf.writeUInt16BE(type, this.pos);
    this.buf.writeUInt16BE(1, this.pos + 2);
    this.buf.writeUInt32BE(ttl, this.pos + 4);
    const lengthAt = this.pos + 8;
    this.pos += 10;
    const start = this.pos;
    const rd = rdStart === 0 && rdEnd === rdata.length ? rdata : rdata.subarray(rdStart, rdEnd);
    const names = rdataNames(type, rd);
    if (names.length === 0) {
      rd.copy(this.buf, this.pos);
      this.pos += rd.length;
    } else {
      const compress = compressible(type);
      let from = 0;
      for (const { at } of names) {
        rd.copy(this.buf, this.pos, from, at);
        this.pos += at - from;
        from = this.name(rd, at, compress);
      }
      rd.copy(this.buf, this.pos, from);
      this.pos += rd.length - from;
    }
    this.buf.writeUInt16BE(this.pos - start, lengthAt);
    if (this.pos + reserve > this.limit) {
      // Suffixes remembered past this point are never used: nothing but the OPT record is written after a refusal.
      this.pos = mark;
      return false;
    }
    this.counts[SECTION[section] / 2 - 2]!++;
    return true;
  }

  /**
   * An RRset's records, as many as fit; the number written. In the answer
   * and authority sections named sends what fits of an RRset; the caller
   * decides (additional data goes whole or not at all).
   */
  rrset(section: Section, rrset: RRset, reserve = 0, owner = nameToWire(rrset.name)): number {
    let written = 0;
    for (let pos = 0; pos < rrset.wire.length; ) {
      const length = rrset.wire.readUInt16BE(pos);
      if (!this.record(section, owner, rrset.type, rrset.ttl, rrset.wire, pos + 2, pos + 2 + length, reserve)) return written;
      written++;
      pos += 2 + length;
    }
    return written;
  }

  /** Takes back everything written after `size` in `section` (records counted there since). */
  rollback(section: Section, size: number, records: number): void {
    this.pos = size;
    this.counts[SECTION[section] / 2 - 2]! -= records;
  }

  /** The OPT pseudo-record (RFC 6891): payload size, extended rcode, version 0, the DO bit, and its options' bytes. */
  opt(payload: number, extendedRcode: number, dnssecOk: boolean, options: Buffer = EMPTY): void {
    this.buf[this.pos] = 0;
    this.buf.writeUInt16BE(41, this.pos + 1);
    this.buf.writeUInt16BE(payload, this.pos + 3);
    this.buf.writeUInt32BE(((extendedRcode & 0xff) << 24) | (dnssecOk ? 0x8000 : 0), this.pos + 5);
    this.buf.writeUInt16BE(options.length, this.pos + 9);
    options.copy(this.buf, this.pos + 11);
    this.pos += 11 + options.length;
    this.counts[3]!++;
  }

  /** Sets bits in the header's flags (TC, once known). */
  setFlags(bits: number): void {
    this.buf.writeUInt16BE(this.buf.readUInt16BE(2) | bits, 2);
  }

  /** The message, copied out. */
  finish(): Buffer {
    for (let i = 0; i < 4; i++) this.buf.writeUInt16BE(this.counts[i]!, 4 + i * 2);
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}
