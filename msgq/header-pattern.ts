/**
 * A remembered header with its seq value left open: what a client's next
 * header must equal to be treated as the same one. Compared on every message,
 * so the bytes are kept as little-endian 32-bit words and each is checked
 * with one read from the input instead of two.
 */
export class HeaderPattern {
  readonly length: number;
  private readonly seqStart: number;
  private readonly seqEnd: number;
  private readonly head: Int32Array;
  private readonly headRest: Uint8Array;
  private readonly tail: Int32Array;
  private readonly tailRest: Uint8Array;
  /** The additional-information bits of seq's initial byte. */
  private readonly seqInfo: number;

  /** `bytes` is a whole CBOR header; seq's value lies in [seqStart, seqEnd). */
  constructor(bytes: Buffer, seqStart: number, seqEnd: number) {
    this.length = bytes.length;
    this.seqStart = seqStart;
    this.seqEnd = seqEnd;
    [this.head, this.headRest] = words(bytes, 0, seqStart);
    [this.tail, this.tailRest] = words(bytes, seqEnd, bytes.length);
    this.seqInfo = bytes[seqStart]! & 0x1f;
  }

  /** True when the `length` bytes at `start` differ from the pattern at most in the seq value. */
  matches(view: DataView, start: number): boolean {
    if (!sameWords(view, start, this.head, this.headRest)) return false;
    if (!sameWords(view, start + this.seqEnd, this.tail, this.tailRest)) return false;
    // The seq bytes must still be an unsigned or negative integer of the same width.
    const initial = view.getUint8(start + this.seqStart);
    const info = initial & 0x1f;
    return initial >> 5 <= 1 && (this.seqInfo < 24 ? info < 24 : info === this.seqInfo);
  }
}

function words(bytes: Buffer, from: number, to: number): [Int32Array, Uint8Array] {
  const count = (to - from) >> 2;
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) out[i] = bytes.readInt32LE(from + 4 * i);
  return [out, Uint8Array.from(bytes.subarray(from + 4 * count, to))];
}

function sameWords(view: DataView, start: number, words: Int32Array, rest: Uint8Array): boolean {
  let pos = start;
  for (let i = 0; i < words.length; i++, pos += 4) if (view.getInt32(pos, true) !== words[i]) return false;
  for (let i = 0; i < rest.length; i++, pos++) if (view.getUint8(pos) !== rest[i]) return false;
  return true;
}
