import { DNSKEY, isZoneKey, NSEC, NSEC3, NSEC3PARAM, Nsec3Chain, nsec3Hash, nsec3Matches, nsec3ParamsOf, NsecChain, RRSIG, sigCovers, type Nsec3Params } from './dnssec.js';
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
 * The key a node holds its RRSIGs covering `type` under, apart from every
 * type's own key (types are 16 bits): each signed RRset's signatures are
 * an RRset of their own, with their own TTL, as BIND keeps them.
 */
export function sigKey(covered: number): number {
  return 0x10000 + covered;
}

/** The RRSIGs at `node` covering `type`; undefined when there are none. */
export function sigsOf(node: ReadonlyMap<number, RRset> | undefined, type: number): RRset | undefined {
  return node?.get(sigKey(type));
}

/**
 * How a zone proves what it does not hold, as BIND decides it: signed with
 * NSEC when the apex has a zone key and a signed NSEC, with NSEC3 when it
 * has a zone key and an NSEC3PARAM BIND can use; otherwise unsigned, and
 * answers carry no signatures nor proofs whatever the DO bit says.
 */
export type Security = 'unsigned' | 'nsec' | 'nsec3';

/** An NSEC3 record of the zone's chain, with its owner and signatures. */
export interface Nsec3Entry {
  owner: string;
  nsec3: RRset;
  sigs: RRset | undefined;
}

type Node = Map<number, RRset>;

/**
 * A zone in memory, as auth answers from it: RRsets by owner name and type,
 * and every name that exists, empty non-terminals included (a name with
 * nothing of its own but names below it exists: NODATA, not NXDOMAIN).
 * Built once from the store and never changed: a reload builds a new one.
 * Records are taken one at a time (the store gives them in order, each
 * RRset's together), their RDATA copied into large chunks that the RRsets
 * are views of: no object per record is kept.
 *
 * NSEC3 records and the RRSIGs covering them are kept apart, as named keeps
 * them: their owners are no names of the zone (asked for, they do not
 * exist), and they serve only as proofs. A signed zone also holds its
 * NSEC owners in canonical order, or its NSEC3 chain in hash order, for
 * the proofs (src/dns/denial.ts).
 */
export class Zone {
  private readonly nodes = new Map<string, Node>();
  /**
   * The names that exist with no records of their own (empty non-terminals);
   * every other name that exists has a node. Not a set of every name: with
   * a million names that would cost a worker tens of MB more.
   */
  private readonly empty = new Set<string>();
  private readonly nsec3Nodes = new Map<string, Node>();
  readonly soa: RRset;
  readonly records: number;
  readonly security: Security;
  /** The hashing of the NSEC3 chain (security 'nsec3'). */
  readonly nsec3Params: Nsec3Params | undefined;
  private readonly nsecChain: NsecChain | undefined;
  private readonly nsec3Chain: Nsec3Chain<Nsec3Entry> | undefined;

  constructor(
    readonly origin: string,
    records: Iterable<ZoneRecord>,
  ) {
    const originDepth = labels(origin).length;
    let chunk = Buffer.allocUnsafe(CHUNK);
    let used = 0;
    let count = 0;
    let open: { nodes: Map<string, Node>; name: string; key: number; type: number; ttl: number; start: number; count: number; targets: string[] } | undefined;
    const close = (): void => {
      if (!open) return;
      const { nodes, name, key, type, ttl, start } = open;
      let node = nodes.get(name);
      if (!node) nodes.set(name, (node = new Map()));
      const wire = chunk.subarray(start, used);
      const earlier = node.get(key);
      // Records of one RRset apart from each other (not the store's order): joined, with the first TTL.
      const rrset: RRset = earlier
        ? { ...earlier, count: earlier.count + open.count, wire: Buffer.concat([earlier.wire, wire]), targets: [...earlier.targets, ...open.targets] }
        : { name, type, ttl, count: open.count, wire, targets: open.targets.length === 0 ? NO_TARGETS : open.targets.slice() };
      node.set(key, rrset);
      open = undefined;
    };
    for (const r of records) {
      const key = r.type === RRSIG ? sigKey(sigCovers(r.rdata)) : r.type;
      const apart = r.type === NSEC3 || key === sigKey(NSEC3);
      if (open?.name !== r.name || open.key !== key) {
        close();
        if (!apart && !this.nodes.has(r.name)) this.ancestorsExist(r.name, originDepth);
        open = { nodes: apart ? this.nsec3Nodes : this.nodes, name: r.name, key, type: r.type, ttl: r.ttl, start: used, count: 0, targets: [] };
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
    // Records came for some of them after a name below (not in the store's order).
    for (const name of this.empty) if (this.nodes.has(name)) this.empty.delete(name);
    this.records = count;
    const apex = this.nodes.get(origin);
    const soa = apex?.get(SOA);
    if (!soa) throw new Error(`zone ${origin} has no SOA`);
    this.soa = soa;
    const keys = apex!.get(DNSKEY);
    const signed = keys !== undefined && rdatasOf(keys).some(isZoneKey);
    const nsec3param = apex!.get(NSEC3PARAM);
    this.nsec3Params = signed && nsec3param ? rdatasOf(nsec3param).map(nsec3ParamsOf).find((p) => p !== undefined) : undefined;
    if (this.nsec3Params) {
      this.security = 'nsec3';
      this.nsec3Chain = new Nsec3Chain(this.nsec3Entries(this.nsec3Params));
    } else if (signed && apex!.has(NSEC) && sigsOf(apex, NSEC)) {
      this.security = 'nsec';
      this.nsecChain = new NsecChain(this.nsecOwners());
    } else {
      this.security = 'unsigned';
    }
  }

  /** The owners of signed NSEC records: the NSEC chain's links. */
  private *nsecOwners(): Generator<string> {
    for (const [name, node] of this.nodes) if (node.has(NSEC) && node.has(sigKey(NSEC))) yield name;
  }

  /** The signed NSEC3 records of the chain `params` makes, owned right below the apex: the others are never used. */
  private *nsec3Entries(params: Nsec3Params): Generator<{ hash: string; entry: Nsec3Entry }> {
    const suffix = this.origin === '.' ? '' : this.origin;
    for (const [owner, node] of this.nsec3Nodes) {
      const hash = owner.slice(0, owner.length - suffix.length - 1);
      const nsec3 = node.get(NSEC3);
      const sigs = sigsOf(node, NSEC3);
      if (!nsec3 || !sigs || hash.includes('.') || !owner.endsWith(`.${suffix}`) || !nsec3Matches(rdatasOf(nsec3)[0]!, params)) continue;
      yield { hash, entry: { owner, nsec3, sigs } };
    }
  }

  /** The RRsets at a name, undefined when the name has none (it may still exist as an empty non-terminal). */
  node(name: string): ReadonlyMap<number, RRset> | undefined {
    return this.nodes.get(name);
  }

  exists(name: string): boolean {
    return this.nodes.has(name) || this.empty.has(name);
  }

  /** Each ancestor of `name` down to the origin exists: those with no node yet as empty non-terminals. */
  private ancestorsExist(name: string, originDepth: number): void {
    const own = labels(name);
    for (let i = 1; i + originDepth <= own.length; i++) {
      const above = own.length - i === 0 ? '.' : `${own.slice(i).join('.')}.`;
      // Known already: so are its own ancestors.
      if (this.exists(above)) return;
      this.empty.add(above);
    }
  }

  /** The closest existing ancestor of `name` (an empty non-terminal counts): the origin at the furthest. */
  closestEncloser(name: string): string {
    const own = labels(name);
    const depth = labels(this.origin).length;
    for (let i = 1; own.length - i > depth; i++) {
      const above = `${own.slice(i).join('.')}.`;
      if (this.exists(above)) return above;
    }
    return this.origin;
  }

  /** The owner of the NSEC that `name` owns, or else covers (security 'nsec'). */
  nsecAtOrBefore(name: string): string {
    return this.nsecChain!.atOrBefore(name);
  }

  /** The NSEC3 whose hash is `name`'s (matches), or else the one covering it (security 'nsec3'). */
  nsec3For(name: string): { entry: Nsec3Entry; matches: boolean } | undefined {
    return this.nsec3Chain!.find(nsec3Hash(name, this.nsec3Params!));
  }

  get serial(): number {
    return soaTimers(rdatasOf(this.soa)[0]!).serial;
  }

  /**
   * This zone with `removed` taken out and `added` put in (a dynamic
   * update's difference, the SOA's old and new versions among them): only
   * the names changed get new RRsets, changed in place in the maps the new
   * zone takes over, so the cost follows the change, not the zone (a copy
   * of the maps per update made updates slower as the zone grew). This
   * zone is spent afterwards: serve the one returned in its place, in the
   * same turn of the event loop, so no query sees the maps half changed.
   * Undefined, with this zone untouched, when it cannot be made so and the
   * zone is to be loaded whole: a signed zone (its proofs' chains would
   * change too), DNSSEC records, or a record to remove that it does not hold.
   */
  withChanges(removed: readonly ZoneRecord[], added: readonly ZoneRecord[]): Zone | undefined {
    const dnssec = (r: ZoneRecord): boolean => r.type === RRSIG || r.type === NSEC || r.type === NSEC3 || r.type === DNSKEY || r.type === NSEC3PARAM;
    if (this.security !== 'unsigned' || removed.some(dnssec) || added.some(dnssec)) return undefined;
    // By the node's keys (the RRSIGs of one type apart from those of another), each with its record type.
    const changed = new Map<string, Map<number, { type: number; ttl: number; rdatas: Buffer[] }>>();
    const draft = (name: string): Map<number, { type: number; ttl: number; rdatas: Buffer[] }> => {
      let node = changed.get(name);
      if (!node) {
        node = new Map();
        for (const [key, rrset] of this.nodes.get(name) ?? []) node.set(key, { type: rrset.type, ttl: rrset.ttl, rdatas: rdatasOf(rrset) });
        changed.set(name, node);
      }
      return node;
    };
    for (const r of removed) {
      const node = draft(r.name);
      const rrset = node.get(r.type);
      const at = rrset?.rdatas.findIndex((rdata) => rdata.equals(r.rdata)) ?? -1;
      if (at < 0) return undefined;
      rrset!.rdatas.splice(at, 1);
      if (rrset!.rdatas.length === 0) node.delete(r.type);
    }
    for (const r of added) {
      const node = draft(r.name);
      const rrset = node.get(r.type);
      if (rrset) {
        rrset.ttl = r.ttl;
        rrset.rdatas.push(r.rdata);
      } else {
        node.set(r.type, { type: r.type, ttl: r.ttl, rdatas: [r.rdata] });
      }
    }
    // Everything is checked before the maps change: a zone without its SOA is loaded whole instead.
    if (changed.get(this.origin)?.has(SOA) === false) return undefined;
    const { nodes, empty } = this;
    const originDepth = labels(this.origin).length;
    const gone: string[] = [];
    for (const [name, node] of changed) {
      if (node.size === 0) {
        nodes.delete(name);
        gone.push(name);
        continue;
      }
      nodes.set(name, new Map([...node].map(([key, { type, ttl, rdatas }]) => [key, makeRRset(name, type, ttl, rdatas)])));
      empty.delete(name);
      this.ancestorsExist(name, originDepth);
    }
    // A name left with nothing exists still while a name below it does (an empty non-terminal); so do its ancestors.
    for (const name of gone) {
      const own = labels(name);
      for (let i = 0; i + originDepth < own.length; i++) {
        const above = `${own.slice(i).join('.')}.`;
        if (nodes.has(above)) break;
        if ([...nodes.keys()].some((n) => n.endsWith(`.${above}`))) {
          empty.add(above);
          break;
        }
        empty.delete(above);
      }
    }
    // The same class, its fields those of the changed zone; everything a signed zone adds stays unset.
    return Object.assign(Object.create(Zone.prototype) as Zone, {
      origin: this.origin,
      nodes,
      empty,
      nsec3Nodes: this.nsec3Nodes,
      soa: nodes.get(this.origin)!.get(SOA)!,
      records: this.records - removed.length + added.length,
      security: 'unsigned',
    });
  }
}
