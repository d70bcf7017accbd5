import { isWithin, labels, nameToWire } from './name.js';
import { A, AAAA, CNAME, DNAME, makeRRset, NS, soaMinimum, type RRset, type Zone } from './zone.js';

/**
 * The answer to one question from the zones auth serves: RFC 1034 4.3.2 as
 * one function, with DNAME (RFC 6672) and wildcards (RFC 4592). Pure: zones
 * in, sections out; the caller encodes them.
 */

export type Rcode = 'NOERROR' | 'NXDOMAIN' | 'REFUSED';

export interface Answer {
  rcode: Rcode;
  /** Authoritative: every answer from our data but a referral. */
  aa: boolean;
  answer: RRset[];
  authority: RRset[];
  additional: RRset[];
}

/** How many CNAME and DNAME steps an answer follows before it stops (a loop, or a silly chain). */
const MAX_CHAIN = 16;
const ANY = 255;

/** The zone `name` is in: the one with the longest origin it falls within. */
export function zoneFor(zones: ReadonlyMap<string, Zone>, name: string): Zone | undefined {
  const own = labels(name);
  for (let i = 0; i <= own.length; i++) {
    const candidate = i === own.length ? '.' : `${own.slice(i).join('.')}.`;
    const zone = zones.get(candidate);
    if (zone) return zone;
  }
  return undefined;
}

/** The names from just below the origin down to `name`, in that order. */
function pathBelow(origin: string, name: string): string[] {
  const own = labels(name);
  const depth = labels(origin).length;
  const out: string[] = [];
  for (let i = own.length - depth - 1; i >= 0; i--) out.push(`${own.slice(i).join('.')}.`);
  return out;
}

/** Negative answers carry the SOA, its TTL the lesser of its own and its minimum (RFC 2308). */
function negativeSoa(zone: Zone): RRset {
  return { ...zone.soa, ttl: Math.min(zone.soa.ttl, soaMinimum(zone.soa)) };
}

/** A/AAAA of `targets` that the zone holds, for the additional section. */
function addressesOf(zone: Zone, targets: readonly string[]): RRset[] {
  const out: RRset[] = [];
  for (const target of targets) {
    const node = zone.node(target);
    for (const type of [A, AAAA]) {
      const rrset = node?.get(type);
      if (rrset) out.push(rrset);
    }
  }
  return out;
}

function owned(rrset: RRset, name: string): RRset {
  return rrset.name === name ? rrset : { ...rrset, name };
}

/** `name` with its `from` suffix replaced by `to` (DNAME substitution); undefined when too long. */
function substitute(name: string, from: string, to: string): string | undefined {
  const prefix = name.slice(0, name.length - from.length);
  const result = to === '.' ? prefix : `${prefix}${to}`;
  return result.length > 254 ? undefined : result;
}

export function lookup(zones: ReadonlyMap<string, Zone>, qname: string, qtype: number): Answer {
  const zone = zoneFor(zones, qname);
  if (!zone) return { rcode: 'REFUSED', aa: false, answer: [], authority: [], additional: [] };
  const answer: RRset[] = [];
  let name = qname;
  for (let step = 0; step <= MAX_CHAIN; step++) {
    if (!isWithin(name, zone.origin)) break;
    // Down from the origin: a delegation or a DNAME above the name decides first.
    let redirected = false;
    for (const above of pathBelow(zone.origin, name)) {
      const node = zone.node(above);
      const ns = node?.get(NS);
      // A cut answers with a referral, even for the NS at the cut itself: the child is authoritative there.
      if (ns) {
        if (answer.length > 0) return { rcode: 'NOERROR', aa: true, answer, authority: [], additional: [] };
        const glue = addressesOf(
          zone,
          ns.targets.filter((target) => isWithin(target, above)),
        );
        return { rcode: 'NOERROR', aa: false, answer: [], authority: [ns], additional: glue };
      }
      const dname = node?.get(DNAME);
      if (dname && above !== name) {
        const target = substitute(name, above, dname.targets[0]!);
        answer.push(dname);
        if (target === undefined) return { rcode: 'NOERROR', aa: true, answer, authority: [], additional: [] };
        answer.push(makeRRset(name, CNAME, dname.ttl, [nameToWire(target)]));
        name = target;
        redirected = true;
        break;
      }
    }
    if (redirected) continue;

    // The name's RRsets are owned by the name asked, also when a wildcard stands in.
    const owner = name;
    let node = zone.node(name);
    if (!node && !zone.exists(name)) {
      // No such name: a wildcard at the closest encloser stands in for it (RFC 4592).
      let encloser = name;
      do encloser = encloser.slice(encloser.indexOf('.') + 1) || '.';
      while (!zone.exists(encloser) && encloser !== zone.origin);
      node = zone.node(encloser === '.' ? '*.' : `*.${encloser}`);
      if (!node) return { rcode: 'NXDOMAIN', aa: true, answer, authority: [negativeSoa(zone)], additional: [] };
    }
    const rrsets = node ?? new Map<number, RRset>();
    if (qtype === ANY && rrsets.size > 0) {
      answer.push(...[...rrsets.values()].map((r) => owned(r, owner)));
      return { rcode: 'NOERROR', aa: true, answer, authority: [], additional: [] };
    }
    const exact = rrsets.get(qtype);
    if (exact) {
      answer.push(owned(exact, owner));
      const targets = qtype === 15 || qtype === 33 ? exact.targets : [];
      return { rcode: 'NOERROR', aa: true, answer, authority: [], additional: addressesOf(zone, targets) };
    }
    const cname = rrsets.get(CNAME);
    if (cname) {
      answer.push(owned(cname, owner));
      name = cname.targets[0]!;
      continue;
    }
    return { rcode: 'NOERROR', aa: true, answer, authority: [negativeSoa(zone)], additional: [] };
  }
  // A chain that leaves the zone, or loops: what was found so far.
  return { rcode: 'NOERROR', aa: true, answer, authority: [], additional: [] };
}

