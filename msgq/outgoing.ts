import { codecFor, type Codec, type Encoding } from '../protocol/codec.js';
import type { Envelope } from '../protocol/envelope.js';
import { encodeFrame, LENGTH_BYTES, PREFIX_BYTES, type Frame } from '../protocol/framing.js';
import type { FrameWriter } from '../protocol/writer.js';
import type { ByteKey } from '../protocol/byte-key.js';

/**
 * A message that cannot be forwarded byte for byte: one msgq makes, one whose
 * header msgq rewrote, or one crossing between CBOR and JSON. Encoded at most
 * once per encoding, shared by every recipient of that encoding. Made and
 * used within one handler call: it reads the decoder's Frame lazily.
 */
export class Outgoing {
  private frames: Partial<Record<Encoding, Buffer>> = {};
  private decodedBody: unknown;
  private bodyDecoded = false;

  private constructor(
    private readonly env: Envelope,
    private readonly codec: Codec | undefined,
    private readonly frame: Frame | undefined,
  ) {}

  /** A client's message with `env` as its header, the body taken from `frame`. */
  static forward(env: Envelope, codec: Codec, frame: Frame): Outgoing {
    return new Outgoing(env, codec, frame);
  }

  /**
   * A client's message whose header differs from what it sent only in the
   * `from` value, at buffer[fromStart, fromEnd): for recipients of the
   * sender's encoding the frame is the input bytes with `from` (the
   * encoded lname) put in its place, no encoding at all.
   */
  static withFrom(env: Envelope, codec: Codec, frame: Frame, fromStart: number, fromEnd: number, from: ByteKey): Outgoing {
    const message = new Outgoing(env, codec, frame);
    message.frames[codec.encoding] = spliceFrom(frame, fromStart, fromEnd, from);
    return message;
  }

  /** A message msgq itself makes. */
  static create(env: Envelope, body: unknown): Outgoing {
    const message = new Outgoing(env, undefined, undefined);
    message.decodedBody = body;
    message.bodyDecoded = true;
    return message;
  }

  /** Queues the message on a recipient's writer; false when it cannot take it. */
  sendTo(writer: FrameWriter, encoding: Encoding): boolean {
    return writer.write(this.frameFor(encoding));
  }

  /** Throws ProtocolError when the body cannot be decoded for re-encoding. */
  private frameFor(encoding: Encoding): Buffer {
    let out = this.frames[encoding];
    if (!out) {
      const codec = codecFor(encoding);
      const header = codec.encode(this.env);
      if (this.frame && this.codec!.encoding === encoding) {
        out = encodeFrame(header, this.frame.body);
      } else {
        const body = this.body();
        out = encodeFrame(header, body === undefined ? undefined : codec.encode(body));
      }
      this.frames[encoding] = out;
    }
    return out;
  }

  private body(): unknown {
    if (!this.bodyDecoded) {
      const frame = this.frame!;
      this.decodedBody = frame.bodyLength > 0 ? this.codec!.decode(frame.body) : undefined;
      this.bodyDecoded = true;
    }
    return this.decodedBody;
  }
}

/**
 * Writes into out[pos, pos + length) (`view` a DataView of `out`) the frame
 * buffer[start, end) with buffer[fromStart, fromEnd) in its header replaced
 * by `from`; `length` is the new frame's.
 */
function writeSpliced(
  out: Buffer,
  view: DataView,
  pos: number,
  length: number,
  buffer: Buffer,
  input: DataView,
  headerStart: number,
  bodyStart: number,
  end: number,
  fromStart: number,
  fromEnd: number,
  from: ByteKey,
): void {
  const delta = from.length - (fromEnd - fromStart);
  view.setUint32(pos, length - LENGTH_BYTES);
  view.setUint16(pos + LENGTH_BYTES, bodyStart - headerStart + delta);
  let at = pos + PREFIX_BYTES;
  // What comes before `from` is a dozen bytes or so: words are cheaper than a copy call.
  let i = headerStart;
  for (; i + 4 <= fromStart; i += 4, at += 4) view.setInt32(at, input.getInt32(i, true), true);
  for (; i < fromStart; i++, at++) view.setUint8(at, input.getUint8(i));
  from.writeAt(view, at);
  // Uint8Array#set on a plain view: half the cost of Buffer#copy's checks for a frame this size.
  out.set(new Uint8Array(buffer.buffer, buffer.byteOffset + fromEnd, end - fromEnd), at + from.length);
}

/** The frame with buffer[fromStart, fromEnd) in its header replaced by `from`: a new frame, the input untouched. */
function spliceFrom(frame: Frame, fromStart: number, fromEnd: number, from: ByteKey): Buffer {
  const length = frame.end - frame.start + from.length - (fromEnd - fromStart);
  const out = Buffer.allocUnsafe(length);
  const view = new DataView(out.buffer, out.byteOffset, length);
  writeSpliced(out, view, 0, length, frame.buffer, frame.view, frame.headerStart, frame.bodyStart, frame.end, fromStart, fromEnd, from);
  return out;
}

/**
 * Queues the frame with buffer[fromStart, fromEnd) in its header replaced by
 * `from`, made straight in the writer's own buffer: no frame allocated per
 * message and none copied again at the flush. False when the writer cannot
 * take it.
 */
export function spliceInto(writer: FrameWriter, frame: Frame, fromStart: number, fromEnd: number, from: ByteKey): boolean {
  return spliceAt(writer, frame.buffer, frame.view, frame.start, frame.headerStart, frame.bodyStart, frame.end, fromStart, fromEnd, from);
}

/** spliceInto for the frame buffer[start, end) with its header at [headerStart, bodyStart), `input` a view of `buffer`. */
export function spliceAt(
  writer: FrameWriter,
  buffer: Buffer,
  input: DataView,
  start: number,
  headerStart: number,
  bodyStart: number,
  end: number,
  fromStart: number,
  fromEnd: number,
  from: ByteKey,
): boolean {
  const length = end - start + from.length - (fromEnd - fromStart);
  const pos = writer.claim(length);
  if (pos < 0) return false;
  writeSpliced(writer.claimed, writer.claimedView, pos, length, buffer, input, headerStart, bodyStart, end, fromStart, fromEnd, from);
  return true;
}
