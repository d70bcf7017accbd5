import { delegationProof, nameErrorProof, noDataProof, wildcardAnswerProof } from './denial.js';
import { DNSKEY, DS, NSEC, NSEC3, NSEC3PARAM, RRSIG, sigCovers } from './dnssec.js';
import { isWithin, labels, nameToWire } from './name.js';
import { A, AAAA, CNAME, DNAME, makeRRset, NS, rdatasOf, SOA, sigsOf, soaMinimum, type RRset, type Zone } from './zone.js';

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
  /** No additional data but a referral's glue, as named answers a UDP query offering at most 512 bytes of EDNS. */
  noAdditional?: boolean;
  /** The query's DO bit: a signed zone's answers carry their RRSIGs and NSEC or NSEC3 proofs. */
  dnssec?: boolean;
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
const SIG = 24;
const KEY = 25;
const CDS = 59;
const CDNSKEY = 60;
const DSYNC = 66;
const L32 = 105;
const L64 = 106;
const LP = 107;
/** Key material: named answers these without the zone's NS even when RD is clear. */
const KEY_TYPES: ReadonlySet<number> = new Set([DS, DNSKEY, CDS, CDNSKEY]);
/** Types named answers from every RRset at the name (an RRSIG or SIG question takes those RRsets of its type). */
const ITERATED: ReadonlySet<number> = new Set([ANY, RRSIG, SIG]);
/** Types an unsigned zone hides from ANY, as named does (dns_rdatatype_isdnssec). */
const DNSSEC_TYPES: ReadonlySet<number> = new Set([DS, RRSIG, NSEC, DNSKEY, NSEC3, NSEC3PARAM]);
/** Types asked at a delegation that the parent answers when it has them (named: the NSEC chain is the parent's). */
const PARENT_SIDE: ReadonlySet<number> = new Set([NSEC, KEY]);
/** Types that may share a name with a CNAME, and so are answered at it rather than redirected (RFC 4035 2.5, RFC 3007). */
const CNAME_FREE: ReadonlySet<number> = new Set([NSEC, KEY]);
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

/** Which of named's passes over the additional section writes an RRset: addresses, then signatures, then the rest. */
function additionalPass(rrset: RRset): number {
  if (rrset.type === A || rrset.type === AAAA) return 0;
  return rrset.type === RRSIG ? 1 : 2;
}

/** What tells RRsets apart in a section: owner and type, and for RRSIGs the type they cover. */
function keyOf(rrset: RRset): string {
  // An RRSIG RRset's first RDATA starts after its 2-byte length, with the type covered.
  return rrset.type === RRSIG ? `${rrset.name}\u0000${RRSIG}\u0000${sigCovers(rrset.wire.subarray(2))}` : `${rrset.name}\u0000${rrset.type}`;
}

/**
 * An answer's sections as they fill: each RRset once per section (a chain
 * that loops adds nothing twice), the additional section without what the
 * answer or itself already holds. In a signed zone asked with DO, each
 * RRset of the zone comes with its RRSIGs (RFC 4035 3.1.1), made out to
 * the name asked when a wildcard stood in for it.
 */
class Sections {
  readonly answer: RRset[] = [];
  readonly authority: RRset[] = [];
  private readonly additional: RRset[] = [];
  private readonly seen = new Set<string>();
  private readonly inAuthority = new Set<string>();

  constructor(
    private readonly zone: Zone,
    /** DO set and the zone signed: signatures and proofs go in. */
    readonly dnssec: boolean,
    /** Additional data is looked up (a referral's glue always is). */
    private readonly additionalData = true,
  ) {}

  /** `rrset` of `node` (owned by `owner`) and, with DNSSEC, its RRSIGs; nothing when the answer has it already. */
  addAnswer(rrset: RRset, node?: ReadonlyMap<number, RRset>, owner = rrset.name): void {
    const found = owned(rrset, owner);
    const key = keyOf(found);
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.answer.push(found);
    const sigs = this.dnssec ? sigsOf(node, rrset.type) : undefined;
    if (sigs) this.answer.push(owned(sigs, owner));
  }

  /** `rrset` of `node` and, with DNSSEC, its RRSIGs, into the authority section. */
  addAuthority(rrset: RRset, node?: ReadonlyMap<number, RRset>): void {
    const sigs = this.dnssec ? sigsOf(node, rrset.type) : undefined;
    this.addProof(sigs ? [rrset, sigs] : [rrset]);
  }

  /** Records for the authority section as they are (a proof's NSECs and their RRSIGs), each once. */
  addProof(rrsets: readonly RRset[]): void {
    for (const rrset of rrsets) {
      const key = keyOf(rrset);
      if (this.inAuthority.has(key)) continue;
      this.inAuthority.add(key);
      this.authority.push(rrset);
    }
  }

  /** The negative answer's SOA (RFC 2308), with its RRSIGs capped to the same negative TTL. */
  addNegativeSoa(): void {
    const soa = this.zone.soa;
    const minimum = soaMinimum(soa);
    const sigs = this.dnssec ? sigsOf(this.zone.node(this.zone.origin), SOA) : undefined;
    this.addProof([{ ...soa, ttl: Math.min(soa.ttl, minimum) }, ...(sigs ? [{ ...sigs, ttl: Math.min(sigs.ttl, minimum) }] : [])]);
  }

  /** The data the records of `rrset` point at, from the zone; an SRV found so brings its own addresses. */
  addAdditionalFor(rrset: RRset): void {
    if (!this.additionalData || rrset.count > MAX_ADDITIONAL_RECORDS) return;
    for (const { name, types } of additionalTargets(rrset)) {
      if (!isWithin(name, this.zone.origin)) continue;
      const node = this.zone.node(name);
      for (const type of types) {
        const found = node?.get(type);
        if (!this.addOnce(found)) continue;
        // The RRSIGs come with the RRset, even when the answer holds them already (a question for RRSIG), as named adds them.
        const sigs = this.dnssec ? sigsOf(node, type) : undefined;
        if (sigs) this.additional.push(sigs);
        if (type === SRV) this.addAdditionalFor(found!);
      }
    }
  }

  /**
   * A referral's glue, ordered as named orders it: the addresses of the
   * name asked when it is a name server's, then the A records of every name
   * server below the cut, then their AAAA records (last first), so that in
   * a small response the IPv4 addresses fit first.
   */
  addGlue(ns: RRset, cut: string, qname: string): void {
    if (ns.count > MAX_ADDITIONAL_RECORDS) return;
    const below = ns.targets.filter((target) => isWithin(target, cut));
    // The glue of the name asked about (a resolver looking up a name server itself) comes first.
    if (below.includes(qname)) for (const type of [A, AAAA]) this.addOnce(this.zone.node(qname)?.get(type));
    for (const [type, names] of [[A, below], [AAAA, [...below].reverse()]] as const) {
      for (const name of names) this.addOnce(this.zone.node(name)?.get(type));
    }
  }

  private addOnce(rrset: RRset | undefined): boolean {
    if (!rrset) return false;
    const key = keyOf(rrset);
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    this.additional.push(rrset);
    return true;
  }

  /**
   * The answer, its additional section in the order named writes it: the
   * addresses as added, then the signatures by owner (in the order the
   * owners came in), then the rest; what does not fit is left out from the
   * end.
   */
  done(rcode: Rcode, aa = true): Answer {
    const owners = new Map<string, number>();
    for (const rrset of this.additional) if (!owners.has(rrset.name)) owners.set(rrset.name, owners.size);
    const rank = (rrset: RRset): number => {
      const pass = additionalPass(rrset);
      return pass === 1 ? pass * 0x10000 + owners.get(rrset.name)! : pass * 0x10000;
    };
    const additional = this.additional.map((rrset, i) => ({ rrset, i, rank: rank(rrset) }));
    additional.sort((a, b) => a.rank - b.rank || a.i - b.i);
    return { rcode, aa, answer: this.answer, authority: this.authority, additional: additional.map((e) => e.rrset) };
  }
}

const REFUSED: Answer = Object.freeze({ rcode: 'REFUSED', aa: false, answer: [], authority: [], additional: [] }) as Answer;

/** What an ANY or RRSIG question takes from a node: each RRset (RRSIGs, and in an unsigned zone the DNSSEC types, as named hides them), in the node's order. */
function iterated(zone: Zone, node: ReadonlyMap<number, RRset>, qtype: number): { rrsets: RRset[]; hidden: boolean } {
  const rrsets: RRset[] = [];
  let hidden = false;
  for (const rrset of node.values()) {
    if (qtype !== ANY) {
      if (rrset.type === qtype) rrsets.push(rrset);
    } else if (zone.security === 'unsigned' && DNSSEC_TYPES.has(rrset.type)) {
      hidden = true;
    } else {
      rrsets.push(rrset);
    }
  }
  return { rrsets, hidden };
}

export function lookup(zones: ReadonlyMap<string, Zone>, qname: string, qtype: number, options: LookupOptions = { minimal: true }): Answer {
  const zone = zoneFor(zones, qname);
  if (!zone) return REFUSED;
  const out = new Sections(zone, options.dnssec === true && zone.security !== 'unsigned', options.noAdditional !== true);
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
      // A cut answers with a referral, the NS at the cut itself included: the child is authoritative there. Not for
      // DS at the cut, which the parent holds (RFC 4035 3.1.4.1), nor for the parent's own NSEC or KEY there.
      if (ns && !(above === name && (qtype === DS || (PARENT_SIDE.has(qtype) && node!.has(qtype))))) {
        out.addAuthority(ns);
        // DO asks for the DS or the proof there is none, whether the zone is signed or not (named adds what is signed).
        if (options.dnssec) out.addProof(delegationProof(zone, above));
        out.addGlue(ns, above, qname);
        // A chain that led into the delegation is our data: authoritative, with the referral to follow it.
        return out.done('NOERROR', out.answer.length > 0);
      }
      const dname = node?.get(DNAME);
      if (dname && above !== name) {
        out.addAnswer(dname, node);
        const target = substitute(name, above, dname.targets[0]!);
        if (target === undefined) return out.done('YXDOMAIN');
        // The CNAME is made up here: there is no signature for it (a validator checks the DNAME's).
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
    let wildcard: string | undefined;
    if (!node && !zone.exists(name)) {
      // No such name: a wildcard at the closest encloser stands in for it (RFC 4592).
      const encloser = zone.closestEncloser(name);
      wildcard = encloser === '.' ? '*.' : `*.${encloser}`;
      node = zone.node(wildcard);
      if (!node) {
        out.addNegativeSoa();
        if (out.dnssec) out.addProof(nameErrorProof(zone, name));
        return out.done('NXDOMAIN');
      }
    }
    const rrsets = node ?? new Map<number, RRset>();
    const apexNode = zone.node(zone.origin);
    const apexNs = options.minimal || KEY_TYPES.has(qtype) ? undefined : apexNode?.get(NS);
    const wildcardProof = (): void => {
      if (wildcard !== undefined && out.dnssec) out.addProof(wildcardAnswerProof(zone, owner));
    };
    if (ITERATED.has(qtype) && rrsets.size > 0) {
      // named answers these from every RRset at the name, without following a CNAME, and ANY without additional data.
      const { rrsets: found, hidden } = iterated(zone, rrsets, qtype);
      for (const rrset of found) out.addAnswer(owned(rrset, owner));
      if (found.length > 0) {
        const answerHasNs = qtype === ANY && rrsets.has(NS);
        if (apexNs && !answerHasNs) {
          out.addAuthority(apexNs, apexNode);
          if (qtype !== ANY) out.addAdditionalFor(apexNs);
        }
        wildcardProof();
        return out.done('NOERROR');
      }
      // Nothing but what an unsigned zone hides from ANY: an empty answer, as named gives.
      if (hidden) return out.done('NOERROR');
    } else {
      const exact = rrsets.get(qtype);
      if (exact) {
        out.addAnswer(exact, node, owner);
        out.addAdditionalFor(owned(exact, owner));
        if (apexNs && !(exact.type === NS && owner === zone.origin)) {
          out.addAuthority(apexNs, apexNode);
          out.addAdditionalFor(apexNs);
        }
        wildcardProof();
        return out.done('NOERROR');
      }
      // NSEC and KEY may sit beside a CNAME (RFC 4035 2.5, RFC 3007): asked for, they are not redirected.
      const cname = CNAME_FREE.has(qtype) ? undefined : rrsets.get(CNAME);
      if (cname) {
        out.addAnswer(cname, node, owner);
        wildcardProof();
        name = cname.targets[0]!;
        continue;
      }
    }
    out.addNegativeSoa();
    if (out.dnssec) out.addProof(noDataProof(zone, owner, wildcard));
    return out.done('NOERROR');
  }
}
