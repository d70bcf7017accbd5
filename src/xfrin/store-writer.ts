import { Worker } from 'node:worker_threads';
import type { ZoneRecord } from '../dns/master-file.js';
import { ZoneStoreError } from '../dns/zone-store.js';
import { programPath } from '../paths.js';
import { packRecords, type StoreReply, type StoreRequest, type StoreThreadOptions } from './store-thread-protocol.js';

/**
 * xfrin's side of its store thread (store-thread.ts), started at the first
 * AXFR and kept: a transfer's records are written there while this thread
 * receives and checks the next ones. Should the thread die, what waits on
 * it fails with the reason, and the next transfer starts another.
 */
export class StoreWriter {
  private worker: Worker | undefined;
  private transfers = 0;
  private readonly waiting = new Map<number, { resolve: (reply: StoreReply & { ok: true }) => void; reject: (err: Error) => void }>();

  constructor(private readonly dataPath: string) {}

  /** A zone staged in the store as its transfer arrives: see StagedTransfer. */
  stage(zone: string, maxJournalRecords: number): StagedTransfer {
    const transfer = ++this.transfers;
    this.post({ op: 'stage', transfer, zone, maxJournalRecords });
    return new StagedTransfer(this, transfer);
  }

  /** @internal */
  post(request: StoreRequest, moved: ArrayBuffer[] = []): void {
    this.thread().postMessage(request, moved);
  }

  /** @internal The thread's answer to `request`. */
  ask(request: StoreRequest): Promise<StoreReply & { ok: true }> {
    return new Promise((resolve, reject) => {
      this.waiting.set(request.transfer, { resolve, reject });
      this.post(request);
    });
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(programPath('src/xfrin/store-thread.js'), { workerData: { dataPath: this.dataPath } satisfies StoreThreadOptions });
    // xfrin's own work keeps it running: the thread is there for it, not the other way round.
    worker.unref();
    worker.on('message', (reply: StoreReply) => {
      const waiter = this.waiting.get(reply.transfer);
      this.waiting.delete(reply.transfer);
      if (reply.ok) waiter?.resolve(reply);
      else waiter?.reject(reply.storeError ? new ZoneStoreError(reply.error) : new Error(reply.error));
    });
    const died = (why: string): void => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      for (const waiter of this.waiting.values()) waiter.reject(new ZoneStoreError(`xfrin's store thread ${why}`));
      this.waiting.clear();
    };
    worker.on('error', (err) => died(`failed: ${err.message}`));
    worker.on('exit', (code) => died(`ended (exit code ${code})`));
    this.worker = worker;
    return worker;
  }
}

/**
 * A zone written in the store thread while it arrives (the thread's
 * StagedZone): add() each message's records as checked, then commit() (the
 * zone in its place, on the disk) and tidy() (the zone it replaced
 * dropped); or abort(). A failure of the thread's along the way is
 * commit()'s.
 */
export class StagedTransfer {
  constructor(
    private readonly writer: StoreWriter,
    private readonly transfer: number,
  ) {}

  add(records: readonly ZoneRecord[]): void {
    if (records.length === 0) return;
    const { packed, moved } = packRecords(records);
    this.writer.post({ op: 'add', transfer: this.transfer, records: packed }, moved);
  }

  async commit(): Promise<{ serial: number; records: number }> {
    const { serial, records } = await this.writer.ask({ op: 'commit', transfer: this.transfer });
    return { serial: serial!, records: records! };
  }

  async tidy(): Promise<void> {
    await this.writer.ask({ op: 'tidy', transfer: this.transfer });
  }

  async abort(): Promise<void> {
    await this.writer.ask({ op: 'abort', transfer: this.transfer });
  }
}
