import type { ZoneRecord } from './master-file.js';
import { labels } from './name.js';

/** An RRset: owner, type, TTL (the set's one TTL), RDATA in canonical presentation form. */
export interface RRset {
  name: string;
  type: number;
  ttl: number;
  rdatas: string[];
}

export const SOA = 6;
export const NS = 2;
export const CNAME = 5;
export const DNAME = 39;
export const A = 1;
export const AAAA = 28;

/**
 * A zone in memory, as auth answers from it: RRsets by owner name and type,
 * and every name that exists, empty non-terminals included (a name with
 * nothing of its own but names below it exists: NODATA, not NXDOMAIN).
 * Built once from the store and never changed: a reload builds a new one.
 */
export class Zone {
  private readonly nodes = new Map<string, Map<number, RRset>>();
  private readonly names = new Set<string>();
  readonly soa: RRset;

  constructor(
    readonly origin: string,
    records: readonly ZoneRecord[],
  ) {
    const originDepth = labels(origin).length;
    for (const r of records) {
      let node = this.nodes.get(r.name);
      if (!node) this.nodes.set(r.name, (node = new Map()));
      let rrset = node.get(r.type);
      if (!rrset) node.set(r.type, (rrset = { name: r.name, type: r.type, ttl: r.ttl, rdatas: [] }));
      rrset.rdatas.push(r.rdata);
      // The name and each of its ancestors down to the origin exist.
      const own = labels(r.name);
      for (let i = 0; i + originDepth <= own.length; i++) this.names.add(own.length - i === 0 ? '.' : `${own.slice(i).join('.')}.`);
    }
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
    return Number(this.soa.rdatas[0]!.split(' ')[2]);
  }
}
