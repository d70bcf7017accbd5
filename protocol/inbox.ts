import { ClosedError, TimeoutError } from './errors.js';

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

/**
 * A queue of received items with async consumers: `next({timeout})` or
 * `for await`. Items are kept in arrival order until taken; closing rejects
 * every waiter with the close reason.
 */
export class Inbox<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private head = 0;
  private waiters: Waiter<T>[] = [];
  private closedWith: Error | undefined;

  constructor(private readonly what: string) {}

  get size(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      if (waiter.timer) clearTimeout(waiter.timer);
      waiter.resolve(item);
      return;
    }
    this.items.push(item);
  }

  /** Next item; rejects with TimeoutError after `timeout` ms, ClosedError once closed and drained. */
  next(options: { timeout?: number } = {}): Promise<T> {
    if (this.head < this.items.length) return Promise.resolve(this.take());
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = { resolve, reject, timer: undefined };
      const { timeout } = options;
      if (timeout !== undefined) {
        waiter.timer = setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          reject(new TimeoutError(this.what, timeout));
        }, timeout);
      }
      this.waiters.push(waiter);
    });
  }

  private take(): T {
    const item = this.items[this.head++]!;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  close(reason: Error = new ClosedError()): void {
    if (this.closedWith) return;
    this.closedWith = reason;
    for (const waiter of this.waiters.splice(0)) {
      if (waiter.timer) clearTimeout(waiter.timer);
      waiter.reject(reason);
    }
  }

  /**
   * Items until the inbox closes with ClosedError (other close reasons are
   * thrown). Written out rather than as an async generator, which costs
   * several promise hops per item; an item already queued is handed over
   * in one settled promise, a waited-for one without a second promise.
   */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: (): Promise<IteratorResult<T>> => {
        if (this.head < this.items.length) return Promise.resolve({ value: this.take(), done: false });
        const closed = this.closedWith;
        if (closed) return closed instanceof ClosedError ? Promise.resolve(DONE) : Promise.reject(closed);
        return new Promise<IteratorResult<T>>((resolve, reject) => {
          this.waiters.push({
            resolve: (value) => resolve({ value, done: false }),
            reject: (err) => (err instanceof ClosedError ? resolve(DONE) : reject(err)),
            timer: undefined,
          });
        });
      },
      return: () => Promise.resolve(DONE),
    };
  }
}
