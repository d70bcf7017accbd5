import type { Socket } from 'node:net';

/** Above this many pending bytes a flush happens at once instead of once the loop's I/O callbacks are done. */
const FLUSH_AT = 64 * 1024;
/** Average slice size from which writev beats copying the slices together. */
const WRITEV_SLICE = 4096;
/** Size of the buffer a writer makes frames in (see `claim`). */
const OWN_BUFFER = 64 * 1024;

export interface WriterOptions {
  /** Bytes allowed in flight (pending here plus buffered by the socket); 0 means unbounded. */
  maxQueued?: number;
  /** Called once when a write would pass maxQueued; the frame is dropped. */
  onOverflow?: (queued: number) => void;
  /** Bytes the socket may hold after a flush before onHighWater is called. */
  highWater?: number;
  /** The socket holds more than highWater; its 'drain' event will follow. */
  onHighWater?: (queued: number) => void;
}

/**
 * The one write path of a connection. Frames written while the event loop
 * handles one round of I/O are coalesced into one socket write (a relay
 * forwarding many small frames would otherwise pay a syscall each); frames
 * that lie back to back in the same input chunk are kept as one slice, so
 * forwarding a run of them copies nothing until the flush. The bytes in
 * flight are bounded.
 */
export class FrameWriter {
  private slices: { buf: Buffer; start: number; end: number }[] = [];
  private pendingBytes = 0;
  private scheduled = false;
  private overflowed = false;
  /**
   * The socket's own buffered bytes, read once per batch: the getter is costly
   * on a path taken for every message, and the value only shrinks in between,
   * so the snapshot errs on the safe side.
   */
  private socketQueued = 0;
  /**
   * The writer's own buffer, for frames made rather than forwarded: they are
   * written into it back to back, so a batch of them is one slice and goes
   * out without being copied again. Space handed to the socket is never
   * reused; a full buffer is replaced by a new one.
   */
  private own: Buffer = Buffer.alloc(0);
  private ownView = new DataView(this.own.buffer, 0, 0);
  private ownPos = 0;
  private readonly flushTask = (): void => {
    this.scheduled = false;
    this.flush();
  };

  constructor(
    private readonly socket: Socket,
    private readonly options: WriterOptions = {},
  ) {}

  private startBatch(): boolean {
    if (!this.socket.writable) return false;
    this.socketQueued = this.socket.writableLength;
    this.scheduled = true;
    // After every I/O callback of this round, not at the next microtask: a
    // module answering the requests of one read answers between awaits, and
    // a flush per microtask checkpoint cost a syscall per answer.
    setImmediate(this.flushTask);
    return true;
  }

  /** Bytes queued here and not yet handed to the socket. */
  get pending(): number {
    return this.pendingBytes;
  }

  /** Queues a frame; false when the connection cannot take it. */
  write(frame: Buffer): boolean {
    return this.writeSlice(frame, 0, frame.length);
  }

  /** Queues buf[start, end) without copying it yet; false when the connection cannot take it. */
  writeSlice(buf: Buffer, start: number, end: number): boolean {
    if (!this.queue(buf, start, end)) return false;
    if (this.pendingBytes >= FLUSH_AT) this.flush();
    return true;
  }

  private queue(buf: Buffer, start: number, end: number): boolean {
    if (this.overflowed || (!this.scheduled && !this.startBatch())) return false;
    const length = end - start;
    const max = this.options.maxQueued ?? 0;
    const queued = this.socketQueued + this.pendingBytes + length;
    if (max > 0 && queued > max) {
      this.overflowed = true;
      this.slices = [];
      this.pendingBytes = 0;
      this.options.onOverflow?.(queued);
      return false;
    }
    const last = this.slices[this.slices.length - 1];
    if (last !== undefined && last.buf === buf && last.end === start) last.end = end;
    else this.slices.push({ buf, start, end });
    this.pendingBytes += length;
    return true;
  }

  /**
   * Room for a frame of `length` bytes in the writer's own buffer, queued as
   * if written: the caller fills claimed()[pos, pos + length) at once. The
   * position, or -1 when the connection cannot take the frame.
   */
  claim(length: number): number {
    // Flushed before, never after: the claimed bytes are not filled yet.
    if (this.pendingBytes >= FLUSH_AT) this.flush();
    if (this.ownPos + length > this.own.length) {
      this.own = Buffer.allocUnsafe(Math.max(OWN_BUFFER, length));
      this.ownView = new DataView(this.own.buffer, this.own.byteOffset, this.own.length);
      this.ownPos = 0;
    }
    const pos = this.ownPos;
    if (!this.queue(this.own, pos, pos + length)) return -1;
    this.ownPos = pos + length;
    return pos;
  }

  /** The buffer `claim` hands out positions in, and a view of it. */
  get claimed(): Buffer {
    return this.own;
  }

  get claimedView(): DataView {
    return this.ownView;
  }

  flush(): void {
    const slices = this.slices;
    if (slices.length === 0 || !this.socket.writable) return;
    const bytes = this.pendingBytes;
    this.slices = [];
    this.pendingBytes = 0;
    if (slices.length === 1) {
      const only = slices[0]!;
      this.socket.write(only.buf.subarray(only.start, only.end));
    } else if (bytes / slices.length >= WRITEV_SLICE) {
      // A few large slices (a forwarded run and a frame that was split across
      // chunks) go out as one writev instead of being copied together.
      this.socket.cork();
      for (const { buf, start, end } of slices) this.socket.write(buf.subarray(start, end));
      this.socket.uncork();
    } else {
      const out = Buffer.allocUnsafe(bytes);
      let pos = 0;
      for (const { buf, start, end } of slices) pos += buf.copy(out, pos, start, end);
      this.socket.write(out);
    }
    const queued = this.socket.writableLength;
    this.socketQueued = queued;
    if (queued > (this.options.highWater ?? Infinity)) this.options.onHighWater?.(queued);
  }
}
