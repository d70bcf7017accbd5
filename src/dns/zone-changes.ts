import type { ZoneRecord } from './master-file.js';

/**
 * A zone's changes as they travel over the bus with `loadzone` (ddns to
 * auth): each the serial it starts from and the records removed and added,
 * RDATA in base64. Pure.
 */

export interface ZoneChange {
  /** The serial of the zone the change applies to. */
  from: number;
  removed: ZoneRecord[];
  added: ZoneRecord[];
}

interface BusRecord {
  name: string;
  ttl: number;
  type: number;
  rdata: string;
}

const toBus = (r: ZoneRecord): BusRecord => ({ name: r.name, ttl: r.ttl, type: r.type, rdata: r.rdata.toString('base64') });

export function changesToBus(changes: readonly ZoneChange[]): unknown[] {
  return changes.map((c) => ({ from: c.from, removed: c.removed.map(toBus), added: c.added.map(toBus) }));
}

function recordsFrom(value: unknown): ZoneRecord[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const out: ZoneRecord[] = [];
  for (const r of value as Partial<BusRecord>[]) {
    if (typeof r?.name !== 'string' || typeof r.rdata !== 'string' || !Number.isInteger(r.ttl) || !Number.isInteger(r.type)) return undefined;
    out.push({ name: r.name, ttl: r.ttl!, type: r.type!, rdata: Buffer.from(r.rdata, 'base64') });
  }
  return out;
}

/** The changes a `loadzone` carries; undefined when it carries none, or anything not quite that (auth then loads the zone whole). */
export function changesFromBus(value: unknown): ZoneChange[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  const out: ZoneChange[] = [];
  for (const c of value as { from?: unknown; removed?: unknown; added?: unknown }[]) {
    const removed = recordsFrom(c?.removed);
    const added = recordsFrom(c?.added);
    if (!Number.isInteger(c?.from) || !removed || !added) return undefined;
    out.push({ from: c.from as number, removed, added });
  }
  return out;
}
