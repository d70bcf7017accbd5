import { parentPort, workerData } from 'node:worker_threads';
import { ZoneStore, ZoneStoreError, type StagedZone } from '../dns/zone-store.js';
import { unpackRecords, type StoreReply, type StoreRequest, type StoreThreadOptions } from './store-thread-protocol.js';

/**
 * xfrin's store thread: the SQLite side of the AXFRs xfrin receives, so
 * that writing one batch overlaps receiving, decoding and checking the
 * next (each takes about as long as the other). Each transfer has its own
 * connection to the store and its zone staged there (StagedZone). Before
 * its first transfer stages anything it drops what a thread before it (one
 * that died, with its xfrin) left staged: xfrin is the only writer that
 * stages.
 */

const { dataPath } = workerData as StoreThreadOptions;
const port = parentPort!;

interface Transfer {
  store?: ZoneStore;
  staged?: StagedZone;
  /** The first failure, answered at commit. */
  failed?: { error: string; storeError: boolean };
}
const transfers = new Map<number, Transfer>();
/**
 * Staged zones a failed transfer could not drop (the store busy with
 * another writer past its wait): dropped when a transfer begins or ends.
 */
const undropped = new Set<number>();

/** Whether what a thread before this one left staged is still to be dropped (the store was busy when it started). */
let leftovers = true;
/** Drops what a thread before this one left, while this one stages nothing (dropUnseen() would drop its zones too). */
function dropLeftovers(store: ZoneStore): void {
  if (!leftovers || transfers.size > 0) return;
  try {
    store.dropUnseen();
    leftovers = false;
  } catch {
    // Busy with another writer: the next transfer tries again. Thrown, it would end this thread.
  }
}
const failure = (err: unknown): { error: string; storeError: boolean } => ({ error: (err as Error).message, storeError: err instanceof ZoneStoreError });

function end(transfer: number): void {
  transfers.get(transfer)?.store?.close();
  transfers.delete(transfer);
}

/**
 * Drops what a failed transfer staged, and ends it. Dropping can fail as
 * the write it follows did: then it is left for the next transfer, not
 * thrown, which would end this thread and every transfer it writes.
 */
function drop(transfer: number, entry: Transfer): void {
  try {
    entry.staged?.abort();
  } catch {
    if (entry.staged) undropped.add(entry.staged.zoneId);
  }
  end(transfer);
}

/** Drops the staged zones failed transfers left, with `store`; those it cannot drop yet stay for the next. */
function dropUndropped(store: ZoneStore): void {
  for (const zoneId of undropped) {
    try {
      store.dropUnseen(zoneId);
      undropped.delete(zoneId);
    } catch {
      return;
    }
  }
}

function handle(request: StoreRequest): StoreReply | undefined {
  const { transfer } = request;
  if (request.op === 'stage') {
    const entry: Transfer = {};
    try {
      entry.store = ZoneStore.open(dataPath, { maxJournalRecords: request.maxJournalRecords });
      dropLeftovers(entry.store);
      dropUndropped(entry.store);
      entry.staged = entry.store.stageZone(request.zone);
    } catch (err) {
      entry.failed = failure(err);
    }
    transfers.set(transfer, entry);
    return undefined;
  }
  const entry = transfers.get(transfer);
  if (!entry) {
    // Records for one that ended already (its commit failed) are let go; aborting it is no error.
    if (request.op === 'add') return undefined;
    return request.op === 'abort' ? { transfer, ok: true } : { transfer, ok: false, error: `no transfer ${transfer} staged`, storeError: false };
  }
  switch (request.op) {
    case 'add':
      if (entry.failed) return undefined;
      try {
        entry.staged!.add(unpackRecords(request.records));
      } catch (err) {
        entry.failed = failure(err);
      }
      return undefined;
    case 'commit':
      if (entry.failed) {
        drop(transfer, entry);
        return { transfer, ok: false, ...entry.failed };
      }
      try {
        return { transfer, ok: true, ...entry.staged!.commit() };
      } catch (err) {
        drop(transfer, entry);
        return { transfer, ok: false, ...failure(err) };
      }
    case 'tidy':
      try {
        entry.staged!.tidy();
        dropUndropped(entry.store!);
        return { transfer, ok: true };
      } catch (err) {
        return { transfer, ok: false, ...failure(err) };
      } finally {
        end(transfer);
      }
    case 'abort':
      drop(transfer, entry);
      return { transfer, ok: true };
  }
}

port.on('message', (request: StoreRequest) => {
  const reply = handle(request);
  if (reply) port.postMessage(reply);
});
