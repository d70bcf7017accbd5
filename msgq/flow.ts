import type { Client } from './client.js';

interface Stall {
  /** When the reader's socket first held more than the high-water mark. */
  readonly since: number;
  /** Senders paused until the reader drains. */
  readonly senders: Set<Client>;
  timer?: NodeJS.Timeout;
}

/**
 * Backpressure from readers to senders. When a reader's socket holds more
 * than the high-water mark after msgq wrote to it, msgq stops reading from
 * the client whose bytes caused the write until the reader drains, so a
 * producer cannot outrun a busy but healthy consumer into the queue limit.
 * A reader that has not drained within the grace period is taken for stuck:
 * senders go on regardless and the queue limit cuts it, so one stuck reader
 * holds the bus up for at most the grace period.
 */
export class FlowControl {
  /** The client whose bytes msgq is handling now, until the microtasks after its chunk have run. */
  private sender: Client | undefined;
  private readonly stalls = new Map<Client, Stall>();
  /** Per paused sender, how many stalled readers hold it. */
  private readonly holds = new Map<Client, number>();
  private readonly clearSender = (): void => {
    this.sender = undefined;
  };

  constructor(private readonly graceMs: number) {}

  /** Writes from now on are charged to `sender`, until `handled`. */
  handling(sender: Client): void {
    this.sender = sender;
  }

  /**
   * The sender's chunk is handled. Writers flush in microtasks queued while
   * it was, so the charge ends only after those have run.
   */
  handled(): void {
    queueMicrotask(this.clearSender);
  }

  /** `reader`'s socket holds more than the high-water mark after a flush. */
  congested(reader: Client): void {
    const now = performance.now();
    let stall = this.stalls.get(reader);
    if (!stall) {
      stall = { since: now, senders: new Set() };
      this.stalls.set(reader, stall);
      reader.socket.once('drain', () => this.end(reader));
      reader.log.debug({ queued: reader.socket.writableLength }, 'reader past the high-water mark: holding its senders back');
    }
    const sender = this.sender;
    if (sender === undefined || sender === reader || stall.senders.has(sender) || sender.socket.destroyed) return;
    const left = this.graceMs - (now - stall.since);
    if (left <= 0) return;
    stall.senders.add(sender);
    this.holds.set(sender, (this.holds.get(sender) ?? 0) + 1);
    sender.socket.pause();
    const held = stall;
    stall.timer ??= setTimeout(() => {
      reader.log.warn(
        { graceMs: this.graceMs, queued: reader.socket.writableLength },
        'reader has not drained within the stall grace: its senders go on, the queue limit applies',
      );
      this.release(held);
    }, left);
  }

  /** A client that is gone neither waits nor holds anyone up. */
  forget(client: Client): void {
    this.end(client);
    this.holds.delete(client);
  }

  private end(reader: Client): void {
    const stall = this.stalls.get(reader);
    if (!stall) return;
    this.stalls.delete(reader);
    if (stall.senders.size > 0) reader.log.debug({ senders: stall.senders.size }, 'reader drained: its senders go on');
    this.release(stall);
  }

  private release(stall: Stall): void {
    clearTimeout(stall.timer);
    stall.timer = undefined;
    for (const sender of stall.senders) {
      const holds = this.holds.get(sender);
      if (holds === undefined) continue;
      if (holds > 1) {
        this.holds.set(sender, holds - 1);
      } else {
        this.holds.delete(sender);
        sender.socket.resume();
      }
    }
    stall.senders.clear();
  }
}
