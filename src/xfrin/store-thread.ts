import { parentPort, workerData } from 'node:worker_threads';
import { ZoneStore, ZoneStoreError, type StagedZone } from '../dns/zone-store.js';
import { unpackRecords, type StoreReply, type StoreRequest, type StoreThreadOptions } from './store-thread-protocol.js';

/**
 * xfrin's store thread: the SQLite side of the AXFRs xfrin receives, so
 * that writing one batch overlaps receiving, decoding and checking the
 * next (each takes about as long as the other). Each transfer has its own
 * connection to the store and its zone staged there (StagedZone). The
 * first thing it does is drop what a thread before it (one that died,
 * with its xfrin) left staged: xfrin is the only writer that stages.
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

const leftover = ZoneStore.open(dataPath);
try {
  leftover.dropUnseen();
} finally {
  leftover.close();
}

const failure = (err: unknown): { error: string; storeError: boolean } => ({ error: (err as Error).message, storeError: err instanceof ZoneStoreError });

function end(transfer: number): void {
  transfers.get(transfer)?.store?.close();
  transfers.delete(transfer);
}

function handle(request: StoreRequest): StoreReply | undefined {
  const { transfer } = request;
  if (request.op === 'stage') {
    const entry: Transfer = {};
    transfers.set(transfer, entry);
    try {
      entry.store = ZoneStore.open(dataPath, { maxJournalRecords: request.maxJournalRecords });
      entry.staged = entry.store.stageZone(request.zone);
    } catch (err) {
      entry.failed = failure(err);
    }
    return undefined;
  }
  const entry = transfers.get(transfer);
  // Aborting one that ended already (its commit failed) is no error.
  if (!entry) return request.op === 'abort' ? { transfer, ok: true } : { transfer, ok: false, error: `no transfer ${transfer} staged`, storeError: false };
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
        entry.staged?.abort();
        end(transfer);
        return { transfer, ok: false, ...entry.failed };
      }
      try {
        return { transfer, ok: true, ...entry.staged!.commit() };
      } catch (err) {
        entry.staged!.abort();
        end(transfer);
        return { transfer, ok: false, ...failure(err) };
      }
    case 'tidy':
      try {
        entry.staged!.tidy();
        return { transfer, ok: true };
      } catch (err) {
        return { transfer, ok: false, ...failure(err) };
      } finally {
        end(transfer);
      }
    case 'abort':
      try {
        entry.staged?.abort();
        return { transfer, ok: true };
      } catch (err) {
        return { transfer, ok: false, ...failure(err) };
      } finally {
        end(transfer);
      }
  }
}

port.on('message', (request: StoreRequest) => {
  const reply = handle(request);
  if (reply) port.postMessage(reply);
});
