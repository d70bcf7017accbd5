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
  /** The thread each transfer under way was staged in: its records go there, and nowhere else. */
  private readonly stagedIn = new Map<number, Worker>();
  /** Transfers whose thread died under them, with why: what they staged went with it. */
  private readonly lost = new Map<number, string>();

  constructor(private readonly dataPath: string) {}

  /** A zone staged in the store as its transfer arrives: see StagedTransfer. */
  stage(zone: string, maxJournalRecords: number): StagedTransfer {
    const transfer = ++this.transfers;
    this.stagedIn.set(transfer, this.thread());
    this.post({ op: 'stage', transfer, zone, maxJournalRecords });
    return new StagedTransfer(this, transfer);
  }

  /** @internal Sent to the thread the transfer was staged in; nothing once that one died (a new one knows nothing of it). */
  post(request: StoreRequest, moved: ArrayBuffer[] = []): void {
    this.stagedIn.get(request.transfer)?.postMessage(request, moved);
  }

  /**
   * @internal The thread's answer to `request` (commit, then tidy or
   * abort, which end the transfer, as a commit that fails does). A
   * transfer whose thread died fails with why; aborting it, or one ended
   * already, is done at once.
   */
  ask(request: StoreRequest): Promise<StoreReply & { ok: true }> {
    const { transfer } = request;
    const why = this.lost.get(transfer);
    if (why !== undefined) this.lost.delete(transfer);
    if (!this.stagedIn.has(transfer)) {
      if (request.op === 'abort') return Promise.resolve({ transfer, ok: true });
      return Promise.reject(new ZoneStoreError(why ?? `no transfer ${transfer} staged`));
    }
    return new Promise<StoreReply & { ok: true }>((resolve, reject) => {
      this.waiting.set(transfer, { resolve, reject });
      this.post(request);
    }).then(
      (reply) => {
        if (request.op !== 'commit') this.stagedIn.delete(transfer);
        return reply;
      },
      (err: unknown) => {
        // The thread ended it, its staged zone dropped: aborting it now waits for nothing.
        this.stagedIn.delete(transfer);
        throw err;
      },
    );
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
      const reason = `xfrin's store thread ${why}`;
      for (const [transfer, staged] of this.stagedIn) {
        if (staged !== worker) continue;
        this.stagedIn.delete(transfer);
        const waiter = this.waiting.get(transfer);
        this.waiting.delete(transfer);
        if (waiter) waiter.reject(new ZoneStoreError(reason));
        else this.lost.set(transfer, reason);
      }
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
