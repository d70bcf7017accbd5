import { cbor } from '../protocol/codec.js';
import { parseEnvelope, parseTypedEnvelope, type Envelope } from '../protocol/envelope.js';
import { ProtocolError } from '../protocol/errors.js';
import { decodeSimpleHeader, HeaderSyntaxError, NOT_SIMPLE, readSimpleInt, type SeqSpan } from '../protocol/header-cbor.js';
import type { Frame } from '../protocol/framing.js';
import { RepeatedHeader } from '../protocol/header-repeat.js';
import type { ScannedSend } from '../protocol/header-scan.js';
import { HeaderPattern } from './header-pattern.js';

/** The candidate header was routed by the fast path: there is no envelope to reuse yet. */
const SCANNED = Symbol('scanned');
/** The candidate header was routed by the fast path with msgq's `from` spliced in: it never becomes an envelope to reuse. */
const SPLICED = Symbol('spliced');

/**
 * A client's headers mostly repeat: the same sender, group and flags, with
 * only seq counting up (and reply, in a responder's answers to one caller).
 * msgq remembers the last `send` header of each CBOR client and, when the
 * next one has the same bytes outside the seq and reply values,
 * reuses its decoded, validated envelope instead of decoding again. Only
 * headers already in their final form (from = the sender's lname, instance
 * present) are remembered, so a reused envelope is never rewritten.
 */
export class HeaderCache {
  private pattern: HeaderPattern | undefined;
  private env: Envelope | undefined;
  private readonly span: SeqSpan = { seqStart: -1, seqEnd: -1, fromStart: -1, fromEnd: -1, replyStart: -1, replyEnd: -1 };
  /** Where the last decoded header's `from` value lies in its frame's buffer; -1 when it was not decoded afresh or has none. */
  fromStart = -1;
  fromEnd = -1;
  /**
   * The last header that could be remembered, not yet seen twice. The
   * pattern is built only once the header has repeated, so a stream of
   * headers that never repeat (replies, whose reply field changes) costs
   * nothing more than the decode.
   */
  private readonly candidate = new RepeatedHeader<Envelope | typeof SCANNED | typeof SPLICED>();

  constructor(private readonly lname: string) {}

  /** Decodes and validates a CBOR client's header, from the cache when it repeats. */
  decode(frame: Frame): Envelope {
    const { buffer, headerStart: start, bodyStart: end } = frame;
    this.fromStart = this.fromEnd = -1;
    const cached = this.match(buffer, frame.view, start, end);
    if (cached) return cached;
    const value = this.candidate.value;
    const repeated = value !== SPLICED && this.candidate.repeats(buffer, frame.view, start, end);
    if (repeated && value !== SCANNED) return this.adopt(buffer, start);

    const span = this.span;
    let decoded: unknown;
    try {
      decoded = decodeSimpleHeader(buffer, start, end, span);
    } catch (err) {
      if (err instanceof HeaderSyntaxError) throw new ProtocolError('ERR_DECODE', `undecodable cbor: ${err.message}`);
      throw err;
    }
    this.env = undefined;
    this.pattern = undefined;
    this.candidate.forget();
    if (decoded === NOT_SIMPLE) return parseEnvelope(cbor.decode(buffer.subarray(start, end)), 'client');
    const env = parseTypedEnvelope(decoded as Record<string, unknown>, 'client');
    this.fromStart = span.fromStart!;
    this.fromEnd = span.fromEnd!;
    if (env.type === 'send' && env.from === this.lname && env.instance !== undefined && span.seqStart >= 0) {
      // A repeat of a header the fast path routed: it has been seen twice, so the pattern pays now.
      const { seqStart, seqEnd } = span;
      const replyStart = span.replyStart!;
      const replyEnd = span.replyEnd!;
      if (repeated) {
        const bytes = Buffer.from(buffer.subarray(start, end));
        this.keep(env, new HeaderPattern(bytes, seqStart - start, seqEnd - start, replyStart < 0 ? -1 : replyStart - start, replyEnd - start));
      } else this.candidate.remember(env, buffer, frame.view, start, end, seqStart, seqEnd, replyStart, replyEnd);
    }
    return env;
  }

  /**
   * The fast path routed a header without decoding it (see ScannedSend):
   * it replaces the remembered one, and when it was in final form it is
   * the candidate, decoded should it repeat.
   */
  scanned(frame: Frame, scan: ScannedSend, finalForm: boolean): void {
    this.env = undefined;
    this.pattern = undefined;
    if (finalForm) this.candidate.remember(SCANNED, frame.buffer, frame.view, frame.headerStart, frame.bodyStart, scan.seqStart, scan.seqEnd, scan.replyStart, scan.replyEnd);
    else this.candidate.forget();
  }

  /**
   * A header the fast path routed with the sender's lname spliced in as
   * `from`. Its pattern once it has repeated (the caller then lets the
   * decision stand for runs of it, see SplicedRoute); else it becomes the
   * candidate. Such a header is never reused as an envelope: a reused one
   * would carry the lname already and pass for a header in final form.
   */
  spliced(frame: Frame, scan: ScannedSend): HeaderPattern | undefined {
    this.env = undefined;
    this.pattern = undefined;
    const candidate = this.candidate;
    const { buffer, view, headerStart: start, bodyStart: end } = frame;
    if (candidate.value === SPLICED && candidate.repeats(buffer, view, start, end)) {
      candidate.forget();
      return new HeaderPattern(Buffer.from(candidate.bytes()), candidate.seqStart, candidate.seqEnd, candidate.replyStart, candidate.replyEnd);
    }
    candidate.remember(SPLICED, buffer, view, start, end, scan.seqStart, scan.seqEnd, scan.replyStart, scan.replyEnd);
    return undefined;
  }

  /** True when the header is the remembered one or repeats the candidate: the full path then reuses or remembers it. */
  expects(buf: Buffer, view: DataView, start: number, end: number): boolean {
    const pattern = this.pattern;
    if (pattern && pattern.length === end - start && pattern.matches(view, start)) return true;
    return this.candidate.value !== SPLICED && this.candidate.repeats(buf, view, start, end);
  }

  /** The candidate's envelope for a header that repeats it, seq and reply aside; the pattern is built now. */
  private adopt(buf: Buffer, start: number): Envelope {
    const candidate = this.candidate;
    const env = candidate.value as Envelope;
    const pattern = new HeaderPattern(Buffer.from(candidate.bytes()), candidate.seqStart, candidate.seqEnd, candidate.replyStart, candidate.replyEnd);
    this.keep(env, pattern);
    return this.refresh(env, pattern, buf, start);
  }

  private keep(env: Envelope, pattern: HeaderPattern): void {
    this.candidate.forget();
    this.pattern = pattern;
    this.env = env;
  }

  /** The remembered envelope with this header's seq and reply read in. */
  private refresh(env: Envelope, pattern: HeaderPattern, buf: Buffer, start: number): Envelope {
    env.seq = readSimpleInt(buf, start + pattern.seqStart, start + pattern.seqEnd);
    if (pattern.replyStart >= 0) env.reply = readSimpleInt(buf, start + pattern.replyStart, start + pattern.replyEnd);
    return env;
  }

  /** The envelope of the remembered header, if there is one. */
  get current(): Envelope | undefined {
    return this.env;
  }

  /**
   * Where the run of whole frames from `pos` ends when each carries the
   * remembered header, seq aside: `pos` itself when the first one does not.
   * A frame over `maxFrame` ends the run, so the decoder refuses it as usual.
   */
  runEnd(view: DataView, pos: number, end: number, maxFrame: number): number {
    return this.env && this.pattern ? this.pattern.scan(view, pos, end, maxFrame) : pos;
  }

  private match(buf: Buffer, view: DataView, start: number, end: number): Envelope | undefined {
    const env = this.env;
    const pattern = this.pattern;
    if (!env || !pattern || pattern.length !== end - start || !pattern.matches(view, start)) return undefined;
    // Handlers finish with an envelope before the next frame is read, so the
    // remembered one is reused in place rather than copied per message.
    return this.refresh(env, pattern, buf, start);
  }
}
