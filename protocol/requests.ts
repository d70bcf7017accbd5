import { TimeoutError } from './errors.js';

interface Pending<T> {
  resolve: (value: T) => void;
  reject: (err: Error) => void;
  /** performance.now() past which the request has timed out. */
  deadline: number;
  timeout: number;
  /** What is awaited, in two parts joined only if the time runs out: no string made per request. */
  what: string;
  whom: string;
}

/** How many timed-out seqs are remembered so their late replies can be dropped. */
const ABANDONED_KEPT = 1024;
/** Timers may fire this much before the deadline they were set for (millisecond rounding). */
const EARLY_MS = 1;

/**
 * Many requests in flight over one connection, matched to replies by seq.
 * A reply that arrives after its request timed out is recognised and dropped
 * rather than mistaken for a new message.
 *
 * One timer serves every request: it is set for the earliest deadline and,
 * when it fires, fails what has expired and is set for the next one. A
 * timer per request (made and cleared for each round trip) cost a Timeout
 * and a timer list per request and showed in the round-trip latency.
 * While nothing waits the timer does not hold the process open.
 */
export class RequestMux<T> {
  private pending = new Map<number, Pending<T>>();
  private abandoned = new Set<number>();
  private timer: NodeJS.Timeout | undefined;
  /** The deadline the timer is set for; Infinity when there is no timer. */
  private armedFor = Infinity;
  private readonly expire = (): void => this.onTimer();

  get size(): number {
    return this.pending.size;
  }

  /** Waits for the reply to `seq`; rejects with TimeoutError (waiting for `what` + `whom`) after `timeout` ms. */
  wait(seq: number, timeout: number, what: string, whom = ''): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const deadline = performance.now() + timeout;
      this.pending.set(seq, { resolve, reject, deadline, timeout, what, whom });
      if (deadline < this.armedFor) this.arm(deadline);
      else if (this.pending.size === 1) this.timer!.ref();
    });
  }

  /** Hands a reply to its request; false when no request waits for it. */
  resolve(seq: number, value: T): boolean {
    const entry = this.pending.get(seq);
    if (!entry) return false;
    this.pending.delete(seq);
    if (this.pending.size === 0) this.timer?.unref();
    entry.resolve(value);
    return true;
  }

  /** True for a reply whose request already gave up: drop it. */
  isAbandoned(seq: number): boolean {
    return this.abandoned.delete(seq);
  }

  failAll(reason: Error): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
    const entries = [...this.pending.values()];
    this.pending.clear();
    for (const entry of entries) entry.reject(reason);
  }

  private arm(deadline: number): void {
    clearTimeout(this.timer);
    this.armedFor = deadline;
    this.timer = setTimeout(this.expire, Math.max(0, Math.ceil(deadline - performance.now())));
  }

  private onTimer(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    const now = performance.now() + EARLY_MS;
    let next = Infinity;
    for (const [seq, entry] of this.pending) {
      if (entry.deadline <= now) {
        this.pending.delete(seq);
        this.abandon(seq);
        entry.reject(new TimeoutError(entry.what + entry.whom, entry.timeout));
      } else if (entry.deadline < next) {
        next = entry.deadline;
      }
    }
    if (next !== Infinity) this.arm(next);
  }

  private abandon(seq: number): void {
    this.abandoned.add(seq);
    if (this.abandoned.size > ABANDONED_KEPT) {
      const oldest = this.abandoned.values().next().value;
      if (oldest !== undefined) this.abandoned.delete(oldest);
    }
  }
}
