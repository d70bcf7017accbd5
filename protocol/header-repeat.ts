/**
 * The last header a reader saw, to tell whether the next one repeats it with
 * only the seq and reply values changed: then its decoded envelope can be
 * reused instead of decoding again. Headers from one sender to one
 * destination do exactly that — a stream counts seq up, a responder's
 * answers to one caller change seq and reply. The remembered bytes are a
 * view into their input chunk, not a copy.
 */

/** Whether an integer head `initial` has the width (and a sign) a remembered one with `info` had. */
export function seqFits(initial: number, info: number): boolean {
  const now = initial & 0x1f;
  return initial < 0x40 && (info < 24 ? now < 24 : now === info);
}

export class RepeatedHeader<T> {
  /** What was decoded from the remembered header; undefined when none is remembered. */
  value: T | undefined;
  private buf: Buffer = Buffer.alloc(0);
  private view: DataView = new DataView(new ArrayBuffer(0));
  private start = 0;
  private length = 0;
  /** Where seq's value (head included) lies, relative to the header's start. */
  seqStart = 0;
  seqEnd = 0;
  /** Where reply's value lies, relative to the header's start; -1 when the header has none. */
  replyStart = -1;
  replyEnd = -1;
  /** The two holes in header order, when there is a reply: [aStart, aEnd) before [bStart, bEnd). */
  private aStart = 0;
  private aEnd = 0;
  private bStart = 0;
  private bEnd = 0;

  /** `view` is a DataView of `buf` with the same offsets (a Frame's). */
  remember(value: T, buf: Buffer, view: DataView, start: number, end: number, seqStart: number, seqEnd: number, replyStart = -1, replyEnd = -1): void {
    this.value = value;
    this.buf = buf;
    this.view = view;
    this.start = start;
    this.length = end - start;
    this.seqStart = seqStart - start;
    this.seqEnd = seqEnd - start;
    this.replyStart = replyStart < 0 ? -1 : replyStart - start;
    this.replyEnd = replyStart < 0 ? -1 : replyEnd - start;
    const seqFirst = this.seqStart < this.replyStart;
    this.aStart = seqFirst ? this.seqStart : this.replyStart;
    this.aEnd = seqFirst ? this.seqEnd : this.replyEnd;
    this.bStart = seqFirst ? this.replyStart : this.seqStart;
    this.bEnd = seqFirst ? this.replyEnd : this.seqEnd;
  }

  forget(): void {
    this.value = undefined;
  }

  /** The remembered header's bytes (a view: copy them to keep them). */
  bytes(): Buffer {
    return this.buf.subarray(this.start, this.start + this.length);
  }

  /** True when buf[start, end) (seen through `view`) equals the remembered header but for the seq and reply values, each of the same width. */
  repeats(buf: Buffer, view: DataView, start: number, end: number): boolean {
    const { buf: bytes, start: from, length, seqStart, seqEnd, replyStart } = this;
    if (this.value === undefined || length !== end - start) return false;
    if (!seqFits(buf[start + seqStart]!, bytes[from + seqStart]! & 0x1f)) return false;
    const mine = this.view;
    if (replyStart < 0) {
      return same(view, start + seqEnd, mine, from + seqEnd, length - seqEnd) && same(view, start, mine, from, seqStart);
    }
    if (!seqFits(buf[start + replyStart]!, bytes[from + replyStart]! & 0x1f)) return false;
    const { aStart, aEnd, bStart, bEnd } = this;
    return (
      same(view, start + bEnd, mine, from + bEnd, length - bEnd) &&
      same(view, start + aEnd, mine, from + aEnd, bStart - aEnd) &&
      same(view, start, mine, from, aStart)
    );
  }
}

/** Whether `length` bytes at a in `x` equal those at b in `y`, compared four at a time. */
function same(x: DataView, a: number, y: DataView, b: number, length: number): boolean {
  let i = 0;
  for (; i + 4 <= length; i += 4) if (x.getInt32(a + i, true) !== y.getInt32(b + i, true)) return false;
  for (; i < length; i++) if (x.getUint8(a + i) !== y.getUint8(b + i)) return false;
  return true;
}
