import { LENGTH_BYTES, PREFIX_BYTES } from '../protocol/framing.js';
import { seqFits } from '../protocol/header-repeat.js';

/** Finds where a run of frames carrying the pattern's header ends; see HeaderPattern.scan. */
type Scan = (view: DataView, pos: number, end: number, maxFrame: number) => number;

/**
 * Frames a pattern must have matched before its scanner is compiled, so a
 * client that keeps changing headers never pays for compiling one.
 */
const COMPILE_AFTER = 64;

/** One little-endian 32-bit word of the header, the open bytes masked out. */
interface Word {
  offset: number;
  mask: number;
  value: number;
}

/**
 * A remembered header with its seq (and reply) values left open: what a client's next
 * headers must equal to be treated as the same one. msgq checks every frame
 * of a stream against it, so the header is held as masked 32-bit words
 * (one read each from the input) and, once a client has shown it streams,
 * compiled into a scanner with the words as constants: V8 turns that into
 * straight-line compares, twice as fast as any loop over the words.
 */
export class HeaderPattern {
  readonly length: number;
  private readonly offsets: Int32Array;
  private readonly masks: Int32Array;
  private readonly values: Int32Array;
  /** Where seq's value (head included) lies in the header. */
  readonly seqStart: number;
  readonly seqEnd: number;
  /** The additional-information bits of seq's initial byte. */
  private readonly seqInfo: number;
  /** Where reply's value lies, -1 when the header has none; it varies like seq. */
  readonly replyStart: number;
  readonly replyEnd: number;
  private readonly replyInfo: number;
  /** Frames matched by the loop; -1 once compiling proved impossible. */
  private matched = 0;
  private compiled: Scan | undefined;

  /** `bytes` is a whole CBOR header of at least 4 bytes; seq's value lies in [seqStart, seqEnd), reply's (if any) in [replyStart, replyEnd). */
  constructor(bytes: Buffer, seqStart: number, seqEnd: number, replyStart = -1, replyEnd = -1) {
    this.length = bytes.length;
    this.seqStart = seqStart;
    this.seqEnd = seqEnd;
    this.seqInfo = bytes[seqStart]! & 0x1f;
    this.replyStart = replyStart;
    this.replyEnd = replyEnd;
    this.replyInfo = replyStart < 0 ? 0 : bytes[replyStart]! & 0x1f;
    const open = (i: number): boolean => (i >= seqStart && i < seqEnd) || (i >= replyStart && i < replyEnd);
    const words = maskedWords(bytes, open);
    this.offsets = Int32Array.from(words, (w) => w.offset);
    this.masks = Int32Array.from(words, (w) => w.mask);
    this.values = Int32Array.from(words, (w) => w.value);
  }

  /** True when the `length` bytes at `start` differ from the pattern at most in the seq and reply values. */
  matches(view: DataView, start: number): boolean {
    const { offsets, masks, values } = this;
    for (let i = 0; i < offsets.length; i++) {
      if ((view.getInt32(start + offsets[i]!, true) & masks[i]!) !== values[i]) return false;
    }
    if (!seqFits(view.getUint8(start + this.seqStart), this.seqInfo)) return false;
    return this.replyStart < 0 || seqFits(view.getUint8(start + this.replyStart), this.replyInfo);
  }

  /**
   * Where the run of whole frames from `pos` ends when each carries this
   * header: `pos` itself when the first one does not. A frame over
   * `maxFrame` ends the run, so the decoder refuses it as usual.
   */
  scan(view: DataView, pos: number, end: number, maxFrame: number): number {
    if (this.compiled) return this.compiled(view, pos, end, maxFrame);
    const from = pos;
    const length = this.length;
    while (end - pos >= PREFIX_BYTES + length) {
      const total = view.getUint32(pos);
      const frameEnd = pos + LENGTH_BYTES + total;
      if (total > maxFrame || total < 2 + length || frameEnd > end) break;
      if (view.getUint16(pos + LENGTH_BYTES) !== length || !this.matches(view, pos + PREFIX_BYTES)) break;
      pos = frameEnd;
      if (this.matched >= 0) this.matched++;
    }
    if (this.matched >= COMPILE_AFTER && pos !== from) {
      try {
        this.compiled = this.compile();
      } catch {
        // Node run with --disallow-code-generation-from-strings: the loop does the same job.
        this.matched = -1;
      }
    }
    return pos;
  }

  /** The loop of `scan` with this pattern's numbers written in; only numbers go into the source. Public for tests. */
  compile(): Scan {
    const h = PREFIX_BYTES;
    const { offsets, masks, values } = this;
    const compares = Array.from(offsets, (offset, i) => {
      const read = `view.getInt32(pos + ${h + offset}, true)`;
      return masks[i] === -1 ? `${read} !== ${values[i]}` : `(${read} & ${masks[i]}) !== ${values[i]}`;
    });
    // As seqFits: major type 0 or 1 (below 0x40), and the same width.
    const fits = (at: number, info: number): string => {
      const head = `view.getUint8(pos + ${h + at})`;
      return info < 24 ? `${head} >= 0x40 || (${head} & 0x1f) >= 24` : `(${head} & 0xdf) !== ${info}`;
    };
    compares.push(fits(this.seqStart, this.seqInfo));
    if (this.replyStart >= 0) compares.push(fits(this.replyStart, this.replyInfo));
    const body = `
      'use strict';
      while (end - pos >= ${h + this.length}) {
        const total = view.getUint32(pos);
        const frameEnd = pos + ${LENGTH_BYTES} + total;
        if (total > maxFrame || total < ${2 + this.length} || frameEnd > end) break;
        if (view.getUint16(pos + ${LENGTH_BYTES}) !== ${this.length}) break;
        if (${compares.join(' || ')}) break;
        pos = frameEnd;
      }
      return pos;`;
    return new Function('view', 'pos', 'end', 'maxFrame', body) as Scan;
  }
}

/**
 * Words covering the whole header, the last one overlapping its neighbour
 * when the length is not a multiple of 4, with the open bytes (seq's and
 * reply's values) masked out.
 */
function maskedWords(bytes: Buffer, open: (i: number) => boolean): Word[] {
  const offsets: number[] = [];
  for (let offset = 0; offset + 4 <= bytes.length; offset += 4) offsets.push(offset);
  if (bytes.length % 4 !== 0) offsets.push(bytes.length - 4);
  const words: Word[] = [];
  for (const offset of offsets) {
    let mask = 0;
    for (let i = 0; i < 4; i++) if (!open(offset + i)) mask |= 0xff << (8 * i);
    if (mask === 0) continue;
    words.push({ offset, mask, value: bytes.readInt32LE(offset) & mask });
  }
  return words;
}
