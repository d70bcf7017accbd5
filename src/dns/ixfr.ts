import type { ZoneRecord } from './master-file.js';
import { soaTimers } from './rdata.js';

/**
 * Incremental zone transfer (RFC 1995), the pure part: the difference
 * between two versions of a zone, the record sequence IXFR sends for a chain
 * of differences, and the reading of a transfer's answer, which may be
 * incremental or the whole zone (RFC 1995 4). A difference lists the records
 * removed (the old SOA first) and added (the new SOA first); records are the
 * same when owner, type and RDATA are, so a TTL change is a removal and an
 * addition.
 */

export interface Difference {
  removed: ZoneRecord[];
  added: ZoneRecord[];
}

const SOA = 6;

/** RFC 1982 serial arithmetic: whether serial `a` is newer than `b`. */
export function serialNewer(a: number, b: number): boolean {
  const diff = (a - b) >>> 0;
  return diff !== 0 && diff < 0x80000000;
}

export const serialOf = (soa: ZoneRecord): number => soaTimers(soa.rdata).serial;

/** What tells records apart in a difference: owner, type and RDATA (not the TTL). */
export function recordKey(r: ZoneRecord): string {
  return `${r.name}\u0000${r.type}\u0000${r.rdata.toString('latin1')}`;
}

const isSoaOf = (zone: string, r: ZoneRecord): boolean => r.type === SOA && r.name === zone;

/**
 * The difference from the zone `before` to `after` (both with their SOA at
 * `zone`): what is only in the old, or there with another TTL, is removed;
 * what is only in the new, or there with another TTL, added. The SOAs
 * always, first of each list, as RFC 1995 orders them.
 */
export function zoneDifference(zone: string, before: Iterable<ZoneRecord>, after: readonly ZoneRecord[]): Difference {
  const next = new Map<string, ZoneRecord>();
  let newSoa: ZoneRecord | undefined;
  for (const r of after) {
    if (isSoaOf(zone, r)) newSoa = r;
    else next.set(recordKey(r), r);
  }
  let oldSoa: ZoneRecord | undefined;
  const removed: ZoneRecord[] = [];
  for (const r of before) {
    if (isSoaOf(zone, r)) {
      oldSoa = r;
      continue;
    }
    const key = recordKey(r);
    const kept = next.get(key);
    if (kept && kept.ttl === r.ttl) next.delete(key);
    else removed.push(r);
  }
  if (!oldSoa || !newSoa) throw new Error(`zone ${zone}: both versions need their SOA`);
  return { removed: [oldSoa, ...removed], added: [newSoa, ...next.values()] };
}

/** The records of a difference chain, SOAs included. */
export const differenceSize = (chain: readonly Difference[]): number => chain.reduce((n, d) => n + d.removed.length + d.added.length, 0);

/** What IXFR sends for `chain` (RFC 1995 4): the current SOA, each difference, the current SOA again. */
export function* ixfrSequence(current: ZoneRecord, chain: readonly Difference[]): Generator<ZoneRecord> {
  yield current;
  for (const d of chain) {
    yield* d.removed;
    yield* d.added;
  }
  yield current;
}

/** What an IXFR's answer turned out to be. */
export type IxfrResult =
  /** The primary has nothing newer: it sent its SOA alone. */
  | { kind: 'current'; serial: number }
  /** The whole zone, AXFR-style, its SOA first (once). */
  | { kind: 'whole'; serial: number; records: ZoneRecord[] }
  /** The differences from our serial to `serial`, in order. */
  | { kind: 'incremental'; serial: number; chain: Difference[] };

export class IxfrFormatError extends Error {}

/**
 * Reads an IXFR answer record by record, as it arrives (RFC 1995 4): the
 * primary's SOA; then either our serial's SOA, and differences until the
 * primary's SOA comes again where a difference would begin, or any other
 * record, and the whole zone until its SOA comes again. A lone SOA in the
 * first message, not newer than ours, says we are current. `result` is set
 * once the answer is complete; anything else is an IxfrFormatError.
 */
export class IxfrReader {
  result: IxfrResult | undefined;
  private state: 'first' | 'second' | 'whole' | 'removing' | 'adding' = 'first';
  private final = 0;
  private records: ZoneRecord[] = [];
  private readonly chain: Difference[] = [];
  private diff: Difference = { removed: [], added: [] };
  private seen = 0;

  constructor(
    private readonly zone: string,
    private readonly ours: number,
  ) {}

  push(r: ZoneRecord): void {
    if (this.result) throw new IxfrFormatError('records after the end of the transfer');
    this.seen++;
    const soa = isSoaOf(this.zone, r);
    switch (this.state) {
      case 'first':
        if (!soa) throw new IxfrFormatError('the answer does not begin with the zone\'s SOA');
        this.final = serialOf(r);
        this.records = [r];
        this.state = 'second';
        return;
      case 'second':
        if (soa && serialOf(r) !== this.final) {
          if (serialOf(r) !== this.ours) throw new IxfrFormatError(`the differences begin at serial ${serialOf(r)}, not at ours (${this.ours})`);
          this.begin(r);
          return;
        }
        this.state = 'whole';
        if (soa) {
          this.result = { kind: 'whole', serial: this.final, records: this.records };
          return;
        }
        this.records.push(r);
        return;
      case 'whole':
        if (soa) this.result = { kind: 'whole', serial: this.final, records: this.records };
        else this.records.push(r);
        return;
      case 'removing':
        if (soa) {
          this.diff.added.push(r);
          this.state = 'adding';
        } else this.diff.removed.push(r);
        return;
      case 'adding': {
        if (!soa) {
          this.diff.added.push(r);
          return;
        }
        const reached = serialOf(this.diff.added[0]!);
        this.chain.push(this.diff);
        if (serialOf(r) === this.final && reached === this.final) {
          this.result = { kind: 'incremental', serial: this.final, chain: this.chain };
          return;
        }
        if (serialOf(r) !== reached) throw new IxfrFormatError(`a difference from serial ${serialOf(r)} follows one that ended at ${reached}`);
        this.begin(r);
        return;
      }
    }
  }

  /** The end of one message: a first message that is the SOA alone, not newer than ours, says we are current. */
  messageEnd(): void {
    if (this.result || this.state !== 'second' || this.seen !== 1) return;
    if (!serialNewer(this.final, this.ours)) this.result = { kind: 'current', serial: this.final };
  }

  private begin(oldSoa: ZoneRecord): void {
    this.diff = { removed: [oldSoa], added: [] };
    this.state = 'removing';
  }
}
