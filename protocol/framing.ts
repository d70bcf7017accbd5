import { ProtocolError } from './errors.js';
import { DEFAULT_LIMITS, type Limits } from './limits.js';

/**
 * BIND 10 framing:
 *   uint32 BE total (= 2 + header_len + body_len) | uint16 BE header_len | header | body
 * Pure: bytes in, frames out; no socket.
 */

const EMPTY = Buffer.alloc(0);
export const LENGTH_BYTES = 4;
export const PREFIX_BYTES = 6;

/**
 * One decoded frame: offsets into the input chunk. Views are made only when
 * asked for and share the chunk's memory (no copy). A decoder hands the same
 * Frame object to every call of its handler, so a handler that keeps anything
 * past its return keeps a copy, never the Frame: msgq decodes millions of
 * frames a second and an object per frame showed in its profile.
 */
export class Frame {
  buffer: Buffer = EMPTY;
  /** A DataView of `buffer`, made once per chunk, for readers that compare or read words. */
  view: DataView = new DataView(EMPTY.buffer, 0, 0);
  start = 0;
  headerStart = 0;
  bodyStart = 0;
  end = 0;
  /** Where decoding goes on once the handler returns; see `takeThrough`. */
  resumeAt = 0;

  set(buffer: Buffer, view: DataView, start: number, headerStart: number, bodyStart: number, end: number): this {
    this.buffer = buffer;
    this.view = view;
    this.start = start;
    this.headerStart = headerStart;
    this.bodyStart = bodyStart;
    this.end = end;
    this.resumeAt = end;
    return this;
  }

  /**
   * For a handler that dealt with the whole frames right after this one as
   * well, checked against the same limits: decoding goes on at `offset` in
   * `buffer`. msgq forwards runs of frames in one go so.
   */
  takeThrough(offset: number): void {
    this.resumeAt = offset;
  }

  /** The whole frame including both length fields: forwardable as is. */
  get raw(): Buffer {
    return this.buffer.subarray(this.start, this.end);
  }

  get header(): Buffer {
    return this.buffer.subarray(this.headerStart, this.bodyStart);
  }

  /** Empty when the frame has no body. */
  get body(): Buffer {
    return this.buffer.subarray(this.bodyStart, this.end);
  }

  get bodyLength(): number {
    return this.end - this.bodyStart;
  }
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
  /** Pieces of a frame begun in earlier chunks. */
  private held: Buffer[] = [];
  private bufferedBytes = 0;
  /** Bytes the held frame needs in all, once its prefix is known. */
  private needed = 0;
  private readonly frame = new Frame();
  private readonly maxFrame: number;
  private readonly maxHeader: number;

  constructor(
    private readonly onFrame: FrameHandler,
    limits: Partial<Limits> = {},
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    this.maxFrame = this.limits.maxFrame;
    this.maxHeader = this.limits.maxHeader;
  }

  /** Bytes held waiting for the rest of a frame. */
  get pending(): number {
    return this.bufferedBytes;
  }

  /** Feed a chunk; calls onFrame for each complete frame. Throws ProtocolError. */
  push(chunk: Buffer): void {
    let pos = 0;
    if (this.bufferedBytes > 0) {
      pos = this.completeHeld(chunk);
      if (pos < 0) return;
    }
    const end = chunk.length;
    const view = new DataView(chunk.buffer, chunk.byteOffset, end);
    while (end - pos >= PREFIX_BYTES) {
      const total = view.getUint32(pos);
      const headerLen = view.getUint16(pos + LENGTH_BYTES);
      // One combined test on the hot path; check() says which rule broke.
      if (total > this.maxFrame || headerLen === 0 || headerLen > total - 2 || headerLen > this.maxHeader) {
        this.check(total, headerLen);
      }
      const frameEnd = pos + LENGTH_BYTES + total;
      if (frameEnd > end) {
        this.needed = LENGTH_BYTES + total;
        break;
      }
      const headerStart = pos + PREFIX_BYTES;
      const frame = this.frame.set(chunk, view, pos, headerStart, headerStart + headerLen, frameEnd);
      this.onFrame(frame);
      pos = frame.resumeAt;
    }
    if (pos < end) {
      if (end - pos >= LENGTH_BYTES && this.needed === 0) this.checkTotal(chunk.readUInt32BE(pos));
      this.hold(chunk.subarray(pos));
    }
  }

  private hold(piece: Buffer): void {
    this.held.push(piece);
    this.bufferedBytes += piece.length;
  }

  /**
   * Completes the frame begun in earlier chunks with the head of `chunk`.
   * Only that one frame is copied together; the rest of the chunk is parsed
   * in place. Returns where the rest begins, or -1 when `chunk` was all taken.
   */
  private completeHeld(chunk: Buffer): number {
    let taken = 0;
    if (this.needed === 0) {
      const want = PREFIX_BYTES - this.bufferedBytes;
      if (chunk.length < want) {
        this.hold(chunk);
        if (this.bufferedBytes >= LENGTH_BYTES) this.checkTotal(Buffer.concat(this.held).readUInt32BE(0));
        return -1;
      }
      this.hold(chunk.subarray(0, want));
      taken = want;
      const prefix = Buffer.concat(this.held, PREFIX_BYTES);
      this.held = [prefix];
      const total = prefix.readUInt32BE(0);
      this.check(total, prefix.readUInt16BE(LENGTH_BYTES));
      this.needed = LENGTH_BYTES + total;
    }
    const missing = this.needed - this.bufferedBytes;
    if (chunk.length - taken < missing) {
      this.hold(taken === 0 ? chunk : chunk.subarray(taken));
      return -1;
    }
    this.held.push(chunk.subarray(taken, taken + missing));
    const frame = Buffer.concat(this.held, this.needed);
    this.held = [];
    this.bufferedBytes = 0;
    this.needed = 0;
    const view = new DataView(frame.buffer, frame.byteOffset, frame.length);
    this.onFrame(this.frame.set(frame, view, 0, PREFIX_BYTES, PREFIX_BYTES + view.getUint16(LENGTH_BYTES), frame.length));
    return taken + missing;
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
