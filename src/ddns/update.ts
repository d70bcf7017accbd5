import { serialNewer } from '../dns/ixfr.js';
import { DNSKEY, NSEC, NSEC3, NSEC3PARAM, RRSIG } from '../dns/dnssec.js';
import { BESIDE_CNAME, type ZoneRecord } from '../dns/master-file.js';
import { RCODE } from '../dns/message.js';
import { isWithin } from '../dns/name.js';
import { rdataNames, soaTimers } from '../dns/rdata.js';
import { CNAME, NS, SOA } from '../dns/zone.js';
import { CLASS_ANY, CLASS_IN, CLASS_NONE, TYPE_ANY, type UpdateRR } from './update-message.js';

/**
 * RFC 2136's checks and changes, as named makes them, on a zone held in
 * memory: the prerequisites (3.2), the prescan of the update section
 * (3.4.1), then the updates (3.4.2) on a copy of the names they touch. What
 * comes out is the difference, every record removed and added with the
 * SOA's old and new versions among them, to be written in one transaction:
 * all of the update or none of it. Pure.
 */

/** One RRset of the zone: its TTL, and its records by their RDATA compared as named compares it. */
export interface RRsetData {
  ttl: number;
  rdatas: Map<string, Buffer>;
}

type Node = Map<number, RRsetData>;

/** Types an UPDATE may not touch: b10 serves signed zones but does not sign, and these would break their proofs. */
const DNSSEC_TYPES: ReadonlySet<number> = new Set([RRSIG, NSEC, NSEC3, NSEC3PARAM, DNSKEY]);

/** Meta and query types (RFC 6895 3.1): OPT, TKEY, TSIG, IXFR, AXFR, MAILB, MAILA, ANY; never zone data. */
function isMeta(type: number): boolean {
  return type === 41 || (type >= 128 && type <= 255);
}

/**
 * The RDATA as a comparison key: names inside lowercased, since two records
 * whose names differ only in case are the same record (RFC 4034 6.2).
 */
export function rdataKey(type: number, rdata: Buffer): string {
  const names = rdataNames(type, rdata);
  if (names.length === 0) return rdata.toString('latin1');
  const copy = Buffer.from(rdata);
  for (const { at } of names) {
    for (let pos = at; copy[pos]! !== 0; pos += copy[pos]! + 1) {
      for (let i = pos + 1; i <= pos + copy[pos]!; i++) if (copy[i]! >= 0x41 && copy[i]! <= 0x5a) copy[i] = copy[i]! + 32;
    }
  }
  return copy.toString('latin1');
}

/** A zone as ddns holds it between updates: its names and their RRsets, kept in step with what it writes. */
export class ZoneData {
  private readonly names = new Map<string, Node>();

  constructor(
    readonly origin: string,
    records: Iterable<ZoneRecord>,
  ) {
    for (const r of records) this.add(r);
  }

  /** The apex SOA record. */
  get soa(): ZoneRecord {
    const soa = this.names.get(this.origin)?.get(SOA);
    const rdata = soa && [...soa.rdatas.values()][0];
    if (!soa || !rdata) throw new Error(`zone ${this.origin} has no SOA`);
    return { name: this.origin, ttl: soa.ttl, type: SOA, rdata };
  }

  /** Whether the zone holds DNSKEY at its apex: it is signed, and b10 cannot sign what an update changes. */
  get signed(): boolean {
    return this.names.get(this.origin)?.has(DNSKEY) === true;
  }

  node(name: string): ReadonlyMap<number, RRsetData> | undefined {
    return this.names.get(name);
  }

  /** Takes a difference written to the store, so the next update starts from the zone as it now is. */
  apply(diff: Difference): void {
    for (const r of diff.removed) {
      const node = this.names.get(r.name);
      const rrset = node?.get(r.type);
      rrset?.rdatas.delete(rdataKey(r.type, r.rdata));
      if (node && rrset?.rdatas.size === 0) node.delete(r.type);
      if (node?.size === 0) this.names.delete(r.name);
    }
    for (const r of diff.added) this.add(r);
  }

  private add(r: ZoneRecord): void {
    let node = this.names.get(r.name);
    if (!node) this.names.set(r.name, (node = new Map()));
    let rrset = node.get(r.type);
    if (!rrset) node.set(r.type, (rrset = { ttl: r.ttl, rdatas: new Map() }));
    rrset.ttl = r.ttl;
    rrset.rdatas.set(rdataKey(r.type, r.rdata), r.rdata);
  }
}

/** What an update changes, for ZoneStore.applyDifference: removed records (the old SOA among them) and added ones (the new SOA). */
export interface Difference {
  removed: ZoneRecord[];
  added: ZoneRecord[];
}

export interface Outcome {
  rcode: number;
  /** Why it is not NOERROR, for the log. */
  why?: string;
  /** What to write: none when the update failed or changed nothing. */
  diff?: Difference;
  /** The zone's serial after it. */
  serial?: number;
}

const fail = (rcode: number, why: string): Outcome => ({ rcode, why });

/** RFC 2136 3.2: the first prerequisite not met decides the rcode; NOERROR when all are. */
export function checkPrerequisites(zone: ZoneData, prerequisites: readonly UpdateRR[]): Outcome {
  const wanted = new Map<string, { name: string; type: number; keys: Set<string> }>();
  for (const rr of prerequisites) {
    const what = `${rr.name} ${rr.type}`;
    if (rr.ttl !== 0) return fail(RCODE.FORMERR, `prerequisite ${what} has a TTL`);
    if (!isWithin(rr.name, zone.origin)) return fail(RCODE.NOTZONE, `prerequisite ${rr.name} is outside the zone`);
    const node = zone.node(rr.name);
    if (rr.klass === CLASS_ANY || rr.klass === CLASS_NONE) {
      if (rr.rdata.length !== 0) return fail(RCODE.FORMERR, `prerequisite ${what} of class ${rr.klass} has data`);
      const present = rr.type === TYPE_ANY ? node !== undefined : node?.has(rr.type) === true;
      if (rr.klass === CLASS_ANY && !present) return rr.type === TYPE_ANY ? fail(RCODE.NXDOMAIN, `${rr.name} is not in use`) : fail(RCODE.NXRRSET, `no RRset ${what}`);
      if (rr.klass === CLASS_NONE && present) return rr.type === TYPE_ANY ? fail(RCODE.YXDOMAIN, `${rr.name} is in use`) : fail(RCODE.YXRRSET, `RRset ${what} exists`);
    } else if (rr.klass === CLASS_IN) {
      const key = `${rr.name}\u0000${rr.type}`;
      let entry = wanted.get(key);
      if (!entry) wanted.set(key, (entry = { name: rr.name, type: rr.type, keys: new Set() }));
      entry.keys.add(rdataKey(rr.type, rr.rdata));
    } else {
      return fail(RCODE.FORMERR, `prerequisite ${what} has class ${rr.klass}`);
    }
  }
  for (const { name, type, keys } of wanted.values()) {
    const have = zone.node(name)?.get(type)?.rdatas;
    const same = have !== undefined && have.size === keys.size && [...keys].every((k) => have.has(k));
    if (!same) return fail(RCODE.NXRRSET, `RRset ${name} ${type} is not as the prerequisite gives it`);
  }
  return { rcode: RCODE.NOERROR };
}

/** RFC 2136 3.4.1.3: the update section checked whole before anything changes. */
export function prescan(zone: ZoneData, updates: readonly UpdateRR[]): Outcome {
  for (const rr of updates) {
    const what = `${rr.name} ${rr.type}`;
    if (!isWithin(rr.name, zone.origin)) return fail(RCODE.NOTZONE, `update ${rr.name} is outside the zone`);
    if (rr.klass === CLASS_IN) {
      if (isMeta(rr.type)) return fail(RCODE.FORMERR, `update adds a record of meta type ${rr.type}`);
    } else if (rr.klass === CLASS_ANY) {
      if (rr.ttl !== 0 || rr.rdata.length !== 0) return fail(RCODE.FORMERR, `delete of ${what} has a TTL or data`);
      if (isMeta(rr.type) && rr.type !== TYPE_ANY) return fail(RCODE.FORMERR, `delete of meta type ${rr.type}`);
    } else if (rr.klass === CLASS_NONE) {
      if (rr.ttl !== 0) return fail(RCODE.FORMERR, `delete of one ${what} record has a TTL`);
      if (isMeta(rr.type)) return fail(RCODE.FORMERR, `delete of one record of meta type ${rr.type}`);
    } else {
      return fail(RCODE.FORMERR, `update ${what} has class ${rr.klass}`);
    }
    if (DNSSEC_TYPES.has(rr.type)) return fail(RCODE.REFUSED, `update of DNSSEC type ${rr.type}: b10 does not sign`);
  }
  return { rcode: RCODE.NOERROR };
}

/** The names an update touches, copied on first touch; the zone itself is left as it is. */
class Draft {
  readonly touched = new Map<string, Node>();

  constructor(private readonly zone: ZoneData) {}

  node(name: string): Node {
    let node = this.touched.get(name);
    if (!node) {
      node = new Map();
      for (const [type, rrset] of this.zone.node(name) ?? []) node.set(type, { ttl: rrset.ttl, rdatas: new Map(rrset.rdatas) });
      this.touched.set(name, node);
    }
    return node;
  }
}

/** Adds one record as RFC 2136 3.4.2.2 and named have it: CNAME alone at its name, the SOA only when newer, the RRset's TTL the last given. */
function add(draft: Draft, apex: string, rr: UpdateRR): void {
  const node = draft.node(rr.name);
  const types = [...node.keys()];
  if (rr.type === CNAME && types.some((t) => !BESIDE_CNAME.has(t))) return;
  if (rr.type !== CNAME && !BESIDE_CNAME.has(rr.type) && node.has(CNAME)) return;
  const rrset = node.get(rr.type);
  if (rr.type === SOA) {
    const current = rrset && [...rrset.rdatas.values()][0];
    if (rr.name !== apex || !current || !serialNewer(soaTimers(rr.rdata).serial, soaTimers(current).serial)) return;
  }
  if (!rrset || rr.type === SOA || rr.type === CNAME) {
    node.set(rr.type, { ttl: rr.ttl, rdatas: new Map([[rdataKey(rr.type, rr.rdata), rr.rdata]]) });
    return;
  }
  rrset.ttl = rr.ttl;
  rrset.rdatas.set(rdataKey(rr.type, rr.rdata), rr.rdata);
}

/** Deletes as RFC 2136 3.4.2.3 and 3.4.2.4 have it: never the SOA, never the apex NS RRset, never its last NS record. */
function remove(draft: Draft, apex: string, rr: UpdateRR): void {
  const atApex = rr.name === apex;
  if (rr.klass === CLASS_ANY) {
    const node = draft.node(rr.name);
    if (rr.type === TYPE_ANY) {
      for (const type of [...node.keys()]) if (!atApex || (type !== SOA && type !== NS)) node.delete(type);
    } else if (!atApex || (rr.type !== SOA && rr.type !== NS)) {
      node.delete(rr.type);
    }
    return;
  }
  if (rr.type === SOA) return;
  const node = draft.node(rr.name);
  const rrset = node.get(rr.type);
  const key = rdataKey(rr.type, rr.rdata);
  if (!rrset?.rdatas.has(key)) return;
  if (atApex && rr.type === NS && rrset.rdatas.size === 1) return;
  rrset.rdatas.delete(key);
  if (rrset.rdatas.size === 0) node.delete(rr.type);
}

/** The next serial as named's serial-update-method increment makes it: one more, RFC 1982, never 0. */
export function nextSerial(serial: number): number {
  const next = (serial + 1) >>> 0;
  return next === 0 ? 1 : next;
}

function withSerial(soa: Buffer, serial: number): Buffer {
  const out = Buffer.from(soa);
  out.writeUInt32BE(serial, out.length - 20);
  return out;
}

/** Records of one name's RRsets that are in `from` and not (or not with the same TTL) in `to`. */
function missing(name: string, from: ReadonlyMap<number, RRsetData> | undefined, to: ReadonlyMap<number, RRsetData> | undefined): ZoneRecord[] {
  const out: ZoneRecord[] = [];
  for (const [type, rrset] of from ?? []) {
    const other = to?.get(type);
    for (const [key, rdata] of rrset.rdatas) {
      if (other?.ttl !== rrset.ttl || !other.rdatas.has(key)) out.push({ name, ttl: rrset.ttl, type, rdata });
    }
  }
  return out;
}

/**
 * The whole of an UPDATE's work on `zone`: prerequisites, prescan, then the
 * updates on a draft. NOERROR with no difference when the updates change
 * nothing (every add a duplicate, every delete of something absent); else
 * the difference, with the SOA's serial moved on unless the update gave a
 * newer SOA itself.
 */
export function processUpdate(zone: ZoneData, prerequisites: readonly UpdateRR[], updates: readonly UpdateRR[]): Outcome {
  const checked = checkPrerequisites(zone, prerequisites);
  if (checked.rcode !== RCODE.NOERROR) return checked;
  const scanned = prescan(zone, updates);
  if (scanned.rcode !== RCODE.NOERROR) return scanned;
  const draft = new Draft(zone);
  for (const rr of updates) {
    if (rr.klass === CLASS_IN) add(draft, zone.origin, rr);
    else remove(draft, zone.origin, rr);
  }
  const removed: ZoneRecord[] = [];
  const added: ZoneRecord[] = [];
  for (const [name, node] of draft.touched) {
    removed.push(...missing(name, zone.node(name), node));
    added.push(...missing(name, node, zone.node(name)));
  }
  const oldSoa = zone.soa;
  if (removed.length === 0 && added.length === 0) return { rcode: RCODE.NOERROR, serial: soaTimers(oldSoa.rdata).serial };
  const soaChanged = added.some((r) => r.type === SOA);
  if (!soaChanged) {
    removed.push(oldSoa);
    added.push({ ...oldSoa, rdata: withSerial(oldSoa.rdata, nextSerial(soaTimers(oldSoa.rdata).serial)) });
  }
  const newSoa = added.find((r) => r.type === SOA)!;
  return { rcode: RCODE.NOERROR, diff: { removed, added }, serial: soaTimers(newSoa.rdata).serial };
}
