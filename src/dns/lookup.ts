import { isWithin, labels, nameToWire } from './name.js';
import { A, AAAA, CNAME, DNAME, makeRRset, NS, rdatasOf, soaMinimum, type RRset, type Zone } from './zone.js';

/**
 * The answer to one question from the zones auth serves: RFC 1034 4.3.2 as
 * one function, with DNAME (RFC 6672) and wildcards (RFC 4592), and the
 * sections filled as BIND 9 fills them with its default minimal-responses
 * (no-auth-recursive). Pure: zones in, sections out; the caller encodes them.
 */

export type Rcode = 'NOERROR' | 'NXDOMAIN' | 'REFUSED' | 'SERVFAIL' | 'YXDOMAIN';

export interface Answer {
  rcode: Rcode;
  /** Authoritative: every answer from our data but a bare referral. */
  aa: boolean;
  answer: RRset[];
  authority: RRset[];
  additional: RRset[];
  /** An Extended DNS Error to add (RFC 8914), as named adds one. */
  ede?: { code: number; text: string };
}

export interface LookupOptions {
  /**
   * Leave the zone's NS (and their addresses) out of positive answers, as
   * named does for queries with RD set; a query without RD gets them.
   */
  minimal: boolean;
}

/**
 * named follows a chain of CNAMEs and DNAMEs through at most this many
 * restarts after the first lookup; a chain longer than that, or a loop, is
 * answered SERVFAIL with the chain so far, each RRset once.
 */
const MAX_RESTARTS = 11;
/** What named says (EDE 0, Other) when a chain is too long or loops. */
const MAX_RESTARTS_REACHED = Object.freeze({ code: 0, text: 'max. restarts reached' });
/** named adds no additional data for an RRset of more records than this (BIND 9.18, since CVE-2024-1737). */
const MAX_ADDITIONAL_RECORDS = 13;
const ANY = 255;
const DS = 43;
const DNSKEY = 48;
const CDS = 59;
const CDNSKEY = 60;
const DSYNC = 66;
const L32 = 105;
const L64 = 106;
const LP = 107;
/** Key material: named answers these without the zone's NS even when RD is clear. */
const KEY_TYPES: ReadonlySet<number> = new Set([DS, DNSKEY, CDS, CDNSKEY]);
const SRV = 33;
const NAPTR = 35;
const SVCB = 64;
const HTTPS = 65;
/** RFC 1035's 255-byte limit, as presentation text of an absolute name can run (the last dot included). */
const MAX_NAME_TEXT = 254;

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

function owned(rrset: RRset, name: string): RRset {
  return rrset.name === name ? rrset : { ...rrset, name };
}

/** `name` with its `from` suffix replaced by `to` (DNAME substitution); undefined when too long (RFC 6672: YXDOMAIN). */
function substitute(name: string, from: string, to: string): string | undefined {
  const prefix = name.slice(0, name.length - from.length);
  const result = to === '.' ? prefix : `${prefix}${to}`;
  return result.length > MAX_NAME_TEXT ? undefined : result;
}

/** NAPTR's flags: the first character-string, after order and preference. */
function naptrFlags(rdata: Buffer): string {
  return rdata.toString('latin1', 5, 5 + rdata[4]!);
}

/**
 * What a record of `rrset` points at for the additional section, and which
 * types of it to add, as named does. Each of these types has one target per
 * record, so `targets` lines up with the RDATAs.
 */
function additionalTargets(rrset: RRset): { name: string; types: number[] }[] {
  const addresses = [A, AAAA];
  switch (rrset.type) {
    case NS:
    case 3: // MD
    case 4: // MF
    case 7: // MB
    case 15: // MX
    case 18: // AFSDB
    case 21: // RT
    case 36: // KX
    case SRV:
    case DSYNC:
      return rrset.targets.map((name) => ({ name, types: addresses }));
    case LP:
      // An LP names the host whose locators (RFC 6742) the reader wants next.
      return rrset.targets.map((name) => ({ name, types: [L32, L64] }));
    case NAPTR:
      // The flags say what the replacement is: "S" an SRV name, "A" an address name; otherwise nothing to add.
      return rdatasOf(rrset).flatMap((rdata, i) => {
        const replacement = rrset.targets[i]!;
        const flags = naptrFlags(rdata);
        if (replacement === '.') return [];
        if (/s/i.test(flags)) return [{ name: replacement, types: [SRV] }];
        return /a/i.test(flags) ? [{ name: replacement, types: addresses }] : [];
      });
    case SVCB:
    case HTTPS:
      // A target of "." is the owner itself in ServiceMode (priority > 0), and no service at all in AliasMode.
      return rdatasOf(rrset).flatMap((rdata, i) => {
        const target = rrset.targets[i]!;
        if (target !== '.') return [{ name: target, types: addresses }];
        return rdata.readUInt16BE(0) === 0 ? [] : [{ name: rrset.name, types: addresses }];
      });
    default:
      return [];
  }
}

/**
 * An answer's sections as they fill: each RRset once (a chain that loops
 * adds nothing twice), and the additional section without what the answer
 * or itself already holds.
 */
class Sections {
  readonly answer: RRset[] = [];
  readonly authority: RRset[] = [];
  readonly additional: RRset[] = [];
  private readonly seen = new Set<string>();

  private static key(rrset: RRset): string {
    return `${rrset.name}\u0000${rrset.type}`;
  }

  addAnswer(rrset: RRset): void {
    const key = Sections.key(rrset);
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.answer.push(rrset);
  }

  /** The data the records of `rrset` point at, from `zone`; an SRV found so brings its own addresses. */
  addAdditionalFor(zone: Zone, rrset: RRset): void {
    if (rrset.count > MAX_ADDITIONAL_RECORDS) return;
    for (const { name, types } of additionalTargets(rrset)) {
      if (!isWithin(name, zone.origin)) continue;
      const node = zone.node(name);
      for (const type of types) {
        const found = node?.get(type);
        if (this.addOnce(found) && type === SRV) this.addAdditionalFor(zone, found!);
      }
    }
  }

  /**
   * A referral's glue, ordered as named orders it: the addresses of the
   * name asked when it is a name server's, then the A records of every name
   * server below the cut, then their AAAA records (last first), so that in
   * a small response the IPv4 addresses fit first.
   */
  addGlue(zone: Zone, ns: RRset, cut: string, qname: string): void {
    if (ns.count > MAX_ADDITIONAL_RECORDS) return;
    const below = ns.targets.filter((target) => isWithin(target, cut));
    // The glue of the name asked about (a resolver looking up a name server itself) comes first.
    if (below.includes(qname)) for (const type of [A, AAAA]) this.addOnce(zone.node(qname)?.get(type));
    for (const [type, names] of [[A, below], [AAAA, [...below].reverse()]] as const) {
      for (const name of names) this.addOnce(zone.node(name)?.get(type));
    }
  }

  private addOnce(rrset: RRset | undefined): boolean {
    if (!rrset) return false;
    const key = Sections.key(rrset);
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    this.additional.push(rrset);
    return true;
  }

  done(rcode: Rcode, aa = true): Answer {
    return { rcode, aa, answer: this.answer, authority: this.authority, additional: this.additional };
  }
}

const REFUSED: Answer = Object.freeze({ rcode: 'REFUSED', aa: false, answer: [], authority: [], additional: [] }) as Answer;

export function lookup(zones: ReadonlyMap<string, Zone>, qname: string, qtype: number, options: LookupOptions = { minimal: true }): Answer {
  const zone = zoneFor(zones, qname);
  if (!zone) return REFUSED;
  const out = new Sections();
  let name = qname;
  for (let lookups = 0; ; lookups++) {
    if (lookups > MAX_RESTARTS) return { ...out.done('SERVFAIL'), ede: MAX_RESTARTS_REACHED };
    // A chain that leaves the zone ends here: the resolver follows it elsewhere.
    if (!isWithin(name, zone.origin)) return out.done('NOERROR');
    let redirected = false;
    // Down from the origin: a delegation or a DNAME above the name decides first.
    for (const above of pathBelow(zone.origin, name)) {
      const node = zone.node(above);
      const ns = node?.get(NS);
      // A cut answers with a referral, the NS at the cut itself included: the child is authoritative there.
      // Not for DS at the cut: the parent is (RFC 4035 3.1.4.1).
      if (ns && !(qtype === DS && above === name)) {
        out.authority.push(ns);
        out.addGlue(zone, ns, above, qname);
        // A chain that led into the delegation is our data: authoritative, with the referral to follow it.
        return out.done('NOERROR', out.answer.length > 0);
      }
      const dname = node?.get(DNAME);
      if (dname && above !== name) {
        out.addAnswer(dname);
        const target = substitute(name, above, dname.targets[0]!);
        if (target === undefined) return out.done('YXDOMAIN');
        out.addAnswer(makeRRset(name, CNAME, dname.ttl, [nameToWire(target)]));
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
      if (!node) {
        out.authority.push(negativeSoa(zone));
        return out.done('NXDOMAIN');
      }
    }
    const rrsets = node ?? new Map<number, RRset>();
    const apexNs = options.minimal || KEY_TYPES.has(qtype) ? undefined : zone.node(zone.origin)?.get(NS);
    if (qtype === ANY && rrsets.size > 0) {
      // named answers ANY with the RRsets and, without RD, the zone's NS (unless the answer has them): no additional data.
      for (const rrset of rrsets.values()) out.addAnswer(owned(rrset, owner));
      if (apexNs && owner !== zone.origin) out.authority.push(apexNs);
      return out.done('NOERROR');
    }
    const exact = rrsets.get(qtype);
    if (exact) {
      const found = owned(exact, owner);
      out.addAnswer(found);
      out.addAdditionalFor(zone, found);
      if (apexNs && !(found.type === NS && owner === zone.origin)) {
        out.authority.push(apexNs);
        out.addAdditionalFor(zone, apexNs);
      }
      return out.done('NOERROR');
    }
    const cname = rrsets.get(CNAME);
    if (cname) {
      out.addAnswer(owned(cname, owner));
      name = cname.targets[0]!;
      continue;
    }
    out.authority.push(negativeSoa(zone));
    return out.done('NOERROR');
  }
}
