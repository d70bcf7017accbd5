import path from 'node:path';
import { CONFIG_FILE, readConfigFile } from '../cfgmgr/store.js';
import { Keyring } from '../dns/tsig.js';
import { changesFromBus } from '../dns/zone-changes.js';
import { ZoneStore, type ZoneInfo } from '../dns/zone-store.js';
import type { Logger } from '../log.js';
import { rateLimitFrom, type RateLimitItems } from './rrl.js';
import { AuthServer, type AuthLimits, type Endpoint, type Listening } from './server.js';
import { loadZone, parentHandOff, parentUpdateRelay, serveStoredZones, type Loaded } from './serving.js';
import type { UpdateRelay } from './update-relay.js';
import { MAX_WORKERS, workersFor, type AuthWorkers } from './workers.js';

/**
 * What answers auth's DNS, as main.ts drives it from the bus: this process
 * itself (Auth/workers 1, the shape auth always had), or its workers.
 */
export interface Answering {
  listen(endpoints: Endpoint[]): Promise<Listening>;
  endpoints(): Endpoint[];
  loadZone(origin: string, changes: unknown): Promise<Loaded>;
  zones(): Promise<{ origin: string; serial: number }[]>;
  /** The zones in the store, whether served or not. */
  storedZones(): ZoneInfo[];
  stats(): Promise<Record<string, unknown>>;
  /** What the `workers` command answers. */
  workers(): Promise<unknown>;
  /** Each, resolved once every process answering holds it. */
  setRateLimit(items: RateLimitItems): void | Promise<void>;
  setKeyring(keyring: Keyring, entries: string[]): void | Promise<void>;
  close(): Promise<void>;
}

/**
 * Auth/workers as stored, read first: the workers are forked before auth
 * does anything else, and auth reaches the bus while they start.
 * Unset or 0: one per CPU. Unreadable or out of range: 1, logged.
 */
export async function storedWorkers(dataPath: string, log: Logger): Promise<number> {
  let stored: unknown;
  try {
    stored = (await readConfigFile(path.join(dataPath, CONFIG_FILE))).Auth?.workers;
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'stored configuration not read: auth runs as one process');
    return 1;
  }
  const workers = workersFor(stored);
  if (workers !== undefined) return workers;
  log.warn({ workers: stored }, `Auth/workers must be 0..${MAX_WORKERS}: auth runs as one process`);
  return 1;
}

/** Auth answering in its own process. */
export class LocalAnswering implements Answering {
  private readonly server: AuthServer;
  private readonly store: ZoneStore;
  private readonly updates: UpdateRelay;

  constructor(
    private readonly log: Logger,
    limits: AuthLimits,
    dataPath: string,
    onNotify: (zone: string, from: string, key?: string) => number | undefined,
  ) {
    this.updates = parentUpdateRelay(log);
    // The IPC listener must not keep auth alive by itself.
    process.channel?.unref();
    this.server = new AuthServer(log, limits, parentHandOff(log), onNotify, (packet, query, client) => this.updates.forward(packet, query, client));
    this.store = ZoneStore.open(dataPath);
    serveStoredZones(this.server, this.store);
  }

  listen(endpoints: Endpoint[]): Promise<Listening> {
    return this.server.listen(endpoints);
  }

  endpoints(): Endpoint[] {
    return this.server.endpoints();
  }

  async loadZone(origin: string, changes: unknown): Promise<Loaded> {
    return loadZone(this.server, this.store, this.log, origin, changesFromBus(changes));
  }

  async zones(): Promise<{ origin: string; serial: number }[]> {
    return this.server.zoneList();
  }

  storedZones(): ZoneInfo[] {
    return this.store.zones();
  }

  async stats(): Promise<Record<string, unknown>> {
    return this.server.counters.snapshot();
  }

  async workers(): Promise<unknown> {
    return [{ worker: 1, pid: process.pid, state: 'running', restarts: 0, zones: this.server.zoneList() }];
  }

  setRateLimit(items: RateLimitItems): void {
    this.server.setRateLimit(rateLimitFrom(items));
  }

  setKeyring(keyring: Keyring): void {
    this.server.keyring = keyring;
  }

  async close(): Promise<void> {
    this.updates.close();
    await this.server.close();
    this.store.close();
  }
}

/** Auth answering in its workers: this process keeps the bus and passes on what it says. */
export class WorkersAnswering implements Answering {
  private started = false;

  constructor(
    private readonly pool: AuthWorkers,
    private readonly dataPath: string,
  ) {}

  async listen(endpoints: Endpoint[]): Promise<Listening> {
    if (this.started) return this.pool.listen(endpoints);
    // The store is made here, while the workers start and before any opens it: two making a fresh store
    // together, one finds it locked.
    const bound = await this.pool.start(endpoints, () => ZoneStore.open(this.dataPath).close());
    this.started = true;
    return { bound, changed: true };
  }

  endpoints(): Endpoint[] {
    return this.pool.endpoints();
  }

  loadZone(origin: string, changes: unknown): Promise<Loaded> {
    return this.pool.loadZone(origin, changes);
  }

  zones(): Promise<{ origin: string; serial: number }[]> {
    return this.pool.zones();
  }

  storedZones(): ZoneInfo[] {
    const store = ZoneStore.open(this.dataPath, { readonly: true });
    try {
      return store.zones();
    } finally {
      store.close();
    }
  }

  stats(): Promise<Record<string, unknown>> {
    return this.pool.stats();
  }

  workers(): Promise<unknown> {
    return this.pool.perWorker();
  }

  setRateLimit(items: RateLimitItems): Promise<void> {
    return this.pool.setRateLimit(items);
  }

  setKeyring(_keyring: Keyring, entries: string[]): Promise<void> {
    return this.pool.configure({ keys: entries });
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
