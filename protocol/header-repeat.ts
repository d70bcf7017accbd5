/**
 * The last header a reader saw, to tell whether the next one repeats it with
 * only the seq value changed: then its decoded envelope can be reused instead
 * of decoding again. Headers from one sender to one destination do exactly
 * that. The remembered bytes are a view into their input chunk, not a copy.
 */

/** Whether a seq head `initial` has the width (and a sign) a remembered one with `seqInfo` had. */
export function seqFits(initial: number, seqInfo: number): boolean {
  const info = initial & 0x1f;
  return initial < 0x40 && (seqInfo < 24 ? info < 24 : info === seqInfo);
}

export class RepeatedHeader<T> {
  /** What was decoded from the remembered header; undefined when none is remembered. */
  value: T | undefined;
  private buf: Buffer = Buffer.alloc(0);
  private start = 0;
  private length = 0;
  /** Where seq's value (head included) lies, relative to the header's start. */
  seqStart = 0;
  seqEnd = 0;

  remember(value: T, buf: Buffer, start: number, end: number, seqStart: number, seqEnd: number): void {
    this.value = value;
    this.buf = buf;
    this.start = start;
    this.length = end - start;
    this.seqStart = seqStart - start;
    this.seqEnd = seqEnd - start;
  }

  forget(): void {
    this.value = undefined;
  }

  /** The remembered header's bytes (a view: copy them to keep them). */
  bytes(): Buffer {
    return this.buf.subarray(this.start, this.start + this.length);
  }

  /** True when buf[start, end) equals the remembered header but for seq's value, of the same width. */
  repeats(buf: Buffer, start: number, end: number): boolean {
    const { buf: bytes, start: from, length, seqStart, seqEnd } = this;
    if (this.value === undefined || length !== end - start) return false;
    // The last byte first: a reply's header ends in its ever-changing reply
    // field, and that one check spares two native compares per message.
    return (
      (seqEnd === length || buf[end - 1] === bytes[from + length - 1]) &&
      seqFits(buf[start + seqStart]!, bytes[from + seqStart]! & 0x1f) &&
      bytes.compare(buf, start + seqEnd, end, from + seqEnd, from + length) === 0 &&
      bytes.compare(buf, start, start + seqStart, from, from + seqStart) === 0
    );
  }
}
