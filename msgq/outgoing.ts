import { codecFor, type Codec, type Encoding } from '../protocol/codec.js';
import type { Envelope } from '../protocol/envelope.js';
import { encodeFrame } from '../protocol/framing.js';

/**
 * One message on its way to recipients, encoded at most once per encoding and
 * shared by every recipient of that encoding. A frame from a client of the
 * same encoding whose header is already right goes out as the very bytes that
 * came in: the body is never decoded on that path.
 */
export class Outgoing {
  private frames: Partial<Record<Encoding, Buffer>> = {};
  private decodedBody: unknown;
  private bodyDecoded = false;

  constructor(
    private readonly env: Envelope,
    private readonly source: { codec: Codec; body: Buffer; raw?: Buffer } | { body: unknown },
  ) {
    if ('raw' in source && source.raw) this.frames[source.codec.encoding] = source.raw;
  }

  /** The frame for a recipient of `encoding`; throws ProtocolError if the body cannot be re-encoded. */
  frameFor(encoding: Encoding): Buffer {
    let frame = this.frames[encoding];
    if (!frame) {
      const codec = codecFor(encoding);
      const header = codec.encode(this.env);
      if ('codec' in this.source && this.source.codec.encoding === encoding) {
        frame = encodeFrame(header, this.source.body);
      } else {
        const body = this.body();
        frame = encodeFrame(header, body === undefined ? undefined : codec.encode(body));
      }
      this.frames[encoding] = frame;
    }
    return frame;
  }

  private body(): unknown {
    if (!this.bodyDecoded) {
      const source = this.source;
      if ('codec' in source) {
        this.decodedBody = source.body.length > 0 ? source.codec.decode(source.body) : undefined;
      } else {
        this.decodedBody = source.body;
      }
      this.bodyDecoded = true;
    }
    return this.decodedBody;
  }
}
