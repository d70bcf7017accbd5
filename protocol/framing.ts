import { ProtocolError } from './errors.js';
import { DEFAULT_LIMITS, type Limits } from './limits.js';

/**
 * BIND 10 framing:
 *   uint32 BE total (= 2 + header_len + body_len) | uint16 BE header_len | header | body
 * Pure: bytes in, frames out; no socket.
 */

export const LENGTH_BYTES = 4;
export const PREFIX_BYTES = 6;

/** One decoded frame. All three views share the input's memory (no copy). */
export interface Frame {
  /** The whole frame including both length fields: forwardable as is. */
  readonly raw: Buffer;
  readonly header: Buffer;
  /** Empty when the frame has no body. */
  readonly body: Buffer;
}

export type FrameHandler = (frame: Frame) => void;

export function encodeFrame(header: Uint8Array, body?: Uint8Array): Buffer {
  const bodyLen = body ? body.length : 0;
  const out = Buffer.allocUnsafe(PREFIX_BYTES + header.length + bodyLen);
  out.writeUInt32BE(2 + header.length + bodyLen, 0);
  out.writeUInt16BE(header.length, 4);
  out.set(header, PREFIX_BYTES);
  if (body && bodyLen > 0) out.set(body, PREFIX_BYTES + header.length);
  return out;
}

/**
 * Streaming decoder: copes with frames split across chunks and many frames in
 * one chunk. Lengths are checked as soon as their bytes arrive, so an
 * oversized frame is refused before its body is buffered.
 */
export class FrameDecoder {
  private readonly limits: Limits;
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  /** Bytes the frame at the head of `buffered` needs in all, once known. */
  private needed = 0;

  constructor(
    private readonly onFrame: FrameHandler,
    limits: Partial<Limits> = {},
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Bytes held waiting for the rest of a frame. */
  get pending(): number {
    return this.bufferedBytes;
  }

  /** Feed a chunk; calls onFrame for each complete frame. Throws ProtocolError. */
  push(chunk: Buffer): void {
    if (this.bufferedBytes > 0) {
      this.buffered.push(chunk);
      this.bufferedBytes += chunk.length;
      // Joining only once the frame is complete keeps a large frame arriving
      // in many chunks linear instead of quadratic.
      if (this.bufferedBytes < Math.max(this.needed, PREFIX_BYTES)) return;
      chunk = Buffer.concat(this.buffered, this.bufferedBytes);
      this.buffered = [];
      this.bufferedBytes = 0;
    }
    this.needed = 0;
    let pos = 0;
    const end = chunk.length;
    while (end - pos >= PREFIX_BYTES) {
      const total = chunk.readUInt32BE(pos);
      const headerLen = chunk.readUInt16BE(pos + LENGTH_BYTES);
      this.check(total, headerLen);
      const frameEnd = pos + LENGTH_BYTES + total;
      if (frameEnd > end) {
        this.needed = LENGTH_BYTES + total;
        break;
      }
      const headerStart = pos + PREFIX_BYTES;
      const bodyStart = headerStart + headerLen;
      this.onFrame({
        raw: chunk.subarray(pos, frameEnd),
        header: chunk.subarray(headerStart, bodyStart),
        body: chunk.subarray(bodyStart, frameEnd),
      });
      pos = frameEnd;
    }
    if (pos < end) {
      if (end - pos >= LENGTH_BYTES && this.needed === 0) this.checkTotal(chunk.readUInt32BE(pos));
      const rest = chunk.subarray(pos);
      this.buffered.push(rest);
      this.bufferedBytes = rest.length;
    }
  }

  private checkTotal(total: number): void {
    if (total < 3) {
      throw new ProtocolError('ERR_FRAME_LENGTH', `frame length ${total} is too short for a header`);
    }
    if (total > this.limits.maxFrame) {
      throw new ProtocolError(
        'ERR_FRAME_TOO_LARGE',
        `frame of ${total} bytes exceeds the limit of ${this.limits.maxFrame}`,
      );
    }
  }

  private check(total: number, headerLen: number): void {
    this.checkTotal(total);
    if (headerLen === 0) throw new ProtocolError('ERR_HEADER_LENGTH', 'header length is 0');
    if (headerLen > total - 2) {
      throw new ProtocolError(
        'ERR_HEADER_LENGTH',
        `header length ${headerLen} exceeds the frame's ${total - 2} bytes`,
      );
    }
    if (headerLen > this.limits.maxHeader) {
      throw new ProtocolError(
        'ERR_HEADER_TOO_LARGE',
        `header of ${headerLen} bytes exceeds the limit of ${this.limits.maxHeader}`,
      );
    }
  }
}
