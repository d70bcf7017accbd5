import { cbor } from '../protocol/codec.js';
import { parseEnvelope, type Envelope } from '../protocol/envelope.js';
import { ProtocolError } from '../protocol/errors.js';
import { decodeSimpleHeader, HeaderSyntaxError, NOT_SIMPLE, readSimpleInt, type SeqSpan } from '../protocol/header-cbor.js';
import type { Frame } from '../protocol/framing.js';

/**
 * A client's headers mostly repeat: the same sender, group and flags, with
 * only seq counting up. msgq remembers the last `send` header of each CBOR
 * client and, when the next one has the same bytes outside the seq value,
 * reuses its decoded, validated envelope instead of decoding again. Only
 * headers already in their final form (from = the sender's lname, instance
 * present) are remembered, so a reused envelope is never rewritten.
 */
export class HeaderCache {
  private bytes: Buffer | undefined;
  private bytesView: DataView | undefined;
  private env: Envelope | undefined;
  private readonly span: SeqSpan = { seqStart: -1, seqEnd: -1 };

  constructor(private readonly lname: string) {}

  /** Decodes and validates a CBOR client's header, from the cache when it repeats. */
  decode(frame: Frame): Envelope {
    const { buffer, headerStart: start, bodyStart: end } = frame;
    const cached = this.match(buffer, frame.view, start, end);
    if (cached) return cached;

    const span = this.span;
    let decoded: unknown;
    try {
      decoded = decodeSimpleHeader(buffer, start, end, span);
    } catch (err) {
      if (err instanceof HeaderSyntaxError) throw new ProtocolError('ERR_DECODE', `undecodable cbor: ${err.message}`);
      throw err;
    }
    if (decoded === NOT_SIMPLE) {
      this.env = undefined;
      return parseEnvelope(cbor.decode(buffer.subarray(start, end)), 'client');
    }
    const env = parseEnvelope(decoded, 'client');
    if (env.type === 'send' && env.from === this.lname && env.instance !== undefined && span.seqStart >= 0) {
      this.bytes = Buffer.from(buffer.subarray(start, end));
      this.bytesView = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.length);
      this.span.seqStart -= start;
      this.span.seqEnd -= start;
      this.env = env;
      return env;
    }
    this.env = undefined;
    return env;
  }

  private match(buf: Buffer, view: DataView, start: number, end: number): Envelope | undefined {
    const bytes = this.bytes;
    const env = this.env;
    if (!env || !bytes || bytes.length !== end - start) return undefined;
    const { seqStart, seqEnd } = this.span;
    if (!sameBytes(view, start, this.bytesView!, 0, seqStart)) return undefined;
    if (!sameBytes(view, start + seqEnd, this.bytesView!, seqEnd, bytes.length - seqEnd)) return undefined;
    // The seq bytes must still be an unsigned or negative integer of the same width.
    const initial = buf[start + seqStart]!;
    const info = initial & 0x1f;
    const cachedInfo = bytes[seqStart]! & 0x1f;
    if (initial >> 5 > 1 || (cachedInfo < 24 ? info >= 24 : info !== cachedInfo)) return undefined;
    // Handlers finish with an envelope before the next frame is read, so the
    // remembered one is reused in place rather than copied per message.
    env.seq = readSimpleInt(buf, start + seqStart, start + seqEnd);
    return env;
  }
}

/** Compares four bytes at a time: headers are checked on every message. */
function sameBytes(a: DataView, aStart: number, b: DataView, bStart: number, length: number): boolean {
  let i = 0;
  for (; i + 4 <= length; i += 4) if (a.getUint32(aStart + i) !== b.getUint32(bStart + i)) return false;
  for (; i < length; i++) if (a.getUint8(aStart + i) !== b.getUint8(bStart + i)) return false;
  return true;
}
