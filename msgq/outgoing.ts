import { codecFor, type Codec, type Encoding } from '../protocol/codec.js';
import type { Envelope } from '../protocol/envelope.js';
import { encodeFrame, type Frame } from '../protocol/framing.js';
import type { FrameWriter } from '../protocol/writer.js';

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
