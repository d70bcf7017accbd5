/**
 * A short byte string compared against input in place, four bytes at a
 * time: how msgq tells whether a header's `from` is the sender's lname or
 * its `to` the last destination, without making a string. A loop over
 * single bytes costs twice as much for an lname's 25 or so.
 */
export class ByteKey {
  readonly length: number;
  private readonly words: Int32Array;
  private readonly tail: Uint8Array;

  constructor(readonly bytes: Buffer) {
    this.length = bytes.length;
    const whole = this.length >> 2;
    this.words = new Int32Array(whole);
    for (let i = 0; i < whole; i++) this.words[i] = bytes.readInt32LE(i * 4);
    this.tail = Uint8Array.from(bytes.subarray(whole * 4));
  }

  /** True when view[pos, end) holds exactly these bytes. */
  equalsAt(view: DataView, pos: number, end: number): boolean {
    if (end - pos !== this.length) return false;
    const words = this.words;
    for (let i = 0; i < words.length; i++) if (view.getInt32(pos + i * 4, true) !== words[i]) return false;
    const tail = this.tail;
    const at = pos + words.length * 4;
    for (let i = 0; i < tail.length; i++) if (view.getUint8(at + i) !== tail[i]) return false;
    return true;
  }

  /** Writes these bytes into view at `pos`. */
  writeAt(view: DataView, pos: number): void {
    const words = this.words;
    for (let i = 0; i < words.length; i++) view.setInt32(pos + i * 4, words[i]!, true);
    const tail = this.tail;
    const at = pos + words.length * 4;
    for (let i = 0; i < tail.length; i++) view.setUint8(at + i, tail[i]!);
  }
}
