import type { Socket } from 'node:net';

/** Above this many pending bytes a flush happens at once instead of at the end of the tick. */
const FLUSH_AT = 64 * 1024;

export interface WriterOptions {
  /** Bytes allowed in flight (pending here plus buffered by the socket); 0 means unbounded. */
  maxQueued?: number;
  /** Called once when a write would pass maxQueued; the frame is dropped. */
  onOverflow?: (queued: number) => void;
}

/**
 * The one write path of a connection. Frames written in the same tick are
 * coalesced into one socket write (a relay forwarding many small frames would
 * otherwise pay a syscall each), and the bytes in flight are bounded.
 */
export class FrameWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private scheduled = false;
  private overflowed = false;
  private readonly flushTask = (): void => this.flush();

  constructor(
    private readonly socket: Socket,
    private readonly options: WriterOptions = {},
  ) {}

  /** Bytes not yet handed to the kernel. */
  get queued(): number {
    return this.socket.writableLength + this.pendingBytes;
  }

  /** Queues a frame; false when the connection cannot take it. */
  write(frame: Buffer): boolean {
    if (this.overflowed || !this.socket.writable) return false;
    const max = this.options.maxQueued ?? 0;
    if (max > 0 && this.queued + frame.length > max) {
      this.overflowed = true;
      const queued = this.queued + frame.length;
      this.pending = [];
      this.pendingBytes = 0;
      this.options.onOverflow?.(queued);
      return false;
    }
    this.pending.push(frame);
    this.pendingBytes += frame.length;
    if (this.pendingBytes >= FLUSH_AT) {
      this.flush();
    } else if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.flushTask);
    }
    return true;
  }

  flush(): void {
    this.scheduled = false;
    const count = this.pending.length;
    if (count === 0 || !this.socket.writable) return;
    const out = count === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.socket.write(out);
  }
}
