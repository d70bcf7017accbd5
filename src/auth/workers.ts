import cluster, { type Worker } from 'node:cluster';
import dgram from 'node:dgram';
import net, { Socket } from 'node:net';
import os from 'node:os';
import { restartDecision, type RestartPolicy } from '../../boss/restart.js';
import { AnswerError } from '../../protocol/errors.js';
import {
  AXFR_HANDOFF,
  SUPERVISED_ENV,
  UPDATE_ANSWER,
  UPDATE_HANDOFF,
  WORKERS_REPORT,
  type UpdateAnswer,
  type UpdateHandoff,
  type WorkerRow,
  type WorkersReport,
} from '../daemon.js';
import { listenOn } from '../listen.js';
import type { Logger } from '../log.js';
import { programPath } from '../paths.js';
import { sumSnapshots } from './counters.js';
import { bindFailure, checkEndpoints, keptPicks, ListenError, type Endpoint } from './endpoints.js';
import { limitsAnything, rateLimitFrom, ResponseRateLimiter, type RateLimitItems } from './rrl.js';
import type { Listening } from './server.js';
import type { Loaded } from './serving.js';
import { MAX_UPDATES_IN_FLIGHT, UPDATE_TIMEOUT_MS } from './update-relay.js';
import {
  errorFromWire,
  WORKER_ENV,
  TCP_CLOSED,
  type PrimaryAnswer,
  type PrimaryAsk,
  type PrimaryQuestion,
  type WorkerNotify,
  type WorkerOptions,
  type WorkerReply,
  type WorkerRequest,
  type WorkerSettings,
} from './worker-protocol.js';

/** Auth/workers at most: update ids carry the worker's slot in their low 5 bits. */
export const MAX_WORKERS = 16;

/** Auth/workers 0 (its default): one worker per CPU, at most MAX_WORKERS. */
export function defaultWorkers(): number {
  return Math.max(1, Math.min(MAX_WORKERS, os.availableParallelism()));
}

/** The processes Auth/workers asks for: 0 or unset, one per CPU; undefined when it is no count auth takes. */
export function workersFor(configured: unknown): number | undefined {
  if (configured === undefined || configured === 0) return defaultWorkers();
  return typeof configured === 'number' && Number.isInteger(configured) && configured >= 1 && configured <= MAX_WORKERS ? configured : undefined;
}

const SLOT_BITS = 32;
/** A worker that dies soon after its start waits a second, then twice as long each time, up to a minute. */
const WORKER_POLICY: RestartPolicy = Object.freeze({ period: 1000, maxPeriod: 60_000, sigma: 0.05 });

/** A worker died while it was asked something: the one started in its place reads the store anew. */
class WorkerGone extends Error {}

interface Slot {
  index: number;
  worker?: Worker;
  state: WorkerRow['state'];
  /** The worker listens for requests (it said auth:up): zone loads are asked of it, not kept for it. */
  up: boolean;
  /** Zones loaded while its worker started, before it could be asked: loaded again before it answers. */
  missed: Set<string>;
  /** Stopped for good (Auth/workers lowered): not started again when it exits. */
  retiring: boolean;
  /** Its TCP connections open, as counted against --tcp-max-connections for every worker. */
  tcp: number;
  restarts: number;
  failures: number;
  startedAt: number;
  readyAt?: number;
  timer?: NodeJS.Timeout;
}

interface Pending {
  slot: Slot;
  resolve: (result: unknown) => void;
  reject: (err: Error) => void;
}

/**
 * auth's primary when Auth/workers is above 1: it answers no DNS itself.
 * It forks the workers (node:cluster, so every worker's UDP socket and TCP
 * listener on an address is the one socket the primary holds and shares),
 * keeps the bus for them, and passes to every worker what the bus says:
 * listen_on, zone loads, the TSIG keys, Xfrin's zones. It keeps the rate
 * limiting accounts of them all, so that the limit holds for the set as for
 * one process. A worker that dies is started again alone, the others
 * answering meanwhile; the count changes while they run (resize).
 */
export class AuthWorkers {
  private slots: Slot[];
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  /** The endpoints asked for, in the configuration's words. */
  private asked: Endpoint[] = [];
  /** The same with the ports picked for port 0: where every worker (and each one started anew) listens. */
  private bound: Endpoint[] = [];
  private settings: WorkerSettings = { type: 'auth:settings' };
  private stopping = false;
  /** Every worker's UDP answers are counted here, one set of accounts (undefined: not limited). */
  private rateLimiter: ResponseRateLimiter | undefined;
  /** Updates handed on to ddns (by the id the boss knows them by) whose answers have not come back: at most MAX_UPDATES_IN_FLIGHT for every worker. */
  private readonly updates = new Map<number, { slot: Slot; timer: NodeJS.Timeout }>();
  /** What a worker waits for, once started, before it is asked anything: start's `prepare` done, the ports picked. */
  private prepared: Promise<void> = Promise.resolve();
  /** Resizes and moves one after the other: a resize during a move would fork onto a half-moved set. */
  private changing: Promise<unknown> = Promise.resolve();

  constructor(
    count: number,
    private readonly options: WorkerOptions,
    private readonly log: Logger,
    private readonly onNotify: (notify: WorkerNotify) => void,
  ) {
    this.slots = Array.from({ length: count }, (_, index) => newSlot(index));
    cluster.setupPrimary({ exec: programPath('src/auth/worker.js'), args: [], silent: false });
    process.on('message', (message: unknown) => {
      if ((message as UpdateAnswer | null)?.type === UPDATE_ANSWER) this.passAnswer(message as UpdateAnswer);
    });
    process.channel?.unref();
  }

  /**
   * Starts every worker listening on `endpoints`; rejects (the workers stopped) when they cannot listen there.
   * Their processes are started first of all, at once (a Node process's start is most of auth's): `prepare`,
   * what must be done before any of them is asked anything, runs meanwhile, and so does the pick of a port
   * asked as 0. The first one binds, and the others, once it has, share what it bound. If it cannot, or
   * `prepare` fails, auth ends, and the workers with it.
   */
  async start(endpoints: Endpoint[], prepare: () => void): Promise<Endpoint[]> {
    let prepared!: () => void;
    let failed!: (err: unknown) => void;
    this.prepared = new Promise<void>((resolve, reject) => {
      prepared = resolve;
      failed = reject;
    });
    // Its failure is start's to report, whether a worker is up to wait for it or not.
    this.prepared.catch(() => {});
    const [first, ...others] = this.slots;
    const bound = this.fork(first!);
    const started = Promise.all([bound, ...others.map((slot) => this.fork(slot, bound))]);
    // Awaited below once prepared; until then a failure must not count as unhandled.
    started.catch(() => {});
    try {
      prepare();
      this.bound = await this.resolve(endpoints);
      this.asked = endpoints;
    } catch (err) {
      failed(err);
      throw err;
    }
    prepared();
    await started;
    return this.bound;
  }

  /**
   * Every worker answers on exactly `endpoints` from now on, or none moves:
   * the first one moves (all or nothing, as a lone auth), the others then
   * share its sockets; should one of them fail, those moved go back.
   */
  listen(endpoints: Endpoint[]): Promise<Listening> {
    return this.serially(() => this.move(endpoints));
  }

  private async move(endpoints: Endpoint[]): Promise<Listening> {
    const previous = this.bound;
    const target = await this.resolve(endpoints);
    const workers = this.live();
    try {
      // Tried here first: a bind a worker tries and fails costs it, in node:cluster, the sharing of that
      // address with the others from then on (each worker numbers its binds of an address).
      const fresh = target.filter((t) => !previous.some((p) => p.address === t.address && p.port === t.port));
      try {
        await Promise.all(fresh.map((endpoint) => probe(endpoint.address, endpoint.port)));
      } catch (err) {
        const ports = blockingPorts(err, previous, target);
        if (ports.size === 0) throw err;
        // The same port on an overlapping address (127.0.0.1:P to 0.0.0.0:P): the socket is shared, and
        // goes only once no worker holds it. Every worker lets go of it first, as a lone auth closes its own.
        await this.putBack(workers, previous.filter((e) => !ports.has(e.port)));
        await Promise.all(fresh.map((endpoint) => probe(endpoint.address, endpoint.port)));
      }
      const [first, ...others] = workers;
      // The first one moves all or nothing, as a lone auth; the others then share its sockets.
      if (first) await this.ask(first, { type: 'auth:listen', endpoints: target });
      for (const slot of others) await this.listenOrGone(slot, target);
    } catch (err) {
      await this.putBack(workers, previous);
      throw err;
    }
    // With no worker running, those started from now on listen there.
    this.asked = endpoints;
    this.bound = target;
    return { bound: target, changed: JSON.stringify(target) !== JSON.stringify(previous) };
  }

  /**
   * Runs `count` workers from now on: those added load every zone before
   * they answer; those taken away stop reading first (what they have not
   * read, the others read), then end once their answers are out.
   */
  resize(count: number): Promise<void> {
    return this.serially(async () => {
      if (this.stopping || count === this.slots.length) return;
      this.log.info({ from: this.slots.length, to: count }, 'Auth/workers changed: resizing');
      if (count > this.slots.length) {
        const added = Array.from({ length: count - this.slots.length }, (_, i) => newSlot(this.slots.length + i));
        this.slots = [...this.slots, ...added];
        await Promise.all(added.map((slot) => this.fork(slot).catch((err: Error) => this.log.error({ worker: slot.index + 1, err: err.message }, 'auth worker not started'))));
      } else {
        // Listed (as stopping) until they end.
        const surplus = this.slots.slice(count);
        await Promise.all(surplus.map((slot) => this.retire(slot)));
        this.slots = this.slots.slice(0, count);
        this.report();
      }
      this.log.info({ workers: this.rows() }, 'auth workers resized');
    });
  }

  /** Stops a worker for good: it stops reading, answers what it has read, and ends. */
  private async retire(slot: Slot): Promise<void> {
    slot.retiring = true;
    clearTimeout(slot.timer);
    const worker = slot.worker;
    if (!worker || worker.isDead()) return;
    slot.state = 'stopping';
    this.report();
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    await this.ask(slot, { type: 'auth:retire' }).catch(() => undefined);
    worker.process.kill('SIGTERM');
    await exited;
    this.log.info({ worker: slot.index + 1, workerPid: worker.process.pid }, 'auth worker stopped: Auth/workers lowered');
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.changing.then(work);
    this.changing = run.catch(() => undefined);
    return run;
  }

  /**
   * `endpoints` with a port for each asked as 0, so that every worker binds
   * the same: node:cluster shares a socket between workers that ask for it in
   * the same words, and a port 0 asked by each would be a port each.
   */
  private async resolve(endpoints: Endpoint[]): Promise<Endpoint[]> {
    checkEndpoints(endpoints);
    const kept = keptPicks(endpoints, this.asked, this.bound);
    const out: Endpoint[] = [];
    for (const [i, endpoint] of endpoints.entries()) {
      out.push({ address: endpoint.address, port: kept[i] ?? (await pickPort(endpoint.address)) });
    }
    return out;
  }

  /** Moves the slot's worker; false when it died meanwhile (its next run listens where the others do). */
  private async listenOrGone(slot: Slot, endpoints: Endpoint[]): Promise<boolean> {
    try {
      await this.ask(slot, { type: 'auth:listen', endpoints });
      return true;
    } catch (err) {
      if (err instanceof WorkerGone) return false;
      throw err;
    }
  }

  private async putBack(slots: Slot[], endpoints: Endpoint[]): Promise<void> {
    await Promise.all(
      slots.map((slot) =>
        this.listenOrGone(slot, endpoints).catch((err: Error) =>
          this.log.error({ worker: slot.index + 1, err: err.message }, 'worker could not go back to its endpoints after a failed move'),
        ),
      ),
    );
  }

  endpoints(): Endpoint[] {
    return this.bound;
  }

  /** Answers once every running worker serves the zone as it is now (a worker that dies meanwhile reads it when started again). */
  async loadZone(origin: string, changes: unknown): Promise<Loaded> {
    // A worker starting may have read the store before this change: it loads the zone again before it answers.
    for (const slot of this.slots) if (slot.worker && !slot.up) slot.missed.add(origin);
    const loaded = (await this.everyWorker({ type: 'auth:loadzone', origin, changes }))[0] as Loaded;
    // Logged once, as one process logs it, when every worker serves it.
    if (!('serial' in loaded)) this.log.info({ zone: loaded.origin }, 'zone dropped: no longer served');
    else if (changes === undefined) this.log.info({ zone: loaded.origin, serial: loaded.serial, records: loaded.records }, 'zone loaded');
    else this.log.debug({ zone: loaded.origin, serial: loaded.serial }, 'zone changed in memory');
    return loaded;
  }

  /** Every running worker's counters, added up. */
  async stats(): Promise<Record<string, unknown>> {
    return sumSnapshots((await this.everyWorker({ type: 'auth:stats' })) as Record<string, unknown>[]);
  }

  async zones(): Promise<{ origin: string; serial: number }[]> {
    return (await this.everyWorker({ type: 'auth:zones' }))[0] as { origin: string; serial: number }[];
  }

  /** Each worker with the zones it serves: what `workers` answers. */
  async perWorker(): Promise<{ worker: number; pid: number | null; state: string; restarts: number; zones?: unknown }[]> {
    return Promise.all(
      this.slots.map(async (slot) => ({
        worker: slot.index + 1,
        pid: slot.worker?.process.pid ?? null,
        state: slot.state,
        restarts: slot.restarts,
        zones: slot.worker ? await this.ask(slot, { type: 'auth:zones' }).catch(() => undefined) : undefined,
      })),
    );
  }

  /**
   * The TSIG keys and Xfrin's zones every worker applies, now and when started anew; resolved once every
   * running worker holds them (the channel keeps order: a worker answers the sync after taking the settings).
   */
  configure(settings: Omit<WorkerSettings, 'type' | 'rateLimited'>): Promise<void> {
    return this.pushSettings(settings);
  }

  /**
   * Rate limits every worker's UDP answers from here, as one process would: the accounts kept go on while the
   * limit stays the same. Resolved once every running worker asks here before it answers (or no longer does).
   */
  async setRateLimit(items: RateLimitItems): Promise<void> {
    const limit = rateLimitFrom(items);
    if (JSON.stringify(limit) !== JSON.stringify(this.rateLimiter?.limit)) this.rateLimiter = limitsAnything(limit) ? new ResponseRateLimiter(limit) : undefined;
    if (this.settings.rateLimited === (this.rateLimiter !== undefined)) return;
    await this.pushSettings({ rateLimited: this.rateLimiter !== undefined });
  }

  private async pushSettings(settings: Partial<WorkerSettings>): Promise<void> {
    this.settings = { ...this.settings, ...settings };
    const live = this.live();
    for (const slot of live) slot.worker!.send(this.settings, () => {});
    await Promise.all(live.map((slot) => this.ask(slot, { type: 'auth:sync' }).catch(() => undefined)));
  }

  rows(): WorkerRow[] {
    return this.slots.map((s) => ({ pid: s.worker?.process.pid ?? null, state: s.state, restarts: s.restarts, startedAt: s.startedAt }));
  }

  /** Stops every worker (their sockets close with them) and starts none again. */
  async close(): Promise<void> {
    this.stopping = true;
    const exits = this.slots.map((slot) => {
      clearTimeout(slot.timer);
      const worker = slot.worker;
      if (!worker || worker.isDead()) return Promise.resolve();
      return new Promise<void>((resolve) => {
        worker.once('exit', () => resolve());
        // Not worker.disconnect(): it waits for the worker's listeners to close, which never comes once a
        // transfer's connection went through one (Node counts it there still).
        worker.process.kill('SIGTERM');
      });
    });
    await Promise.all(exits);
  }

  /** The workers that take requests: started and listening for them. */
  private live(): Slot[] {
    return this.slots.filter((s) => s.up && s.worker?.isConnected());
  }

  private async everyWorker(request: DistributiveOmit<WorkerRequest, 'seq'>): Promise<unknown[]> {
    const settled = await Promise.all(
      this.live().map((slot) =>
        this.ask(slot, request).then(
          (result) => ({ result }),
          (err: Error) => {
            if (err instanceof WorkerGone) return undefined;
            throw err;
          },
        ),
      ),
    );
    const results = settled.filter((s) => s !== undefined).map((s) => s.result);
    if (results.length === 0) throw new AnswerError(1, 'no auth worker is running: they serve the zone store as it is once started again');
    return results;
  }

  private ask(slot: Slot, request: DistributiveOmit<WorkerRequest, 'seq'>): Promise<unknown> {
    const worker = slot.worker;
    if (!slot.up || !worker?.isConnected()) return Promise.reject(new WorkerGone(`worker ${slot.index + 1} is not running`));
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { slot, resolve, reject });
      worker.send({ ...request, seq }, (err: Error | null) => {
        if (err) this.settle(seq, undefined, new WorkerGone(err.message));
      });
    });
  }

  private settle(seq: number, result: unknown, err?: Error): void {
    const pending = this.pending.get(seq);
    if (!pending) return;
    this.pending.delete(seq);
    if (err) pending.reject(err);
    else pending.resolve(result);
  }

  /** Starts the slot's worker; resolves once it listens where every worker does (asked once `after` has). */
  private fork(slot: Slot, after?: Promise<unknown>): Promise<Endpoint[]> {
    const worker = cluster.fork({ [WORKER_ENV]: JSON.stringify(this.options) });
    slot.worker = worker;
    slot.startedAt = Date.now();
    slot.readyAt = undefined;
    slot.up = false;
    slot.missed.clear();
    slot.state = 'starting';
    this.log.info({ worker: slot.index + 1, workerPid: worker.process.pid }, 'auth worker started');
    worker.on('message', (message: unknown, handle: unknown) => this.onWorkerMessage(slot, message, handle));
    worker.once('exit', (code, signal) => this.onExit(slot, worker, code, signal));
    this.report();
    // Messages sent before the worker listens for them would be lost: it says when it does.
    const up = new Promise<void>((resolve, reject) => {
      const onUp = (message: unknown): void => {
        if ((message as { type?: unknown } | null)?.type !== 'auth:up') return;
        worker.off('message', onUp);
        resolve();
      };
      worker.on('message', onUp);
      worker.once('exit', () => reject(new WorkerGone(`worker ${slot.index + 1} exited while starting`)));
    });
    const listening = up.then(async () => {
      await this.prepared;
      slot.up = true;
      worker.send(this.settings, () => {});
      for (const origin of slot.missed) await this.ask(slot, { type: 'auth:loadzone', origin, changes: undefined }).catch(() => undefined);
      slot.missed.clear();
      await after;
      return (await this.ask(slot, { type: 'auth:listen', endpoints: this.bound })) as Endpoint[];
    });
    return listening.then((bound) => {
      this.ready(slot);
      return bound;
    });
  }

  private ready(slot: Slot): void {
    if (slot.state !== 'starting') return;
    slot.state = 'running';
    slot.readyAt = Date.now();
    this.report();
  }

  private onExit(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    slot.up = false;
    slot.tcp = 0;
    for (const [id, waiting] of this.updates) {
      if (waiting.slot !== slot) continue;
      clearTimeout(waiting.timer);
      this.updates.delete(id);
    }
    for (const [seq, pending] of this.pending) {
      if (pending.slot === slot) this.settle(seq, undefined, new WorkerGone(`worker ${slot.index + 1} exited`));
    }
    if (this.stopping || slot.retiring) return;
    const now = Date.now();
    const decision = restartDecision({ startedAt: slot.startedAt, exitedAt: now, failures: slot.failures, ready: slot.readyAt !== undefined }, WORKER_POLICY);
    slot.failures = decision.failures;
    slot.state = 'restarting';
    this.log.error({ worker: slot.index + 1, workerPid: worker.process.pid, code, signal, restartIn: decision.delay }, 'auth worker exited: starting it again');
    slot.timer = setTimeout(() => {
      slot.restarts++;
      this.fork(slot).catch((err: Error) => {
        this.log.error({ worker: slot.index + 1, err: err.message }, 'auth worker cannot listen: stopping it');
        slot.worker?.kill();
      });
    }, decision.delay);
    this.report();
  }

  private onWorkerMessage(slot: Slot, message: unknown, handle: unknown): void {
    const type = (message as { type?: unknown } | null)?.type;
    if (type === 'auth:reply') {
      const reply = message as WorkerReply;
      this.settle(reply.seq, reply.result, reply.error && errorFromWire(reply.error));
    } else if (type === 'auth:notify') {
      this.onNotify(message as WorkerNotify);
    } else if (type === 'auth:ask') {
      const { id, question } = message as PrimaryAsk;
      slot.worker?.send({ type: 'auth:answer', id, answer: this.decide(slot, question) } satisfies PrimaryAnswer, () => {});
    } else if (type === TCP_CLOSED) {
      slot.tcp = Math.max(0, slot.tcp - 1);
    } else if (type === AXFR_HANDOFF && handle instanceof Socket) {
      if (!this.toBoss(message, handle)) handle.destroy();
    } else if (type === UPDATE_HANDOFF) {
      const handoff = message as UpdateHandoff;
      const reply = (answer: Omit<UpdateAnswer, 'type' | 'id'>): void => {
        slot.worker?.send({ type: UPDATE_ANSWER, id: handoff.id, ...answer } satisfies UpdateAnswer, () => {});
      };
      if (this.updates.size >= MAX_UPDATES_IN_FLIGHT) return reply({ busy: true });
      // The slot rides in the id, so the answer finds its worker.
      const id = handoff.id * SLOT_BITS + slot.index;
      if (!this.toBoss({ ...handoff, id })) return reply({ unavailable: 'auth runs without the boss' });
      // The worker gives up on it after as long (and answers SERVFAIL): it counts no more here either.
      this.updates.set(id, { slot, timer: setTimeout(() => this.updates.delete(id), UPDATE_TIMEOUT_MS).unref() });
    }
  }

  /** What the primary answers a worker's question, counting for them all. */
  private decide(slot: Slot, question: PrimaryQuestion): PrimaryAnswer['answer'] {
    if (question.what === 'rate') {
      // performance.now() here: one clock for every worker's answers.
      return this.rateLimiter?.decide(question.client, question.kind, question.name, question.qtype, performance.now()) ?? 'send';
    }
    if (this.slots.reduce((sum, s) => sum + s.tcp, 0) >= this.options.maxTcpConnections) return false;
    slot.tcp++;
    return true;
  }

  private passAnswer(answer: UpdateAnswer): void {
    const waiting = this.updates.get(answer.id);
    clearTimeout(waiting?.timer);
    this.updates.delete(answer.id);
    const slot = this.slots[answer.id % SLOT_BITS];
    slot?.worker?.send({ ...answer, id: Math.floor(answer.id / SLOT_BITS) }, () => {});
  }

  private toBoss(message: unknown, handle?: Socket): boolean {
    if (process.env[SUPERVISED_ENV] !== '1' || !process.connected || !process.send) return false;
    if (handle) process.send(message as object, handle, {}, () => {});
    else process.send(message as object, () => {});
    return true;
  }

  /** The workers as they are now, for the boss's `show_processes`. */
  private report(): void {
    this.toBoss({ type: WORKERS_REPORT, workers: this.rows() } satisfies WorkersReport);
  }
}

function newSlot(index: number): Slot {
  return { index, state: 'starting', up: false, missed: new Set(), retiring: false, tcp: 0, restarts: 0, failures: 0, startedAt: 0 };
}

/**
 * The ports a move from `previous` to `target` may have failed to bind
 * because the workers still hold them (`err` EADDRINUSE): a port kept, on
 * an address that is not kept. Empty for any other failure.
 */
export function blockingPorts(err: unknown, previous: readonly Endpoint[], target: readonly Endpoint[]): Set<number> {
  if (!(err instanceof ListenError) || err.bindCode !== 'EADDRINUSE') return new Set();
  const kept = (e: Endpoint): boolean => target.some((t) => t.address === e.address && t.port === e.port);
  return new Set(previous.filter((e) => !kept(e) && target.some((t) => t.port === e.port)).map((e) => e.port));
}

/** How many ports a pick tries before it gives up, as a lone auth's listen on port 0. */
const PORT_PICKS = 10;

/** A port free on `address` for UDP and TCP both, as the system picks it for UDP; given back before it is used. */
async function pickPort(address: string): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await probe(address, 0);
    } catch (err) {
      if (!(err instanceof ListenError) || err.bindCode !== 'EADDRINUSE' || attempt === PORT_PICKS) throw err;
    }
  }
}

/** Binds `port` on `address` for UDP, then the same port for TCP, and lets both go: the port bound, or ListenError. */
async function probe(address: string, port: number): Promise<number> {
  const udp = dgram.createSocket(net.isIPv6(address) ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, address, () => resolve());
    });
  } catch (err) {
    udp.close();
    throw bindFailure({ address, port }, 'UDP', err as NodeJS.ErrnoException);
  }
  const bound = udp.address().port;
  const tcp = net.createServer();
  try {
    await listenOn(tcp, { port: bound, host: address });
    return bound;
  } catch (err) {
    throw bindFailure({ address, port: bound }, 'TCP', err as NodeJS.ErrnoException);
  } finally {
    udp.close();
    await new Promise((resolve) => tcp.close(resolve));
  }
}

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;
