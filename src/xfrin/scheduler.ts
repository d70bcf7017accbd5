/**
 * How xfrin's refreshes run: one at a time per zone, those asked for
 * meanwhile folded into one more after it (RFC 1996 4.4: a NOTIFY during a
 * refresh means one more refresh, not one each), and at most so many
 * transfers at once over all zones, the rest waiting their turn. Pure: no
 * I/O, only promises.
 */

/** What became of a request: it started a run, is the run queued after the one under way, or joined that queued run. */
export type Requested = 'started' | 'queued' | 'joined';

interface Queued<J, R> {
  job: J;
  promise: Promise<R>;
  resolve: (value: R) => void;
  reject: (err: unknown) => void;
}

/** One run per key at a time; what is asked during it is merged into a single next run. */
export class Coalescer<J, R> {
  /** Keys with a run under way, and the run queued after it if any. */
  private readonly running = new Map<string, { next?: Queued<J, R> }>();

  constructor(
    private readonly run: (key: string, job: J) => Promise<R>,
    /** The queued job, given one more request's: a forced transfer stays forced, say. */
    private readonly merge: (queued: J, next: J) => J,
  ) {}

  request(key: string, job: J): { result: Promise<R>; requested: Requested } {
    const state = this.running.get(key);
    if (!state) {
      this.running.set(key, {});
      return { result: this.start(key, job), requested: 'started' };
    }
    if (state.next) {
      state.next.job = this.merge(state.next.job, job);
      return { result: state.next.promise, requested: 'joined' };
    }
    let resolve!: (value: R) => void;
    let reject!: (err: unknown) => void;
    const promise = new Promise<R>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Nobody may be waiting for it (a NOTIFY is not): its failure is the caller's to log, not unhandled.
    promise.catch(() => {});
    state.next = { job, promise, resolve, reject };
    return { result: promise, requested: 'queued' };
  }

  private start(key: string, job: J): Promise<R> {
    const result = Promise.resolve().then(() => this.run(key, job));
    const after = (): void => {
      const next = this.running.get(key)?.next;
      if (!next) {
        this.running.delete(key);
        return;
      }
      this.running.set(key, {});
      this.start(key, next.job).then(next.resolve, next.reject);
    };
    result.then(after, after);
    return result;
  }
}

/** At most `max` tasks at once; the others wait in the order they came. */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private max: number) {}

  /** Takes effect at once: a higher cap starts waiting tasks now; a lower one lets those under way finish. */
  setMax(max: number): void {
    this.max = max;
    this.startWaiting();
  }

  get running(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `task` when a place is free; `onWait` is called when it has to wait for one. */
  async run<T>(task: () => Promise<T>, onWait?: () => void): Promise<T> {
    if (this.active >= this.max) {
      onWait?.();
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active++;
    }
    try {
      return await task();
    } finally {
      this.active--;
      this.startWaiting();
    }
  }

  private startWaiting(): void {
    while (this.active < this.max && this.waiting.length > 0) {
      this.active++;
      this.waiting.shift()!();
    }
  }
}
