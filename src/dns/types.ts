import {
  base64,
  eui,
  hex,
  ipv4,
  ipv6,
  locator64,
  name,
  nextHashed,
  nxtBitmap,
  optionalString,
  restString,
  rrtype,
  salt,
  string,
  strings,
  time,
  ttl,
  typeBitmap,
  u16,
  u32,
  u8,
  useTypeNames,
  type Field,
  type Mnemonics,
} from './fields.js';
import { a6, amtrelay, apl, atma, caaTag, hip, ipseckey, loc, nsap, wks } from './special-fields.js';
import { svcParams } from './svcb.js';

/**
 * Every record type b10 knows, once: its code, its mnemonic, its RDATA as
 * a list of fields (fields.ts), and what the protocol says of it. Master
 * files, the store, transfers, auth's answers and `zone show` all take
 * their types from here; any type not listed is RFC 3597 data (`TYPEnnn \#
 * len hex`). The list is BIND 9.18's, and each declaration was checked
 * against what its named-checkzone reads and prints.
 */

export interface RRType {
  code: number;
  name: string;
  /** The RDATA's fields, in order. */
  fields: readonly Field[];
  /** Names in the RDATA may be compressed in messages (RFC 3597 4: the RFC 1035 types only). */
  compress?: boolean;
  /** Known, but named reads and prints it only as RFC 3597 data (`\# len hex`). */
  opaque?: boolean;
  /** named reads its mnemonic and fields but prints it as TYPEnnn and RFC 3597 data (KEYDATA, BIND's own). */
  printCode?: boolean;
  /** Why a master file may not hold it: named refuses it. */
  refused?: string;
  /** What is wrong with well-formed RDATA that named still refuses (a digest of the wrong length), if anything. */
  check?: (rdata: Buffer) => string | undefined;
}

/** Digest lengths by digest type, where the type fixes one. */
function digestLength(lengths: Readonly<Record<number, number>>, typeAt: number, digestAt: number, what: string): (rdata: Buffer) => string | undefined {
  return (rdata) => {
    const expected = lengths[rdata[typeAt]!];
    const got = rdata.length - digestAt;
    return expected !== undefined && got !== expected ? `${what} type ${rdata[typeAt]} takes ${expected} bytes, not ${got}` : undefined;
  };
}
const dsCheck = digestLength({ 1: 20, 2: 32, 3: 32, 4: 48 }, 3, 4, 'digest');
const zonemdCheck = (rdata: Buffer): string | undefined =>
  rdata.length - 6 < 12 ? 'a ZONEMD digest is at least 12 bytes' : digestLength({ 1: 48, 2: 64 }, 5, 6, 'hash algorithm')(rdata);
const sshfpCheck = digestLength({ 1: 20, 2: 32 }, 1, 2, 'fingerprint');

/** DNSSEC algorithm mnemonics (RFC 4034 A.1 and later), as BIND reads and, for CERT, prints them. */
const ALGORITHMS: Mnemonics = {
  print: true,
  byName: {
    RSAMD5: 1,
    DH: 2,
    DSA: 3,
    RSASHA1: 5,
    'NSEC3DSA': 6,
    'NSEC3RSASHA1': 7,
    RSASHA256: 8,
    RSASHA512: 10,
    ECCGOST: 12,
    ECDSAP256SHA256: 13,
    ECDSAP384SHA384: 14,
    ED25519: 15,
    ED448: 16,
    INDIRECT: 252,
    PRIVATEDNS: 253,
    PRIVATEOID: 254,
  },
};
/** The same, read but printed as numbers (DNSKEY, RRSIG, DS and their kin). */
const ALGORITHM_NUMBERS: Mnemonics = { ...ALGORITHMS, print: false };

const CERT_TYPES: Mnemonics = {
  print: true,
  byName: { PKIX: 1, SPKI: 2, PGP: 3, IPKIX: 4, ISPKI: 5, IPGP: 6, ACPKIX: 7, IACPKIX: 8, URI: 253, OID: 254 },
};

const DSYNC_SCHEMES: Mnemonics = { print: true, byName: { NOTIFY: 1 } };

const key = [u16('flags'), u8('protocol'), u8('algorithm', ALGORITHM_NUMBERS), base64({ wrap: true })];
const ds = [u16('key tag'), u8('algorithm', ALGORITHM_NUMBERS), u8('digest type'), hex({ wrap: true })];
const sig = [
  rrtype('type covered'),
  u8('algorithm', ALGORITHM_NUMBERS),
  u8('labels'),
  ttl('original TTL'),
  time('expiration'),
  time('inception'),
  u16('key tag'),
  name(),
  base64({ wrap: true }),
];
const tlsa = [u8('usage'), u8('selector'), u8('matching type'), hex({ wrap: true })];
const svcb = [u16('priority'), name(true), svcParams];

export const RR_TYPES: readonly RRType[] = Object.freeze([
  { code: 1, name: 'A', fields: [ipv4] },
  { code: 2, name: 'NS', fields: [name(true)], compress: true },
  { code: 3, name: 'MD', fields: [name(true)], compress: true, refused: 'obsolete' },
  { code: 4, name: 'MF', fields: [name(true)], compress: true, refused: 'obsolete' },
  { code: 5, name: 'CNAME', fields: [name(true)], compress: true },
  { code: 6, name: 'SOA', fields: [name(), name(), u32('serial'), ttl('refresh'), ttl('retry'), ttl('expire'), ttl('minimum')], compress: true },
  { code: 7, name: 'MB', fields: [name(true)], compress: true },
  { code: 8, name: 'MG', fields: [name()], compress: true },
  { code: 9, name: 'MR', fields: [name()], compress: true },
  { code: 10, name: 'NULL', fields: [], opaque: true },
  { code: 11, name: 'WKS', fields: [wks] },
  { code: 12, name: 'PTR', fields: [name(true)], compress: true },
  { code: 13, name: 'HINFO', fields: [string('CPU'), string('OS')] },
  { code: 14, name: 'MINFO', fields: [name(), name()], compress: true },
  { code: 15, name: 'MX', fields: [u16('preference'), name(true)], compress: true },
  { code: 16, name: 'TXT', fields: [strings] },
  { code: 17, name: 'RP', fields: [name(), name()] },
  { code: 18, name: 'AFSDB', fields: [u16('subtype'), name(true)] },
  { code: 19, name: 'X25', fields: [string('PSDN address')] },
  { code: 20, name: 'ISDN', fields: [string('ISDN address'), optionalString] },
  { code: 21, name: 'RT', fields: [u16('preference'), name(true)] },
  { code: 22, name: 'NSAP', fields: [nsap] },
  { code: 23, name: 'NSAP-PTR', fields: [name()] },
  { code: 24, name: 'SIG', fields: sig },
  { code: 25, name: 'KEY', fields: key },
  { code: 26, name: 'PX', fields: [u16('preference'), name(), name()] },
  { code: 27, name: 'GPOS', fields: [string('longitude'), string('latitude'), string('altitude')] },
  { code: 28, name: 'AAAA', fields: [ipv6] },
  { code: 29, name: 'LOC', fields: [loc] },
  { code: 30, name: 'NXT', fields: [name(), nxtBitmap] },
  { code: 31, name: 'EID', fields: [hex({ wrap: true })] },
  { code: 32, name: 'NIMLOC', fields: [hex({ wrap: true })] },
  { code: 33, name: 'SRV', fields: [u16('priority'), u16('weight'), u16('port'), name(true)] },
  { code: 34, name: 'ATMA', fields: [atma] },
  { code: 35, name: 'NAPTR', fields: [u16('order'), u16('preference'), string('flags'), string('services'), string('regexp'), name(true)] },
  { code: 36, name: 'KX', fields: [u16('preference'), name(true)] },
  { code: 37, name: 'CERT', fields: [u16('type', CERT_TYPES), u16('key tag'), u8('algorithm', ALGORITHMS), base64({ wrap: true })] },
  { code: 38, name: 'A6', fields: [a6] },
  { code: 39, name: 'DNAME', fields: [name(true)] },
  { code: 40, name: 'SINK', fields: [u8('meaning'), u8('coding'), u8('subcoding'), base64({ wrap: true, optional: true })] },
  { code: 41, name: 'OPT', fields: [], refused: 'invalid use of a meta type' },
  { code: 42, name: 'APL', fields: [apl] },
  { code: 43, name: 'DS', fields: ds, check: dsCheck },
  { code: 44, name: 'SSHFP', fields: [u8('algorithm'), u8('fingerprint type'), hex({ wrap: true })], check: sshfpCheck },
  { code: 45, name: 'IPSECKEY', fields: [ipseckey] },
  { code: 46, name: 'RRSIG', fields: sig },
  { code: 47, name: 'NSEC', fields: [name(), typeBitmap] },
  { code: 48, name: 'DNSKEY', fields: key },
  { code: 49, name: 'DHCID', fields: [base64({ wrap: true })] },
  { code: 50, name: 'NSEC3', fields: [u8('hash algorithm'), u8('flags'), u16('iterations'), salt, nextHashed, typeBitmap] },
  { code: 51, name: 'NSEC3PARAM', fields: [u8('hash algorithm'), u8('flags'), u16('iterations'), salt] },
  { code: 52, name: 'TLSA', fields: tlsa },
  { code: 53, name: 'SMIMEA', fields: tlsa },
  { code: 55, name: 'HIP', fields: [hip] },
  { code: 56, name: 'NINFO', fields: [strings] },
  { code: 57, name: 'RKEY', fields: key },
  { code: 58, name: 'TALINK', fields: [name(), name()] },
  { code: 59, name: 'CDS', fields: ds, check: dsCheck },
  { code: 60, name: 'CDNSKEY', fields: key },
  { code: 61, name: 'OPENPGPKEY', fields: [base64({ wrap: true })] },
  { code: 62, name: 'CSYNC', fields: [u32('serial'), u16('flags'), typeBitmap] },
  { code: 63, name: 'ZONEMD', fields: [u32('serial'), u8('scheme'), u8('hash algorithm'), hex({ wrap: true })], check: zonemdCheck },
  { code: 64, name: 'SVCB', fields: svcb },
  { code: 65, name: 'HTTPS', fields: svcb },
  { code: 66, name: 'DSYNC', fields: [rrtype('type'), u8('scheme', DSYNC_SCHEMES), u16('port'), name(true)] },
  { code: 67, name: 'HHIT', fields: [base64({ wrap: true })] },
  { code: 68, name: 'BRID', fields: [base64({ wrap: true })] },
  { code: 99, name: 'SPF', fields: [strings] },
  { code: 100, name: 'UINFO', fields: [], opaque: true },
  { code: 101, name: 'UID', fields: [], opaque: true },
  { code: 102, name: 'GID', fields: [], opaque: true },
  { code: 103, name: 'UNSPEC', fields: [], opaque: true },
  { code: 104, name: 'NID', fields: [u16('preference'), locator64] },
  { code: 105, name: 'L32', fields: [u16('preference'), ipv4] },
  { code: 106, name: 'L64', fields: [u16('preference'), locator64] },
  { code: 107, name: 'LP', fields: [u16('preference'), name(true)] },
  { code: 108, name: 'EUI48', fields: [eui(6)] },
  { code: 109, name: 'EUI64', fields: [eui(8)] },
  { code: 249, name: 'TKEY', fields: [], refused: 'invalid use of a meta type' },
  { code: 250, name: 'TSIG', fields: [], refused: 'invalid use of a meta type' },
  { code: 251, name: 'IXFR', fields: [], refused: 'invalid use of a meta type' },
  { code: 252, name: 'AXFR', fields: [], refused: 'invalid use of a meta type' },
  { code: 253, name: 'MAILB', fields: [], refused: 'invalid use of a meta type' },
  { code: 254, name: 'MAILA', fields: [], refused: 'invalid use of a meta type' },
  { code: 255, name: 'ANY', fields: [], refused: 'invalid use of a meta type' },
  { code: 256, name: 'URI', fields: [u16('priority'), u16('weight'), restString] },
  { code: 257, name: 'CAA', fields: [u8('flags'), caaTag, restString] },
  { code: 258, name: 'AVC', fields: [strings] },
  { code: 259, name: 'DOA', fields: [u32('enterprise'), u32('type'), u8('location'), string('media type'), base64({ wrap: false, dash: true })] },
  { code: 260, name: 'AMTRELAY', fields: [amtrelay] },
  { code: 261, name: 'RESINFO', fields: [strings] },
  { code: 262, name: 'WALLET', fields: [strings] },
  { code: 32768, name: 'TA', fields: ds, check: dsCheck },
  { code: 32769, name: 'DLV', fields: ds, check: dsCheck },
  { code: 65533, name: 'KEYDATA', fields: [time('refresh'), time('add hold-down'), time('remove hold-down'), ...key], printCode: true },
] satisfies RRType[]);

const BY_CODE = new Map<number, RRType>(RR_TYPES.map((t) => [t.code, t]));
const BY_NAME = new Map<string, RRType>(RR_TYPES.map((t) => [t.name, t]));

export function rrType(code: number): RRType | undefined {
  return BY_CODE.get(code);
}

/** The type's code from its mnemonic or RFC 3597 TYPEnnn; undefined when neither. */
export function typeCode(token: string): number | undefined {
  // Types are mostly written in capitals already.
  const written = BY_NAME.get(token);
  if (written) return written.code;
  const upper = token.toUpperCase();
  const known = BY_NAME.get(upper);
  if (known) return known.code;
  const m = /^TYPE(\d{1,5})$/.exec(upper);
  if (!m) return undefined;
  const code = Number(m[1]);
  return code <= 65535 ? code : undefined;
}

/** The type as named prints it: its mnemonic when known, else TYPEnnn. */
export function typeName(code: number): string {
  const known = BY_CODE.get(code);
  return known && !known.printCode ? known.name : `TYPE${code}`;
}

useTypeNames({ code: typeCode, name: typeName });
