import type { FrameWriter } from './writer.js';

/**
 * A session's sends to one destination differ only in seq (and a reply's
 * in the seq it answers): the CBOR header up to seq is built once per
 * destination and lname, and each send appends its seq (and reply) and the
 * body in one allocation. Plain CBOR, the very bytes cbor-x
 * would make for the same map, so any peer reads them.
 */

/** Destinations remembered at once; a session talking to more starts over. */
const MAX_DESTINATIONS = 256;
/** seq values up to this fit a 32-bit CBOR head; larger ones go the general way. */
const MAX_FAST_SEQ = 0xffffffff;

function textBytes(value: string): Buffer {
  const utf8 = Buffer.from(value, 'utf8');
  const n = utf8.length;
  const head =
    n < 24
      ? Buffer.from([0x60 | n])
      : n < 0x100
        ? Buffer.from([0x78, n])
        : n < 0x10000
          ? Buffer.from([0x79, n >> 8, n & 0xff])
          : Buffer.from([0x7a, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([head, utf8]);
}

const SEQ_KEY = textBytes('seq');
const REPLY_KEY = textBytes('reply');

/** The header of a `send` up to its seq value: map head, every field, and the key "seq" (a reply's "reply" follows seq). */
function prefixFor(from: string, to: string, group: string, instance: string, wantAnswer: boolean, isReply: boolean): Buffer {
  const fields: Buffer[] = [];
  const field = (key: string, value: Buffer): void => void fields.push(textBytes(key), value);
  field('type', textBytes('send'));
  field('from', textBytes(from));
  field('to', textBytes(to));
  field('group', textBytes(group));
  field('instance', textBytes(instance));
  if (wantAnswer) field('want_answer', Buffer.from([0xf5]));
  const count = fields.length / 2 + (isReply ? 2 : 1);
  return Buffer.concat([Buffer.from([0xa0 | count]), ...fields, SEQ_KEY]);
}

function uintLength(seq: number): number {
  return seq < 24 ? 1 : seq < 0x100 ? 2 : seq < 0x10000 ? 3 : 5;
}

function writeUint(out: Buffer, pos: number, seq: number): void {
  if (seq < 24) out[pos] = seq;
  else if (seq < 0x100) {
    out[pos] = 0x18;
    out[pos + 1] = seq;
  } else if (seq < 0x10000) {
    out[pos] = 0x19;
    out.writeUInt16BE(seq, pos + 1);
  } else {
    out[pos] = 0x1a;
    out.writeUInt32BE(seq, pos + 1);
  }
}

export class SendHeaders {
  private readonly prefixes = new Map<string, Buffer>();
  private lname = '';
  /** The last destination's fields and prefix: a stream or a caller repeats them, and then no key is made. */
  private lastTo = '';
  private lastGroup = '';
  private lastInstance = '';
  private lastFlags = -1;
  private lastPrefix: Buffer | undefined;
  /** The layout of the frame `measure` last sized. */
  private prefix: Buffer = SEQ_KEY;
  private seq = 0;
  private reply: number | undefined;
  private headerLength = 0;

  /**
   * The whole frame of a send, or undefined when it does not fit `maxHeader`
   * and `maxFrame` or its seq is too large: the caller then takes the
   * general path, which also says what is wrong.
   */
  frame(
    from: string,
    to: string,
    group: string,
    instance: string,
    wantAnswer: boolean,
    seq: number,
    /** The seq a reply answers; undefined for anything else. */
    reply: number | undefined,
    body: Buffer | undefined,
    maxHeader: number,
    maxFrame: number,
  ): Buffer | undefined {
    const length = this.measure(from, to, group, instance, wantAnswer, seq, reply, body, maxHeader, maxFrame);
    if (length < 0) return undefined;
    const out = Buffer.allocUnsafe(length);
    this.fill(out, 0, body);
    return out;
  }

  /**
   * frame(), made straight in `writer`'s own buffer: no frame allocated and
   * none copied again when the writer flushes. False when the send must go
   * the general way; true when written, or dropped because the connection
   * can take nothing (as a write there would be).
   */
  writeTo(
    writer: FrameWriter,
    from: string,
    to: string,
    group: string,
    instance: string,
    wantAnswer: boolean,
    seq: number,
    reply: number | undefined,
    body: Buffer | undefined,
    maxHeader: number,
    maxFrame: number,
  ): boolean {
    const length = this.measure(from, to, group, instance, wantAnswer, seq, reply, body, maxHeader, maxFrame);
    if (length < 0) return false;
    const pos = writer.claim(length);
    if (pos >= 0) this.fill(writer.claimed, pos, body);
    return true;
  }

  /** The frame's length with its layout noted for `fill`, or -1 when the general path must make it. */
  private measure(
    from: string,
    to: string,
    group: string,
    instance: string,
    wantAnswer: boolean,
    seq: number,
    reply: number | undefined,
    body: Buffer | undefined,
    maxHeader: number,
    maxFrame: number,
  ): number {
    if (seq > MAX_FAST_SEQ || (reply !== undefined && !(Number.isInteger(reply) && reply >= 0 && reply <= MAX_FAST_SEQ))) return -1;
    if (from !== this.lname) {
      this.prefixes.clear();
      this.lastPrefix = undefined;
      this.lname = from;
    }
    const flags = (wantAnswer ? 1 : 0) | (reply === undefined ? 0 : 2);
    let prefix = this.lastPrefix;
    if (prefix === undefined || to !== this.lastTo || group !== this.lastGroup || instance !== this.lastInstance || flags !== this.lastFlags) {
      prefix = this.prefixFor(from, to, group, instance, wantAnswer, reply !== undefined);
      this.lastTo = to;
      this.lastGroup = group;
      this.lastInstance = instance;
      this.lastFlags = flags;
      this.lastPrefix = prefix;
    }
    const replyLength = reply === undefined ? 0 : REPLY_KEY.length + uintLength(reply);
    const headerLength = prefix.length + uintLength(seq) + replyLength;
    const bodyLength = body === undefined ? 0 : body.length;
    // The frame's header length field has 16 bits, whatever the limit says.
    if (headerLength > Math.min(maxHeader, 0xffff) || 2 + headerLength + bodyLength > maxFrame) return -1;
    this.prefix = prefix;
    this.seq = seq;
    this.reply = reply;
    this.headerLength = headerLength;
    return 6 + headerLength + bodyLength;
  }

  private prefixFor(from: string, to: string, group: string, instance: string, wantAnswer: boolean, isReply: boolean): Buffer {
    const key = `${to}\0${group}\0${instance}\0${wantAnswer ? 1 : 0}${isReply ? 1 : 0}`;
    let prefix = this.prefixes.get(key);
    if (prefix === undefined) {
      if (this.prefixes.size >= MAX_DESTINATIONS) this.prefixes.clear();
      prefix = prefixFor(from, to, group, instance, wantAnswer, isReply);
      this.prefixes.set(key, prefix);
    }
    return prefix;
  }

  /** Writes the frame `measure` sized at out[pos...]. */
  private fill(out: Buffer, pos: number, body: Buffer | undefined): void {
    const { prefix, seq, reply, headerLength } = this;
    const bodyLength = body === undefined ? 0 : body.length;
    out.writeUInt32BE(2 + headerLength + bodyLength, pos);
    out.writeUInt16BE(headerLength, pos + 4);
    prefix.copy(out, pos + 6);
    writeUint(out, pos + 6 + prefix.length, seq);
    if (reply !== undefined) {
      const at = pos + 6 + prefix.length + uintLength(seq);
      REPLY_KEY.copy(out, at);
      writeUint(out, at + REPLY_KEY.length, reply);
    }
    if (body !== undefined) out.set(body, pos + 6 + headerLength);
  }
}
