import { DS, isOptOut, NSEC } from './dnssec.js';
import { labels, wireToName } from './name.js';
import { rdatasOf, sigsOf, type Nsec3Entry, type RRset, type Zone } from './zone.js';

/**
 * Authenticated denial of existence from a signed zone (RFC 4035 3.1.3,
 * RFC 5155 7.2): which NSEC or NSEC3 records, each with its RRSIGs, prove
 * that a name does not exist, that it has no data of a type, that a
 * wildcard answer had no closer match, or that a delegation is unsigned.
 * The records are those named 9.18 picks (lib/ns/query.c), so that a
 * resolver gets the same proof from b10 as from BIND. Pure: the zone in,
 * RRsets out, in the order they go into the authority section.
 */

/** `name` with only its last `count` labels. */
function suffix(name: string, count: number): string {
  const own = labels(name);
  return count === 0 ? '.' : `${own.slice(own.length - count).join('.')}.`;
}

/** How many labels `a` and `b` share from the right. */
function commonLabels(a: string, b: string): number {
  const la = labels(a);
  const lb = labels(b);
  let n = 0;
  while (n < la.length && n < lb.length && la[la.length - 1 - n] === lb[lb.length - 1 - n]) n++;
  return n;
}

/** An RRset and its RRSIGs, the ones there are. */
function signed(rrset: RRset | undefined, sigs: RRset | undefined): RRset[] {
  if (!rrset) return [];
  return sigs ? [rrset, sigs] : [rrset];
}

/** The NSEC owned by `owner`, with its RRSIGs. */
function nsecAt(zone: Zone, owner: string): RRset[] {
  const node = zone.node(owner);
  return signed(node?.get(NSEC), sigsOf(node, NSEC));
}

/** The NSEC that `name` owns, or else the one covering it. */
function nsecFor(zone: Zone, name: string): RRset[] {
  return nsecAt(zone, zone.nsecAtOrBefore(name));
}

function nsec3Records(entry: Nsec3Entry): RRset[] {
  return signed(entry.nsec3, entry.sigs);
}

/**
 * The NSEC3 matching `name` or covering it. With `provable`, a covering
 * NSEC3 that opts out proves nothing about the name, so the search goes up
 * a label at a time to the closest encloser the chain can prove (RFC 5155
 * 7.2.1; the apex always can); `found` is the name the record is for.
 */
function nsec3Closest(zone: Zone, name: string, provable: boolean): { records: RRset[]; found: string } | undefined {
  for (let at = name; ; at = suffix(at, labels(at).length - 1)) {
    const hit = zone.nsec3For(at);
    if (!hit) return undefined;
    if (hit.matches || !provable || !isOptOut(rdatasOf(hit.entry.nsec3)[0]!) || at === zone.origin) {
      return { records: nsec3Records(hit.entry), found: at };
    }
  }
}

/** The next closer name (RFC 5155 1.3): the name one label longer than `encloser` on the way down to `name`. */
function nextCloser(name: string, encloser: string): string {
  return suffix(name, labels(encloser).length + 1);
}


/**
 * RFC 5155 7.2.1 and 7.2.2, as named adds them: the closest provable
 * encloser's NSEC3 (left out of a positive wildcard answer, which needs
 * only the rest), the NSEC3 covering the next closer name, and unless
 * positive the NSEC3 for the wildcard at the encloser (covering it; or,
 * for a wildcard NODATA, matching it, its bitmap without the type).
 */
function nsec3WildcardProof(zone: Zone, name: string, positive: boolean): RRset[] {
  const encloser = nsec3Closest(zone, zone.closestEncloser(name), true);
  if (!encloser) return [];
  const out = positive ? [] : [...encloser.records];
  out.push(...(nsec3Closest(zone, nextCloser(name, encloser.found), false)?.records ?? []));
  if (!positive) out.push(...(nsec3Closest(zone, `*.${encloser.found}`, false)?.records ?? []));
  return out;
}

/**
 * RFC 4035 3.1.3.2: the NSEC covering the name, and the NSEC covering the
 * wildcard that could have stood in for it. The closest encloser is read,
 * as named reads it, from the covering NSEC: the longer of the suffixes the
 * name shares with its owner and with its next name.
 */
function nsecNameError(zone: Zone, name: string): RRset[] {
  const owner = zone.nsecAtOrBefore(name);
  const out = nsecAt(zone, owner);
  const nsec = zone.node(owner)?.get(NSEC);
  if (!nsec) return out;
  const next = wireToName(rdatasOf(nsec)[0]!, 0, true);
  const shared = commonLabels(name, next);
  if (shared === labels(name).length) return out;
  const wildcard = `*.${suffix(name, Math.max(shared, commonLabels(name, owner)))}`;
  if (!zone.exists(wildcard)) out.push(...nsecFor(zone, wildcard));
  return out;
}

/** The proof that `name` does not exist (NXDOMAIN), nor a wildcard that could stand in for it. */
export function nameErrorProof(zone: Zone, name: string): RRset[] {
  switch (zone.security) {
    case 'nsec':
      return nsecNameError(zone, name);
    case 'nsec3':
      return nsec3WildcardProof(zone, name, false);
    default:
      return [];
  }
}

/**
 * The proof that `name` has no data of the type asked (NODATA): its own
 * NSEC or NSEC3, whose bitmap lacks the type (RFC 4035 3.1.3.1, RFC 5155
 * 7.2.3). An empty non-terminal has no NSEC: the one covering it shows
 * nothing lies between. With NSEC3 opt-out a name may have no NSEC3 (an
 * insecure delegation, asked for DS): the closest provable encloser's and
 * the one covering the next closer name instead (7.2.4). `wildcard` is the
 * wildcard that matched, when one did (7.2.5): it has the NSEC to show.
 */
export function noDataProof(zone: Zone, name: string, wildcard?: string): RRset[] {
  if (zone.security === 'nsec') {
    return wildcard === undefined ? nsecFor(zone, name) : [...nsecFor(zone, name), ...nsecAt(zone, wildcard)];
  }
  if (zone.security !== 'nsec3') return [];
  if (wildcard !== undefined) return nsec3WildcardProof(zone, name, false);
  const closest = nsec3Closest(zone, name, true);
  if (!closest) return [];
  if (closest.found === name) return closest.records;
  return [...closest.records, ...(nsec3Closest(zone, nextCloser(name, closest.found), false)?.records ?? [])];
}

/** The proof that a wildcard answer for `name` had no closer match (RFC 4035 3.1.3.3, RFC 5155 7.2.6). */
export function wildcardAnswerProof(zone: Zone, name: string): RRset[] {
  switch (zone.security) {
    case 'nsec':
      return nsecFor(zone, name);
    case 'nsec3':
      return nsec3WildcardProof(zone, name, true);
    default:
      return [];
  }
}

/**
 * What a referral to `cut` carries besides its NS (RFC 4035 3.1.4, RFC 5155
 * 7.2.7): the DS and its RRSIGs, or the NSEC at the cut showing there is no
 * DS, or the NSEC3 matching the cut, or with opt-out the closest provable
 * encloser's and the one covering the next closer name. named adds the DS
 * or NSEC only when signed, whatever the zone.
 */
export function delegationProof(zone: Zone, cut: string): RRset[] {
  const node = zone.node(cut);
  for (const type of [DS, NSEC]) {
    const rrset = node?.get(type);
    const sigs = sigsOf(node, type);
    if (rrset && sigs) return [rrset, sigs];
  }
  return zone.security === 'nsec3' ? noDataProof(zone, cut) : [];
}
