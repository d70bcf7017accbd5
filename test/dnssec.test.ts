import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { delegationProof, nameErrorProof, noDataProof } from '../src/dns/denial.js';
import { base32hex, compareCanonical, isZoneKey, Nsec3Chain, nsec3Hash, NsecChain, signatureSecondsLeft, sigCovers } from '../src/dns/dnssec.js';
import { lookup } from '../src/dns/lookup.js';
import { parseMasterFile, rdataOfText } from '../src/dns/master-file.js';
import { typeCode, typeName } from '../src/dns/rdata.js';
import { rdatasOf, Zone, type RRset } from '../src/dns/zone.js';
import { ROOT } from './helpers/processes.js';

/**
 * The pure DNSSEC parts of b10-auth (src/dns/dnssec.ts, denial.ts, and
 * lookup.ts with DO): canonical order and NSEC3 hashes against the RFCs'
 * own examples, covering and matching in the chains, which names a zone
 * keeps apart, and the proofs lookup() adds, checked against the example
 * responses of RFC 4035 and RFC 5155 Appendix B on their example zones.
 */

const ZONES = path.join(ROOT, 'test/fixtures/zones');

function zoneOf(file: string, origin: string): Zone {
  return new Zone(origin, parseMasterFile(path.join(ZONES, file), origin));
}

/** A zone from master-file lines (absolute owners). */
function zoneFromLines(origin: string, lines: string[]): Zone {
  const records = lines.map((line) => {
    const [name, ttl, type, ...rdata] = line.split(/\s+/) as [string, string, string, ...string[]];
    return { name, ttl: Number(ttl), type: typeCode(type)!, rdata: rdataOfText(typeCode(type)!, rdata.join(' '), origin) };
  });
  return new Zone(origin, records);
}

/** RRsets as "owner TYPE", RRSIGs as "owner RRSIG covered", sorted: what a section holds, not in which order. */
function summary(rrsets: readonly RRset[]): string[] {
  return rrsets.map((r) => `${r.name} ${typeName(r.type)}${r.type === 46 ? ` ${typeName(sigCovers(rdatasOf(r)[0]!))}` : ''}`).sort();
}

/** An RRset and its signatures, as summary() writes them. */
const signed = (owner: string, type: string): string[] => [`${owner} ${type}`, `${owner} RRSIG ${type}`];

describe('canonical order (RFC 4034 6.1)', () => {
  it('canonical_order: names sort label by label from the right, bytes without case, a name before the names below it', () => {
    // RFC 4034 6.1's own example, in its order.
    const ordered = ['example.', 'a.example.', 'yljkjljk.a.example.', 'z.a.example.', 'zabc.a.example.', 'z.example.', '\\001.z.example.', '*.z.example.', '\\200.z.example.'];
    expect([...ordered].reverse().sort(compareCanonical)).toEqual(ordered);
    expect(compareCanonical('Z.A.example.', 'z.a.example.')).toBe(0);
  });
});

describe('NSEC3 hashing (RFC 5155 5)', () => {
  it('nsec3_hash: names hash to the RFC 5155 Appendix A owner labels (SHA-1, salt aabbccdd, 12 more iterations)', () => {
    const params = { algorithm: 1, iterations: 12, salt: Buffer.from('aabbccdd', 'hex') };
    const hashes: Record<string, string> = {
      'example.': '0p9mhaveqvm6t7vbl5lop2u3t2rp3tom',
      'a.example.': '35mthgpgcu1qg68fab165klnsnk3dpvl',
      'ai.example.': 'gjeqe526plbf1g8mklp59enfd789njgi',
      'ns1.example.': '2t7b4g4vsa5smi47k61mv5bv1a22bojr',
      'ns2.example.': 'q04jkcevqvmu85r014c7dkba38o0ji5r',
      'w.example.': 'k8udemvp1j2f7eg6jebps17vp3n8i58h',
      '*.w.example.': 'r53bq7cc2uvmubfu5ocmm6pers9tk9en',
      'x.w.example.': 'b4um86eghhds6nea196smvmlo4ors995',
      'y.w.example.': 'ji6neoaepv8b5o6k4ev33abha8ht9fgc',
      'x.y.w.example.': '2vptu5timamqttgl4luu9kg21e0aor3s',
      'xx.example.': 't644ebqk9bibcna874givr6joj62mlhv',
      '2t7b4g4vsa5smi47k61mv5bv1a22bojr.example.': 'kohar7mbb8dc2ce8a9qvl8hon4k53uhi',
      'X.W.Example.': 'b4um86eghhds6nea196smvmlo4ors995',
    };
    for (const [name, hash] of Object.entries(hashes)) expect(nsec3Hash(name, params), name).toBe(hash);
  });

  it('base32hex: RFC 4648 test vectors, lowercase and unpadded as in NSEC3 owner names', () => {
    const vectors = ['', 'co', 'cpng', 'cpnmu', 'cpnmuog', 'cpnmuoj1', 'cpnmuoj1e8'];
    vectors.forEach((expected, i) => expect(base32hex(Buffer.from('foobar'.slice(0, i)))).toBe(expected));
  });
});

describe('chains: matching and covering', () => {
  it('nsec_chain: a name that owns an NSEC finds it; another finds the last owner before it in canonical order', () => {
    const chain = new NsecChain(['b.example.', 'example.', 'a.example.', 'z.a.example.']);
    expect(chain.atOrBefore('a.example.')).toBe('a.example.');
    expect(chain.atOrBefore('m.a.example.')).toBe('a.example.');
    expect(chain.atOrBefore('zz.a.example.')).toBe('z.a.example.');
    expect(chain.atOrBefore('c.example.')).toBe('b.example.');
  });

  it('nsec3_chain: a hash matches its entry; another is covered by the one before it, and one before the first by the last (the chain wraps)', () => {
    const chain = new Nsec3Chain([
      { hash: 'k0', entry: 'K' },
      { hash: '20', entry: 'B' },
      { hash: 'f0', entry: 'F' },
    ]);
    expect(chain.find('f0')).toEqual({ entry: 'F', matches: true });
    expect(chain.find('g0')).toEqual({ entry: 'F', matches: false });
    expect(chain.find('v0')).toEqual({ entry: 'K', matches: false });
    expect(chain.find('10')).toEqual({ entry: 'K', matches: false });
    expect(new Nsec3Chain([]).find('10')).toBeUndefined();
  });
});

describe('zones: what is kept apart, and how a zone is signed', () => {
  const apex = ['example. 3600 SOA ns.example. host.example. 1 3600 600 86400 300', 'example. 3600 NS ns.example.', 'ns.example. 3600 A 192.0.2.1'];
  const zoneKey = 'example. 3600 DNSKEY 257 3 13 3sg4RR/I4/W8ZxlRPbGfASXvoNDtpq2puenXVQL4GYuyWbWUoZA+bFxikDiSu16T5JFoNTyve52SbbGsMAe5Ug==';
  const nsecSig = 'example. 300 RRSIG NSEC 13 1 300 20300101000000 20240101000000 1 example. AAAA';

  it('nsec3_owners_apart: NSEC3 records and their RRSIGs are no names of the zone, nor are the names above them', () => {
    const zone = zoneFromLines('example.', [
      ...apex,
      '2vptu5timamqttgl4luu9kg21e0aor3s.sub.example. 300 NSEC3 1 1 0 - 2vptu5timamqttgl4luu9kg21e0aor3s A RRSIG',
      '2vptu5timamqttgl4luu9kg21e0aor3s.sub.example. 300 RRSIG NSEC3 13 3 300 20300101000000 20240101000000 1 example. AAAA',
    ]);
    expect(zone.exists('2vptu5timamqttgl4luu9kg21e0aor3s.sub.example.')).toBe(false);
    expect(zone.exists('sub.example.')).toBe(false);
    expect(zone.records).toBe(5);
    expect(lookup(new Map([[zone.origin, zone]]), '2vptu5timamqttgl4luu9kg21e0aor3s.sub.example.', typeCode('NSEC3')!).rcode).toBe('NXDOMAIN');
  });

  it('zone_security: signed with NSEC or NSEC3 only with a zone key at the apex, and a signed NSEC or a usable NSEC3PARAM there; unsigned otherwise', () => {
    const nsec = ['example. 300 NSEC ns.example. NS SOA RRSIG NSEC DNSKEY', nsecSig];
    expect(zoneFromLines('example.', [...apex, zoneKey, ...nsec]).security).toBe('nsec');
    expect(zoneFromLines('example.', [...apex, ...nsec]).security).toBe('unsigned');
    expect(zoneFromLines('example.', [...apex, zoneKey, nsec[0]!]).security).toBe('unsigned');
    expect(zoneFromLines('example.', [...apex, zoneKey, 'example. 0 NSEC3PARAM 1 0 0 -']).security).toBe('nsec3');
    // Flags set, or a hash BIND does not know: no chain it would use.
    expect(zoneFromLines('example.', [...apex, zoneKey, 'example. 0 NSEC3PARAM 1 1 0 -']).security).toBe('unsigned');
    expect(zoneFromLines('example.', [...apex, zoneKey, 'example. 0 NSEC3PARAM 2 0 0 -']).security).toBe('unsigned');
    // A DNSKEY without the zone flag is no zone key.
    expect(zoneFromLines('example.', [...apex, zoneKey.replace(' 257 ', ' 1 '), ...nsec]).security).toBe('unsigned');
  });

  it('zone_key: the zone flag alone of the owner bits, authentication allowed, protocol 3', () => {
    const key = (flags: number, protocol = 3): Buffer => Buffer.from([flags >> 8, flags & 0xff, protocol, 13, 1]);
    expect(isZoneKey(key(256))).toBe(true);
    expect(isZoneKey(key(257))).toBe(true);
    expect(isZoneKey(key(257, 4))).toBe(false);
    expect(isZoneKey(key(0x0300))).toBe(false);
    expect(isZoneKey(key(0x8100))).toBe(false);
  });
});

describe('proofs as RFC 4035 Appendix B gives them (NSEC)', () => {
  const zone = zoneOf('rfc4035-example.zone', 'example.');
  const zones = new Map([[zone.origin, zone]]);
  const ask = (name: string, type: string) => lookup(zones, name, typeCode(type)!, { minimal: false, dnssec: true });

  it('nsec_zone: the example zone is signed with NSEC', () => expect(zone.security).toBe('nsec'));

  it('nsec_name_error: B.2, the NSEC covering the name and the one covering the wildcard at its closest encloser', () => {
    const answer = ask('ml.example.', 'A');
    expect(answer.rcode).toBe('NXDOMAIN');
    expect(summary(answer.authority)).toEqual([...signed('b.example.', 'NSEC'), ...signed('example.', 'NSEC'), ...signed('example.', 'SOA')].sort());
  });

  it('nsec_no_data: B.3, the name\'s own NSEC', () => {
    const answer = ask('ns1.example.', 'MX');
    expect(answer.rcode).toBe('NOERROR');
    expect(summary(answer.authority)).toEqual([...signed('example.', 'SOA'), ...signed('ns1.example.', 'NSEC')].sort());
  });

  it('nsec_referral: B.4 and B.5, the DS and its RRSIG to a signed child, the NSEC at the cut to an unsigned one', () => {
    expect(summary(ask('mc.a.example.', 'MX').authority)).toEqual(['a.example. NS', ...signed('a.example.', 'DS')].sort());
    expect(summary(ask('mc.b.example.', 'MX').authority)).toEqual(['b.example. NS', ...signed('b.example.', 'NSEC')].sort());
  });

  it('nsec_wildcard: B.6, a wildcard answer signed for the name asked, with the NSEC showing no closer match', () => {
    const answer = ask('a.z.w.example.', 'MX');
    expect(summary(answer.answer)).toEqual(signed('a.z.w.example.', 'MX'));
    expect(summary(answer.authority)).toEqual([...signed('example.', 'NS'), ...signed('x.y.w.example.', 'NSEC')].sort());
    expect(summary(answer.additional)).toEqual([...signed('ai.example.', 'A'), ...signed('ai.example.', 'AAAA'), ...signed('ns1.example.', 'A'), ...signed('ns2.example.', 'A')].sort());
  });

  it('nsec_wildcard_no_data: B.7, the NSEC covering the name and the wildcard\'s own', () => {
    expect(summary(ask('a.z.w.example.', 'AAAA').authority)).toEqual([...signed('example.', 'SOA'), ...signed('x.y.w.example.', 'NSEC'), ...signed('*.w.example.', 'NSEC')].sort());
  });

  it('nsec_ds_no_data: B.8, DS at the apex is no data, with the apex NSEC', () => {
    expect(summary(ask('example.', 'DS').authority)).toEqual([...signed('example.', 'NSEC'), ...signed('example.', 'SOA')].sort());
  });

  it('no_dnssec_without_do: without DO the same questions carry no RRSIG and no NSEC', () => {
    const answer = lookup(zones, 'ml.example.', typeCode('A')!, { minimal: false, dnssec: false });
    expect(summary(answer.authority)).toEqual(['example. SOA']);
    expect(summary(lookup(zones, 'a.z.w.example.', typeCode('MX')!, { minimal: false }).answer)).toEqual(['a.z.w.example. MX']);
  });
});

describe('proofs as RFC 5155 Appendix B gives them (NSEC3, opt-out)', () => {
  const zone = zoneOf('rfc5155-example.zone', 'example.');
  const zones = new Map([[zone.origin, zone]]);
  const ask = (name: string, type: string) => lookup(zones, name, typeCode(type)!, { minimal: false, dnssec: true });
  const nsec3 = (hash: string): string[] => signed(`${hash}.example.`, 'NSEC3');
  const soa = signed('example.', 'SOA');

  it('nsec3_zone: the example zone is signed with NSEC3, its parameters from the NSEC3PARAM', () => {
    expect(zone.security).toBe('nsec3');
    expect(zone.nsec3Params).toEqual({ algorithm: 1, iterations: 12, salt: Buffer.from('aabbccdd', 'hex') });
  });

  it('nsec3_name_error: B.1, the closest encloser\'s NSEC3, the one covering the next closer name, the one covering the wildcard', () => {
    const answer = ask('a.c.x.w.example.', 'A');
    expect(answer.rcode).toBe('NXDOMAIN');
    expect(summary(answer.authority)).toEqual([...soa, ...nsec3('b4um86eghhds6nea196smvmlo4ors995'), ...nsec3('0p9mhaveqvm6t7vbl5lop2u3t2rp3tom'), ...nsec3('35mthgpgcu1qg68fab165klnsnk3dpvl')].sort());
    expect(summary(nameErrorProof(zone, 'a.c.x.w.example.'))).toEqual(summary(answer.authority).filter((r) => !r.includes('SOA')));
  });

  it('nsec3_no_data: B.2 and B.2.1, the NSEC3 matching the name, an empty non-terminal\'s too', () => {
    expect(summary(ask('ns1.example.', 'MX').authority)).toEqual([...soa, ...nsec3('2t7b4g4vsa5smi47k61mv5bv1a22bojr')].sort());
    expect(summary(ask('y.w.example.', 'A').authority)).toEqual([...soa, ...nsec3('ji6neoaepv8b5o6k4ev33abha8ht9fgc')].sort());
  });

  it('nsec3_opt_out_referral: B.3, an insecure delegation without an NSEC3: the closest provable encloser\'s and the opt-out one covering the next closer name', () => {
    const answer = ask('mc.c.example.', 'MX');
    expect(answer.aa).toBe(false);
    expect(summary(answer.authority)).toEqual(['c.example. NS', ...nsec3('0p9mhaveqvm6t7vbl5lop2u3t2rp3tom'), ...nsec3('35mthgpgcu1qg68fab165klnsnk3dpvl')].sort());
    expect(summary(delegationProof(zone, 'c.example.'))).toEqual(summary(answer.authority).filter((r) => r !== 'c.example. NS'));
  });

  it('nsec3_wildcard: B.4, a wildcard answer with the NSEC3 covering the next closer name only', () => {
    const answer = ask('a.z.w.example.', 'MX');
    expect(summary(answer.answer)).toEqual(signed('a.z.w.example.', 'MX'));
    expect(summary(answer.authority)).toEqual([...signed('example.', 'NS'), ...nsec3('q04jkcevqvmu85r014c7dkba38o0ji5r')].sort());
  });

  it('nsec3_wildcard_no_data: B.5, the closest encloser\'s NSEC3, the one covering the next closer name, the wildcard\'s matching one', () => {
    expect(summary(ask('a.z.w.example.', 'AAAA').authority)).toEqual(
      [...soa, ...nsec3('k8udemvp1j2f7eg6jebps17vp3n8i58h'), ...nsec3('q04jkcevqvmu85r014c7dkba38o0ji5r'), ...nsec3('r53bq7cc2uvmubfu5ocmm6pers9tk9en')].sort(),
    );
  });

  it('nsec3_ds_no_data: B.6, DS at the apex is no data, with the apex NSEC3', () => {
    expect(summary(noDataProof(zone, 'example.'))).toEqual(nsec3('0p9mhaveqvm6t7vbl5lop2u3t2rp3tom'));
    expect(summary(ask('example.', 'DS').authority)).toEqual([...soa, ...nsec3('0p9mhaveqvm6t7vbl5lop2u3t2rp3tom')].sort());
  });

  it('nsec3_owners_apart: an NSEC3 owner name does not exist; a name of the zone spelt like one is the zone\'s own', () => {
    expect(ask('35mthgpgcu1qg68fab165klnsnk3dpvl.example.', 'NSEC3').rcode).toBe('NXDOMAIN');
    // The example zone has an A record at a name that is also an NSEC3 owner (ns1's hash): the A is answered, and
    // asked for NSEC3 the name has none of its own, as the NSEC3 matching its own hash shows.
    expect(summary(ask('2t7b4g4vsa5smi47k61mv5bv1a22bojr.example.', 'A').answer)).toEqual(signed('2t7b4g4vsa5smi47k61mv5bv1a22bojr.example.', 'A'));
    const nodata = ask('2t7b4g4vsa5smi47k61mv5bv1a22bojr.example.', 'NSEC3');
    expect(nodata.answer).toEqual([]);
    expect(summary(nodata.authority)).toEqual([...soa, ...nsec3('kohar7mbb8dc2ce8a9qvl8hon4k53uhi')].sort());
  });
});

describe('signature expiry (RFC 4034 3.1.5)', () => {
  const rrsig = (expiration: number): Buffer => {
    const b = Buffer.alloc(18);
    b.writeUInt32BE(expiration, 8);
    return b;
  };

  it('signature_expiry: seconds left by serial arithmetic, negative once expired, right across the 2106 wrap', () => {
    expect(signatureSecondsLeft(rrsig(1_000_000), 999_000)).toBe(1000);
    expect(signatureSecondsLeft(rrsig(1_000_000), 1_001_000)).toBe(-1000);
    expect(signatureSecondsLeft(rrsig(500), 2 ** 32 - 500)).toBe(1000);
  });
});
