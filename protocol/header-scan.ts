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
  scan(buf: Buffer, start: number, end: number): boolean {
    this.reset();
    const initial = buf[start]!;
    // A map of fewer than 24 entries: every envelope is one.
    if (initial >> 5 !== 5 || (initial & 0x1f) >= 24) return false;
    let pos = start + 1;
    let isSend = false;
    for (let n = initial & 0x1f; n > 0; n--) {
      if (pos >= end) return false;
      const keyHead = buf[pos]!;
      const keyLength = keyHead - 0x60;
      if (keyLength < 2 || keyLength > 11 || pos + 1 + keyLength > end) return false;
      const key = keyAt(buf, pos + 1, keyLength);
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
          isSend = length === 4 && buf[textStart] === 0x73 && buf[textStart + 1] === 0x65 && buf[textStart + 2] === 0x6e && buf[textStart + 3] === 0x64;
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

const NOT_A_KEY = 0;
const TYPE = 1;
const FROM = 2;
const TO = 3;
const GROUP = 4;
const INSTANCE = 5;
const SEQ = 6;
const REPLY = 7;
const WANT_ANSWER = 8;

/** Which envelope key buf[pos, pos + length) spells, told apart by length and first byte, then checked whole. */
function keyAt(buf: Buffer, pos: number, length: number): number {
  switch (length) {
    case 2:
      return spells(buf, pos, NAME_TO) ? TO : NOT_A_KEY;
    case 3:
      return spells(buf, pos, NAME_SEQ) ? SEQ : NOT_A_KEY;
    case 4:
      if (buf[pos] === 0x74) return spells(buf, pos, NAME_TYPE) ? TYPE : NOT_A_KEY;
      return spells(buf, pos, NAME_FROM) ? FROM : NOT_A_KEY;
    case 5:
      if (buf[pos] === 0x67) return spells(buf, pos, NAME_GROUP) ? GROUP : NOT_A_KEY;
      return spells(buf, pos, NAME_REPLY) ? REPLY : NOT_A_KEY;
    case 8:
      return spells(buf, pos, NAME_INSTANCE) ? INSTANCE : NOT_A_KEY;
    case 11:
      return spells(buf, pos, NAME_WANT_ANSWER) ? WANT_ANSWER : NOT_A_KEY;
    default:
      return NOT_A_KEY;
  }
}

function spells(buf: Buffer, pos: number, name: Buffer): boolean {
  for (let i = 0; i < name.length; i++) if (buf[pos + i] !== name[i]) return false;
  return true;
}

const NAME_TYPE = Buffer.from('type');
const NAME_FROM = Buffer.from('from');
const NAME_TO = Buffer.from('to');
const NAME_GROUP = Buffer.from('group');
const NAME_INSTANCE = Buffer.from('instance');
const NAME_SEQ = Buffer.from('seq');
const NAME_REPLY = Buffer.from('reply');
const NAME_WANT_ANSWER = Buffer.from('want_answer');
