import { createHash } from 'node:crypto';
import { base32hexText } from './fields.js';
import { nameToWire } from './name.js';

/**
 * The DNSSEC arithmetic a server of signed zones needs, pure: the canonical
 * order of names (RFC 4034 6.1) and a chain of NSEC owners searched in it,
 * NSEC3 hashing (RFC 5155 5) and a chain of NSEC3 hashes searched in hash
 * order, and the fields of RRSIG, DNSKEY and NSEC3 data that decide how a
 * zone is served.
 */

export const DS = 43;
export const RRSIG = 46;
export const NSEC = 47;
export const DNSKEY = 48;
export const NSEC3 = 50;
export const NSEC3PARAM = 51;

/**
 * A key that sorts names in canonical order when compared as strings:
 * labels from the right, each as its lowercase bytes shifted up by one and
 * ended by U+0000, so that a label sorts before a longer one it begins and
 * a name before the names below it.
 */
export function canonicalKey(name: string): string {
  const codes: number[] = [];
  if (!name.includes('\\')) {
    // No escapes: each character is its byte (printable ASCII), labels between the dots.
    let end = name.length - (name.endsWith('.') ? 1 : 0);
    while (end > 0) {
      const start = name.lastIndexOf('.', end - 1) + 1;
      for (let i = start; i < end; i++) codes.push(lowerByte(name.charCodeAt(i)) + 1);
      codes.push(0);
      end = start - 1;
    }
  } else {
    const wire = nameToWire(name);
    const starts: number[] = [];
    for (let p = 0; wire[p] !== 0; p += wire[p]! + 1) starts.push(p);
    for (let i = starts.length - 1; i >= 0; i--) {
      const at = starts[i]!;
      for (let j = at + 1; j <= at + wire[at]!; j++) codes.push(lowerByte(wire[j]!) + 1);
      codes.push(0);
    }
  }
  return String.fromCharCode(...codes);
}

/** An ASCII letter in lowercase, any other byte as it is (DNS names compare so, RFC 4343). */
function lowerByte(b: number): number {
  return b >= 0x41 && b <= 0x5a ? b + 32 : b;
}

/** Negative, zero or positive as `a` sorts before, with or after `b` in canonical order. */
export function compareCanonical(a: string, b: string): number {
  const ka = canonicalKey(a);
  const kb = canonicalKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** The index of the last of the sorted `keys` at or before `key`; -1 when `key` sorts before them all. */
function atOrBefore(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! <= key) lo = mid + 1;
    else hi = mid - 1;
  }
  return hi;
}

/**
 * A zone's NSEC owners in canonical order. The NSEC that covers a name (the
 * proof it does not exist) is owned by the last owner before it; before
 * the first owner there is none, since the apex comes first.
 */
export class NsecChain {
  private readonly keys: string[];
  private readonly owners: string[];

  constructor(owners: Iterable<string>) {
    const sorted = [...owners].map((owner) => ({ owner, key: canonicalKey(owner) })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    this.keys = sorted.map((e) => e.key);
    this.owners = sorted.map((e) => e.owner);
  }

  /** The owner of the NSEC at or before `name`: `name` itself when it owns one, else the one covering it. */
  atOrBefore(name: string): string {
    const i = atOrBefore(this.keys, canonicalKey(name));
    return this.owners[i < 0 ? this.owners.length - 1 : i]!;
  }
}

/** The NSEC3PARAM fields that say how names are hashed. */
export interface Nsec3Params {
  algorithm: number;
  iterations: number;
  salt: Buffer;
}

/** RFC 5155 3.2: the hash algorithm BIND knows; NSEC3 records of any other cannot be used. */
const SHA1 = 1;
/** The NSEC3 flag saying insecure delegations in its span have no NSEC3 of their own (RFC 5155 3.1.2.1). */
const OPT_OUT = 0x01;

/** The hash parameters of NSEC3PARAM data, as BIND takes them: undefined for a chain it would not use (flags set, or a hash it does not know). */
export function nsec3ParamsOf(nsec3param: Buffer): Nsec3Params | undefined {
  if (nsec3param[0] !== SHA1 || nsec3param[1] !== 0) return undefined;
  return paramsAt(nsec3param);
}

function paramsAt(rdata: Buffer): Nsec3Params {
  return { algorithm: rdata[0]!, iterations: rdata.readUInt16BE(2), salt: rdata.subarray(5, 5 + rdata[4]!) };
}

/** Whether NSEC3 data was made with `params` (another chain's records are not used for proofs). */
export function nsec3Matches(nsec3: Buffer, params: Nsec3Params): boolean {
  const own = paramsAt(nsec3);
  return own.algorithm === params.algorithm && own.iterations === params.iterations && own.salt.equals(params.salt);
}

/** The opt-out flag of NSEC3 data. */
export function isOptOut(nsec3: Buffer): boolean {
  return (nsec3[1]! & OPT_OUT) !== 0;
}

/** RFC 4648 base32hex, lowercase, without padding: how an NSEC3 owner label spells a hash. */
export function base32hex(bytes: Buffer): string {
  return base32hexText(bytes).toLowerCase();
}

/**
 * RFC 5155 5: the hash of `name` as an NSEC3 owner label, SHA-1 over the
 * name's lowercase wire form and the salt, then over each digest and the
 * salt `iterations` more times.
 */
export function nsec3Hash(name: string, params: Nsec3Params): string {
  let digest = createHash('sha1').update(nameToWire(name.toLowerCase())).update(params.salt).digest();
  for (let i = 0; i < params.iterations; i++) digest = createHash('sha1').update(digest).update(params.salt).digest();
  return base32hex(digest);
}

/**
 * An NSEC3 chain: entries by the hash their owner's first label spells, in
 * hash order (base32hex keeps the order of what it encodes). The NSEC3 that
 * covers a hash is the last one before it, or the last of all when the
 * hash comes before the first (the chain wraps around).
 */
export class Nsec3Chain<T> {
  private readonly hashes: string[];
  private readonly entries: T[];

  constructor(entries: Iterable<{ hash: string; entry: T }>) {
    const sorted = [...entries].sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
    this.hashes = sorted.map((e) => e.hash);
    this.entries = sorted.map((e) => e.entry);
  }

  get size(): number {
    return this.hashes.length;
  }

  /** The entry whose hash is `hash` (matches: true), else the one covering it; undefined in an empty chain. */
  find(hash: string): { entry: T; matches: boolean } | undefined {
    if (this.entries.length === 0) return undefined;
    const i = atOrBefore(this.hashes, hash);
    if (i < 0) return { entry: this.entries.at(-1)!, matches: false };
    return { entry: this.entries[i]!, matches: this.hashes[i] === hash };
  }
}

/** The type an RRSIG covers. */
export function sigCovers(rrsig: Buffer): number {
  return rrsig.readUInt16BE(0);
}

/** A DNSKEY BIND counts as a zone key (dns_zonekey_iszonekey): the zone flag alone of the owner bits, authentication allowed, protocol 3 (or 255). */
export function isZoneKey(dnskey: Buffer): boolean {
  const flags = dnskey.readUInt16BE(0);
  const protocol = dnskey[2];
  return (flags & 0x8000) === 0 && (flags & 0x0300) === 0x0100 && (protocol === 3 || protocol === 255);
}

/** The seconds a signature has left at `now` (seconds since the epoch), negative once expired: RFC 4034 3.1.5's serial arithmetic on its expiration. */
export function signatureSecondsLeft(rrsig: Buffer, now: number): number {
  // The difference modulo 2^32, read as signed.
  return (rrsig.readUInt32BE(8) - (now >>> 0)) | 0;
}
