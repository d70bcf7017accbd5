import type { ZoneRecord } from '../dns/master-file.js';

/**
 * What xfrin's main thread and its store thread (store-thread.ts) say to
 * each other. A transfer's records cross as one batch per message
 * received: the owners as strings, the rest packed in typed arrays whose
 * buffers are moved, not copied (a Buffer per record would be cloned with
 * the whole pool it was cut from).
 */

export interface StoreThreadOptions {
  dataPath: string;
}

export interface PackedRecords {
  names: string[];
  ttls: Uint32Array;
  types: Uint16Array;
  /** Every RDATA, one after the other; `ends[i]` is where record i's ends. */
  rdata: Uint8Array;
  ends: Uint32Array;
}

export type StoreRequest =
  | { op: 'stage'; transfer: number; zone: string; maxJournalRecords: number }
  | { op: 'add'; transfer: number; records: PackedRecords }
  | { op: 'commit'; transfer: number }
  | { op: 'tidy'; transfer: number }
  | { op: 'abort'; transfer: number };

/** The answer to commit, tidy and abort (stage and add have none: a failure of theirs is commit's answer). */
export type StoreReply =
  | { transfer: number; ok: true; serial?: number; records?: number }
  | { transfer: number; ok: false; error: string; storeError: boolean };

export function packRecords(records: readonly ZoneRecord[]): { packed: PackedRecords; moved: ArrayBuffer[] } {
  const n = records.length;
  const names = new Array<string>(n);
  const ttls = new Uint32Array(n);
  const types = new Uint16Array(n);
  const ends = new Uint32Array(n);
  let size = 0;
  for (const r of records) size += r.rdata.length;
  const rdata = new Uint8Array(size);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    names[i] = r.name;
    ttls[i] = r.ttl;
    types[i] = r.type;
    rdata.set(r.rdata, at);
    at += r.rdata.length;
    ends[i] = at;
  }
  return { packed: { names, ttls, types, rdata, ends }, moved: [ttls.buffer, types.buffer, rdata.buffer, ends.buffer] as ArrayBuffer[] };
}

export function unpackRecords({ names, ttls, types, rdata, ends }: PackedRecords): ZoneRecord[] {
  const data = Buffer.from(rdata.buffer, rdata.byteOffset, rdata.byteLength);
  const out = new Array<ZoneRecord>(names.length);
  let at = 0;
  for (let i = 0; i < names.length; i++) {
    out[i] = { name: names[i]!, ttl: ttls[i]!, type: types[i]!, rdata: data.subarray(at, ends[i]) };
    at = ends[i]!;
  }
  return out;
}
