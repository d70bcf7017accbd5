import cluster, { type Worker } from 'node:cluster';
import dgram from 'node:dgram';
import net, { Socket } from 'node:net';
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
import { bindFailure, checkEndpoints, keptPicks, type Endpoint } from './endpoints.js';
import type { Listening } from './server.js';
import type { Loaded } from './serving.js';
import {
  errorFromWire,
  WORKER_ENV,
  type WorkerNotify,
  type WorkerOptions,
  type WorkerReply,
  type WorkerRequest,
  type WorkerSettings,
} from './worker-protocol.js';

/** Auth/workers at most: update ids carry the worker's slot in their low 5 bits. */
export const MAX_WORKERS = 16;
const SLOT_BITS = 32;
/** A worker that dies soon after its start waits a second, then twice as long each time, up to a minute. */
const WORKER_POLICY: RestartPolicy = Object.freeze({ period: 1000, maxPeriod: 60_000, sigma: 0.05 });

/** A worker died while it was asked something: the one started in its place reads the store anew. */
class WorkerGone extends Error {}

interface Slot {
  index: number;
  worker?: Worker;
  state: WorkerRow['state'];
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
 * listen_on, zone loads, the rate limit, the TSIG keys. A worker that dies
 * is started again alone, the others answering meanwhile.
 */
export class AuthWorkers {
  private readonly slots: Slot[];
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  /** The endpoints asked for, in the configuration's words. */
  private asked: Endpoint[] = [];
  /** The same with the ports picked for port 0: where every worker (and each one started anew) listens. */
  private bound: Endpoint[] = [];
  private settings: WorkerSettings = { type: 'auth:settings' };
  private stopping = false;

  constructor(
    count: number,
    private readonly options: WorkerOptions,
    private readonly log: Logger,
    private readonly onNotify: (notify: WorkerNotify) => void,
  ) {
    this.slots = Array.from({ length: count }, (_, index) => ({ index, state: 'starting', restarts: 0, failures: 0, startedAt: 0 }));
    cluster.setupPrimary({ exec: programPath('src/auth/worker.js'), args: [], silent: false });
    process.on('message', (message: unknown) => {
      if ((message as UpdateAnswer | null)?.type === UPDATE_ANSWER) this.passAnswer(message as UpdateAnswer);
    });
    process.channel?.unref();
  }

  /** Starts every worker listening on `endpoints`; rejects (the workers stopped) when they cannot listen there. */
  async start(endpoints: Endpoint[]): Promise<Endpoint[]> {
    this.bound = await this.resolve(endpoints);
    this.asked = endpoints;
    const [first, ...others] = this.slots;
    // The first one binds; the others share what it bound.
    await this.fork(first!);
    await Promise.all(others.map((slot) => this.fork(slot)));
    return this.bound;
  }

  /**
   * Every worker answers on exactly `endpoints` from now on, or none moves:
   * the first one moves (all or nothing, as a lone auth), the others then
   * share its sockets; should one of them fail, those moved go back.
   */
  async listen(endpoints: Endpoint[]): Promise<Listening> {
    const previous = this.bound;
    const target = await this.resolve(endpoints);
    const [first, ...others] = this.live();
    if (first) {
      // The first one moves all or nothing, as a lone auth; the others then share its sockets.
      await this.ask(first, { type: 'auth:listen', endpoints: target });
      const moved = [first];
      try {
        for (const slot of others) {
          if (await this.listenOrGone(slot, target)) moved.push(slot);
        }
      } catch (err) {
        await this.putBack(moved, previous);
        throw err;
      }
    }
    // With no worker running, those started from now on listen there.
    this.asked = endpoints;
    this.bound = target;
    return { bound: target, changed: JSON.stringify(target) !== JSON.stringify(previous) };
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
    const results = await this.everyWorker({ type: 'auth:loadzone', origin, changes });
    return results[0] as Loaded;
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

  /** The rate limit items and TSIG keys every worker applies, now and when started anew. */
  configure(settings: Omit<WorkerSettings, 'type'>): void {
    this.settings = { ...this.settings, ...settings };
    for (const slot of this.live()) slot.worker!.send(this.settings, () => {});
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

  private live(): Slot[] {
    return this.slots.filter((s) => s.worker?.isConnected());
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
    if (!worker?.isConnected()) return Promise.reject(new WorkerGone(`worker ${slot.index + 1} is not running`));
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

  /** Starts the slot's worker; resolves once it listens where every worker does. */
  private fork(slot: Slot): Promise<Endpoint[]> {
    const worker = cluster.fork({ [WORKER_ENV]: JSON.stringify(this.options) });
    slot.worker = worker;
    slot.startedAt = Date.now();
    slot.readyAt = undefined;
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
    const listening = up.then(() => {
      worker.send(this.settings, () => {});
      return this.ask(slot, { type: 'auth:listen', endpoints: this.bound }) as Promise<Endpoint[]>;
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
    for (const [seq, pending] of this.pending) {
      if (pending.slot === slot) this.settle(seq, undefined, new WorkerGone(`worker ${slot.index + 1} exited`));
    }
    if (this.stopping) return;
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
    } else if (type === AXFR_HANDOFF && handle instanceof Socket) {
      if (!this.toBoss(message, handle)) handle.destroy();
    } else if (type === UPDATE_HANDOFF) {
      const handoff = message as UpdateHandoff;
      // The slot rides in the id, so the answer finds its worker with nothing kept here.
      if (!this.toBoss({ ...handoff, id: handoff.id * SLOT_BITS + slot.index })) {
        slot.worker?.send({ type: UPDATE_ANSWER, id: handoff.id, unavailable: 'auth runs without the boss' } satisfies UpdateAnswer, () => {});
      }
    }
  }

  private passAnswer(answer: UpdateAnswer): void {
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

/** How many ports a pick tries before it gives up, as a lone auth's listen on port 0. */
const PORT_PICKS = 10;

/** A port free on `address` for UDP and TCP both, as the system picks it for UDP; given back before it is used. */
async function pickPort(address: string): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const udp = dgram.createSocket(net.isIPv6(address) ? 'udp6' : 'udp4');
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(0, address, () => resolve());
      });
    } catch (err) {
      udp.close();
      throw bindFailure({ address, port: 0 }, 'UDP', err as NodeJS.ErrnoException);
    }
    const port = udp.address().port;
    const tcp = net.createServer();
    try {
      await listenOn(tcp, { port, host: address });
      return port;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt === PORT_PICKS) throw bindFailure({ address, port }, 'TCP', err as NodeJS.ErrnoException);
    } finally {
      udp.close();
      await new Promise((resolve) => tcp.close(resolve));
    }
  }
}

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;
