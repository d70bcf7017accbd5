/**
 * Where the routing fields of a CBOR `send` header lie, found without
 * decoding it: msgq routes most messages by looking at a few of those bytes
 * (is `from` the sender's lname, is `to` "*", which group) and forwards the
 * frame as it came, so making strings and an envelope object for every
 * message would be work nobody reads. The scan accepts only headers it can
 * vouch for — a definite map of the envelope's own keys with values of the
 * right kinds, `type` "send", `to`, `group` and `seq` present — and says
 * no to anything else, which then takes the full decode and its checks (and
 * its error messages). It never accepts what the full path would refuse.
 */

/** Byte offsets into the scanned buffer; -1 when the field is absent. */
export class ScannedSend {
  /** `from`'s value, its CBOR head included (what a rewrite replaces). */
  fromStart = -1;
  fromEnd = -1;
  /** The text content of `to`, `group` and `instance` (no head). */
  toStart = -1;
  toEnd = -1;
  groupStart = -1;
  groupEnd = -1;
  instanceStart = -1;
  instanceEnd = -1;
  /** `seq`'s value, head included. */
  seqStart = -1;
  seqEnd = -1;
  /** `reply`'s value, head included. */
  replyStart = -1;
  replyEnd = -1;
  wantAnswer = false;

  get hasReply(): boolean {
    return this.replyStart >= 0;
  }

  private reset(): void {
    this.fromStart = this.fromEnd = this.toStart = this.toEnd = -1;
    this.groupStart = this.groupEnd = this.instanceStart = this.instanceEnd = -1;
    this.seqStart = this.seqEnd = this.replyStart = this.replyEnd = -1;
    this.wantAnswer = false;
  }

  /**
   * Scans buf[start, end) as a send header. True when it is one the fast
   * path may route; false sends it down the full path.
   */
  scan(buf: Buffer, view: DataView, start: number, end: number): boolean {
    this.reset();
    const initial = buf[start]!;
    // A definite map; encoders differ in how they write its size (cbor-x may use two bytes).
    if (initial >> 5 !== 5) return false;
    let count = initial & 0x1f;
    let pos = start + 1;
    if (count === 24) count = buf[pos++]!;
    else if (count === 25) {
      count = view.getUint16(pos);
      pos += 2;
    } else if (count > 24) return false;
    if (count > MAX_KEYS || pos > end) return false;
    let isSend = false;
    for (let n = count; n > 0; n--) {
      if (pos >= end) return false;
      const keyHead = buf[pos]!;
      const keyLength = keyHead - 0x60;
      if (keyLength < 2 || keyLength > 11 || pos + 1 + keyLength > end) return false;
      const key = keyAt(view, pos + 1, keyLength);
      pos += 1 + keyLength;
      if (key === NOT_A_KEY || pos >= end) return false;

      const valueAt = pos;
      const head = buf[pos++]!;
      const major = head >> 5;
      const info = head & 0x1f;
      if (key === SEQ || key === REPLY) {
        if (major > 1 || info > 26) return false;
        pos += info < 24 ? 0 : info === 24 ? 1 : info === 25 ? 2 : 4;
        if (key === SEQ) {
          this.seqStart = valueAt;
          this.seqEnd = pos;
        } else {
          this.replyStart = valueAt;
          this.replyEnd = pos;
        }
        continue;
      }
      if (key === WANT_ANSWER) {
        if (head !== 0xf4 && head !== 0xf5) return false;
        this.wantAnswer = head === 0xf5;
        continue;
      }
      // The rest are texts: a length below 24, or in the next byte.
      if (major !== 3 || info > 24) return false;
      let length = info;
      if (info === 24) {
        if (pos >= end) return false;
        length = buf[pos++]!;
      }
      const textStart = pos;
      pos += length;
      if (pos > end) return false;
      switch (key) {
        case TYPE:
          isSend = length === 4 && view.getInt32(textStart, true) === SEND;
          break;
        case FROM:
          this.fromStart = valueAt;
          this.fromEnd = pos;
          break;
        case TO:
          this.toStart = textStart;
          this.toEnd = pos;
          break;
        case GROUP:
          this.groupStart = textStart;
          this.groupEnd = pos;
          break;
        default:
          this.instanceStart = textStart;
          this.instanceEnd = pos;
      }
    }
    return pos === end && isSend && this.toStart >= 0 && this.groupStart >= 0 && this.seqStart >= 0;
  }
}

/** More keys than an envelope has fields means keys the scan does not know, or repeats: the full path's business. */
const MAX_KEYS = 16;
const NOT_A_KEY = 0;
const TYPE = 1;
const FROM = 2;
const TO = 3;
const GROUP = 4;
const INSTANCE = 5;
const SEQ = 6;
const REPLY = 7;
const WANT_ANSWER = 8;

/** The little-endian 32-bit word of a name's four bytes from `at`. */
const word = (name: string, at = 0): number => Buffer.from(name).readInt32LE(at);
const half = (name: string, at = 0): number => Buffer.from(name).readUInt16LE(at);
const SEND = word('send');
const W_TYPE = word('type');
const W_FROM = word('from');
const W_GROU = word('group');
const W_REPL = word('reply');
const W_INST = word('instance');
const W_ANCE = word('instance', 4);
const W_WANT = word('want_answer');
const W__ANS = word('want_answer', 4);
const H_TO = half('to');
const H_SE = half('seq');
const H_WE = half('want_answer', 8);

/** Which envelope key the `length` bytes at `pos` spell, read a word at a time. */
function keyAt(view: DataView, pos: number, length: number): number {
  switch (length) {
    case 2:
      return view.getUint16(pos, true) === H_TO ? TO : NOT_A_KEY;
    case 3:
      return view.getUint16(pos, true) === H_SE && view.getUint8(pos + 2) === 0x71 ? SEQ : NOT_A_KEY;
    case 4: {
      const w = view.getInt32(pos, true);
      return w === W_TYPE ? TYPE : w === W_FROM ? FROM : NOT_A_KEY;
    }
    case 5: {
      const w = view.getInt32(pos, true);
      const last = view.getUint8(pos + 4);
      if (w === W_GROU && last === 0x70) return GROUP;
      return w === W_REPL && last === 0x79 ? REPLY : NOT_A_KEY;
    }
    case 8:
      return view.getInt32(pos, true) === W_INST && view.getInt32(pos + 4, true) === W_ANCE ? INSTANCE : NOT_A_KEY;
    case 11:
      return view.getInt32(pos, true) === W_WANT &&
        view.getInt32(pos + 4, true) === W__ANS &&
        view.getUint16(pos + 8, true) === H_WE &&
        view.getUint8(pos + 10) === 0x72
        ? WANT_ANSWER
        : NOT_A_KEY;
    default:
      return NOT_A_KEY;
  }
}
