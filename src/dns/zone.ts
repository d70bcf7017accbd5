import type { ZoneRecord } from './master-file.js';
import { labels } from './name.js';
import { hasTargets, rdataTargets, soaTimers } from './rdata.js';

/**
 * An RRset as auth holds it: owner, type, the set's one TTL, its RDATAs in
 * uncompressed wire form one after the other (each after its 2-byte
 * length, as on the wire), and the names lookups follow from them (the
 * targets of NS, MX, SRV, CNAME, DNAME...; empty for other types).
 */
export interface RRset {
  name: string;
  type: number;
  ttl: number;
  /** How many RDATAs `wire` holds. */
  count: number;
  /** Each RDATA after its length, as in a record on the wire. */
  wire: Buffer;
  /** Lowercase, in RDATA order. */
  targets: readonly string[];
}

export const SOA = 6;
export const NS = 2;
export const CNAME = 5;
export const DNAME = 39;
export const A = 1;
export const AAAA = 28;

const NO_TARGETS: readonly string[] = Object.freeze([]);

function targetsOf(type: number, rdatas: readonly Buffer[]): readonly string[] {
  const out: string[] = [];
  for (const rdata of rdatas) out.push(...rdataTargets(type, rdata));
  return out.length === 0 ? NO_TARGETS : out;
}

/** An RRset of `rdatas` (each in wire form), for one made up in an answer (a CNAME from a DNAME, say). */
export function makeRRset(name: string, type: number, ttl: number, rdatas: readonly Buffer[]): RRset {
  const wire = Buffer.allocUnsafe(rdatas.reduce((n, r) => n + 2 + r.length, 0));
  let pos = 0;
  for (const r of rdatas) {
    wire.writeUInt16BE(r.length, pos);
    r.copy(wire, pos + 2);
    pos += 2 + r.length;
  }
  return { name, type, ttl, count: rdatas.length, wire, targets: targetsOf(type, rdatas) };
}

/** The RDATAs of an RRset, each in wire form (views into it, not copies). */
export function rdatasOf(rrset: RRset): Buffer[] {
  const out: Buffer[] = [];
  for (let pos = 0; pos < rrset.wire.length; ) {
    const length = rrset.wire.readUInt16BE(pos);
    out.push(rrset.wire.subarray(pos + 2, pos + 2 + length));
    pos += 2 + length;
  }
  return out;
}

/** The SOA's negative-caching TTL field (RFC 2308). */
export function soaMinimum(soa: RRset): number {
  return soaTimers(rdatasOf(soa)[0]!).minimum;
}

/** The RDATA of a zone lies in chunks of this size (a larger RRset gets a chunk of its own). */
const CHUNK = 1 << 20;

/**
 * A zone in memory, as auth answers from it: RRsets by owner name and type,
 * and every name that exists, empty non-terminals included (a name with
 * nothing of its own but names below it exists: NODATA, not NXDOMAIN).
 * Built once from the store and never changed: a reload builds a new one.
 * Records are taken one at a time (the store gives them in order, each
 * RRset's together), their RDATA copied into large chunks that the RRsets
 * are views of: no object per record is kept.
 */
export class Zone {
  private readonly nodes = new Map<string, Map<number, RRset>>();
  private readonly names = new Set<string>();
  readonly soa: RRset;
  readonly records: number;

  constructor(
    readonly origin: string,
    records: Iterable<ZoneRecord>,
  ) {
    const originDepth = labels(origin).length;
    let chunk = Buffer.allocUnsafe(CHUNK);
    let used = 0;
    let count = 0;
    let open: { name: string; type: number; ttl: number; start: number; count: number; targets: string[] } | undefined;
    const close = (): void => {
      if (!open) return;
      const { name, type, ttl, start } = open;
      let node = this.nodes.get(name);
      if (!node) this.nodes.set(name, (node = new Map()));
      const wire = chunk.subarray(start, used);
      const earlier = node.get(type);
      // Records of one RRset apart from each other (not the store's order): joined, with the first TTL.
      const rrset: RRset = earlier
        ? { ...earlier, count: earlier.count + open.count, wire: Buffer.concat([earlier.wire, wire]), targets: [...earlier.targets, ...open.targets] }
        : { name, type, ttl, count: open.count, wire, targets: open.targets.length === 0 ? NO_TARGETS : open.targets };
      node.set(type, rrset);
      open = undefined;
    };
    for (const r of records) {
      if (open?.name !== r.name || open.type !== r.type) {
        close();
        if (!this.nodes.has(r.name)) {
          // The name and each of its ancestors down to the origin exist.
          const own = labels(r.name);
          for (let i = 0; i + originDepth <= own.length; i++) this.names.add(own.length - i === 0 ? '.' : `${own.slice(i).join('.')}.`);
        }
        open = { name: r.name, type: r.type, ttl: r.ttl, start: used, count: 0, targets: [] };
      }
      const size = 2 + r.rdata.length;
      if (used + size > chunk.length) {
        // A new chunk, the RRset's records so far moved into it.
        const sofar = chunk.subarray(open.start, used);
        chunk = Buffer.allocUnsafe(Math.max(CHUNK, 2 * (sofar.length + size)));
        sofar.copy(chunk);
        open.start = 0;
        used = sofar.length;
      }
      chunk.writeUInt16BE(r.rdata.length, used);
      r.rdata.copy(chunk, used + 2);
      used += size;
      open.count++;
      if (hasTargets(r.type)) open.targets.push(...rdataTargets(r.type, r.rdata));
      count++;
    }
    close();
    this.records = count;
    const soa = this.nodes.get(origin)?.get(SOA);
    if (!soa) throw new Error(`zone ${origin} has no SOA`);
    this.soa = soa;
  }

  /** The RRsets at a name, undefined when the name has none (it may still exist as an empty non-terminal). */
  node(name: string): Map<number, RRset> | undefined {
    return this.nodes.get(name);
  }

  exists(name: string): boolean {
    return this.names.has(name);
  }

  get serial(): number {
    return soaTimers(rdatasOf(this.soa)[0]!).serial;
  }
}
