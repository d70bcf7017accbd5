import { TimeoutError } from './errors.js';

interface Pending<T> {
  resolve: (value: T) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** How many timed-out seqs are remembered so their late replies can be dropped. */
const ABANDONED_KEPT = 1024;

/**
 * Many requests in flight over one connection, matched to replies by seq.
 * A reply that arrives after its request timed out is recognised and dropped
 * rather than mistaken for a new message.
 */
export class RequestMux<T> {
  private pending = new Map<number, Pending<T>>();
  private abandoned = new Set<number>();

  get size(): number {
    return this.pending.size;
  }

  /** Waits for the reply to `seq`; rejects with TimeoutError after `timeout` ms. */
  wait(seq: number, what: string, timeout: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // The error is made only when the time is up: capturing a stack for
      // every request cost a request/reply round trip several percent, and
      // the message names what timed out.
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        this.abandon(seq);
        reject(new TimeoutError(what, timeout));
      }, timeout);
      this.pending.set(seq, { resolve, reject, timer });
    });
  }

  /** Hands a reply to its request; false when no request waits for it. */
  resolve(seq: number, value: T): boolean {
    const entry = this.pending.get(seq);
    if (!entry) return false;
    this.pending.delete(seq);
    clearTimeout(entry.timer);
    entry.resolve(value);
    return true;
  }

  /** True for a reply whose request already gave up: drop it. */
  isAbandoned(seq: number): boolean {
    return this.abandoned.delete(seq);
  }

  failAll(reason: Error): void {
    for (const entry of this.pending.values()) {
      clearTimeout(entry.timer);
      entry.reject(reason);
    }
    this.pending.clear();
  }

  private abandon(seq: number): void {
    this.abandoned.add(seq);
    if (this.abandoned.size > ABANDONED_KEPT) {
      const oldest = this.abandoned.values().next().value;
      if (oldest !== undefined) this.abandoned.delete(oldest);
    }
  }
}
