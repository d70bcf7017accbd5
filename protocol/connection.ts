import type { Socket } from 'node:net';
import { ClosedError } from './errors.js';
import { FrameDecoder, type Frame } from './framing.js';
import type { Limits } from './limits.js';
import { FrameWriter } from './writer.js';

/**
 * One socket to msgq: frames in, frames out, and one end. A Session lives
 * through many of these when msgq restarts; each ends exactly once, with
 * the reason (undefined when we closed it ourselves).
 */
export class Connection {
  readonly writer: FrameWriter;
  private readonly decoder: FrameDecoder;
  private endedWith: Error | undefined | null = null;
  private readonly onEnd: (reason: Error | undefined) => void;
  /** Resolves once the socket is fully closed. */
  readonly closed: Promise<void>;

  constructor(
    readonly socket: Socket,
    limits: Limits,
    onFrame: (frame: Frame) => void,
    onEnd: (reason: Error | undefined) => void,
  ) {
    this.onEnd = onEnd;
    this.writer = new FrameWriter(socket);
    this.decoder = new FrameDecoder(onFrame, limits);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      try {
        this.decoder.push(chunk);
      } catch (err) {
        this.end(err as Error);
      }
    });
    socket.on('error', (err) => this.end(new ClosedError(`connection to msgq failed: ${err.message}`, { cause: err })));
    socket.on('close', () => this.end(new ClosedError('connection to msgq lost')));
  }

  get isOpen(): boolean {
    return this.endedWith === null;
  }

  write(frame: Buffer): void {
    this.writer.write(frame);
  }

  /** Bytes written that have not yet left this process. */
  get buffered(): number {
    return this.writer.pending + this.socket.writableLength;
  }

  /** Sends what is queued, then closes; a peer that does not close its side in time is cut. */
  close(): void {
    if (!this.isOpen) return;
    this.writer.flush();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.end(undefined);
  }

  private end(reason: Error | undefined): void {
    if (!this.isOpen) return;
    this.endedWith = reason;
    if (reason) this.socket.destroy();
    this.onEnd(reason);
  }
}
