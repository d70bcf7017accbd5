import type { Socket } from 'node:net';
import { ByteKey } from '../protocol/byte-key.js';
import { cbor, detectCodec, type Codec } from '../protocol/codec.js';
import { parseEnvelope, type Envelope } from '../protocol/envelope.js';
import { FrameDecoder, type Frame } from '../protocol/framing.js';
import type { Limits } from '../protocol/limits.js';
import type { FrameWriter } from '../protocol/writer.js';
import type { Logger } from '../src/log.js';
import { HeaderCache } from './header-cache.js';
import type { FlowControl } from './flow.js';
import type { SplicedRoute, StandingRoute } from './standing-route.js';
import { createClientWriter } from './write.js';

/** One connection to msgq: its name, its encoding and its write path. */
export class Client {
  /** Fixed by the first header the client sends. */
  codec: Codec | undefined;
  readonly writer: FrameWriter;
  readonly decoder: FrameDecoder;
  readonly log: Logger;
  readonly headers: HeaderCache;
  /** The last group send decision, while it stands for repeats of its header. */
  route: StandingRoute | undefined;
  /** The same for a header whose `from` msgq rewrites. */
  splicedRoute: SplicedRoute | undefined;
  /** This client's lname as a CBOR text: what a header's `from` is compared against, and spliced in where msgq rewrites it. */
  readonly fromKey: ByteKey;
  /** The lname's UTF-8 bytes alone, to compare a `to` against in place. */
  readonly toKey: ByteKey;
  /** Where this client's last direct send went, and its last group (see handlers/send-scanned.ts). */
  lastDestination: Client | undefined;
  readonly lastGroup: { key: ByteKey | undefined; name: string } = { key: undefined, name: '' };

  constructor(
    readonly lname: string,
    readonly socket: Socket,
    limits: Limits,
    maxQueue: number,
    log: Logger,
    flow: FlowControl,
    onFrame: (client: Client, frame: Frame) => void,
    onCut: () => void = () => {},
  ) {
    this.log = log.child({ client: lname });
    this.headers = new HeaderCache(lname);
    this.fromKey = new ByteKey(cbor.encode(lname));
    this.toKey = new ByteKey(Buffer.from(lname));
    this.writer = createClientWriter(socket, maxQueue, this.log, () => flow.congested(this), onCut);
    this.decoder = new FrameDecoder((frame) => {
      this.codec ??= detectCodec(frame.buffer.subarray(frame.headerStart));
      onFrame(this, frame);
    }, limits);
  }

  get remoteAddress(): string {
    return this.socket.remoteAddress ?? '';
  }

  send(frame: Buffer): boolean {
    return this.writer.write(frame);
  }

  /** Decodes and validates a header from this client. */
  envelope(frame: Frame): Envelope {
    const codec = this.codec!;
    if (codec === cbor) return this.headers.decode(frame);
    return parseEnvelope(codec.decodeHeader(frame.buffer, frame.headerStart, frame.bodyStart), 'client');
  }
}
