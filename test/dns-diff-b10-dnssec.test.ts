import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { b10AndNamed, questions } from './helpers/b10-vs-named.js';
import { differences, variants, type DiffQuery } from './helpers/dns-diff.js';
import { ROOT } from './helpers/processes.js';
import { delvValidates, signZone, type SignOptions } from './helpers/sign.js';
import { queriesForZone } from './helpers/zone-queries.js';

/**
 * b10-auth serving DNSSEC-signed zones as BIND 9 serves them (issue 19):
 * signable.zone signed by dnssec-signzone with fresh keys (NSEC; NSEC3
 * without salt or extra iterations; NSEC3 opt-out), served by both, every
 * question the generator makes asked of both and compared
 * (test/helpers/dns-diff.ts: RRSIGs, NSEC and NSEC3 records included); then
 * b10's answers checked by a validator, delv, trusting only the zone's KSK.
 * And the one unsigned case: NSEC3 records in an unsigned zone are kept
 * apart from its names, as named keeps them.
 */

const ZONES = path.join(ROOT, 'test/fixtures/zones');
const SIGNABLE = path.join(ZONES, 'signable.zone');
const EVERY = path.join(ZONES, 'every-type.zone');
const ORIGIN = 'types.test';

const MODES: { name: string; sign: SignOptions }[] = [
  { name: 'nsec', sign: {} },
  { name: 'nsec3', sign: { nsec3: true } },
  { name: 'nsec3_optout', sign: { nsec3: true, optOut: true } },
];

/** One answer of each kind a validator must be able to check, as "name TYPE" (relative to the origin). */
const VALIDATED = [
  'host A', // positive
  'match.wild A', // wildcard: the proof of no closer match
  'match.wild AAAA', // wildcard NODATA
  'chain1 A', // CNAME chain
  'towild A', // CNAME onto a wildcard
  'www.old A', // DNAME, its CNAME made up unsigned
  'nonexistent A', // NXDOMAIN
  'nonexistent.ent A', // NXDOMAIN below an empty non-terminal
  'dangling A', // CNAME to a name that does not exist
  'host MX', // NODATA
  'ent A', // NODATA at an empty non-terminal
  'secure DS', // DS at a signed delegation
  'insecure DS', // no DS at an unsigned delegation (with opt-out: no NSEC3 of its own)
];

/**
 * Names with a dot inside a label: one label below the name after it (the wildcard matches, and the proofs
 * order the dot as the byte it is), not two.
 */
const ESCAPED_DOTS = ['a\\.real.wild A', 'a\\.real.wild AAAA', 'a\\.b.ent A', 'x\\.nonexistent A', 'dot\\.inlabel TXT', 'dot\\.inlabel A'];

/** Wildcard answers, which a validator takes for unsigned when the zone opts out (see the test). */
const INSECURE_WITH_OPT_OUT = ['match.wild A', 'towild A'];

async function signedAndServed(sign: SignOptions) {
  const signed = await signZone(SIGNABLE, ORIGIN, sign);
  return { signed, ...(await b10AndNamed(ORIGIN, signed.signedFile)) };
}

describe('b10-auth serves signed zones as BIND 9 does', () => {
  for (const { name, sign } of MODES) {
    it(`${name}_same_answers: every generated question about the zone, with DO over UDP and TCP, with DO and RD, and without DO, gets named's answer, signatures and proofs included`, { timeout: 120_000 }, async () => {
      const { signed, b10, named } = await signedAndServed(sign);
      const base = await queriesForZone(signed.signedFile, ORIGIN);
      const asked: DiffQuery[] = [
        ...variants(base, { dnssec: [true] }),
        ...questions(ORIGIN, ESCAPED_DOTS, [{ dnssec: true }, {}]),
        ...base.map((q) => ({ ...q, dnssec: true, rd: true })),
        ...base.map((q) => ({ ...q, dnssec: false })),
      ];
      expect(await differences(asked, b10, named)).toEqual([]);
    });

    it(`${name}_validated: delv, trusting the zone's KSK alone, judges b10's positive, wildcard, CNAME, DNAME, NXDOMAIN, NODATA and DS answers as named's: fully validated`, { timeout: 120_000 }, async () => {
      const { signed, b10, named } = await signedAndServed(sign);
      const verdicts = await Promise.all(
        VALIDATED.map(async (line) => {
          const [relative, type] = line.split(' ') as [string, string];
          const [fromB10, fromNamed] = await Promise.all([b10, named].map((server) => delvValidates(server, ORIGIN, `${relative}.${ORIGIN}`, type, signed.anchorFile)));
          return { line, b10: fromB10!.validated, named: fromNamed!.validated, output: fromB10!.output };
        }),
      );
      expect(verdicts.filter((v) => v.b10 !== v.named)).toEqual([]);
      // With opt-out, the NSEC3 covering a wildcard answer's next closer name opts out: a validator cannot rule out an
      // insecure delegation there, and takes the answer for unsigned (RFC 5155 9.2), from named as from b10.
      const insecure = sign.optOut ? INSECURE_WITH_OPT_OUT : [];
      expect(verdicts.filter((v) => !v.b10 && !insecure.includes(v.line))).toEqual([]);
    });
  }

  it('small_buffer_truncated: with DO and 512 bytes of EDNS, signed answers too large are truncated as named truncates them, the rest answered minimally as named does', { timeout: 60_000 }, async () => {
    const { b10, named } = await signedAndServed({ nsec3: true });
    const asked = questions(ORIGIN, ['@ DNSKEY', '@ ANY', '@ NS', 'nonexistent A', 'host A', 'host MX', 'match.wild A', 'match.wild AAAA', 'chain1 A', 'www.old A', 'insecure DS', 'www.insecure A'], [
      { dnssec: true, bufsize: 512 },
      { dnssec: true, bufsize: 512, rd: true },
      { bufsize: 512 },
    ]);
    expect(await differences(asked, b10, named)).toEqual([]);
  });

  it('cd_echoed: a query with CD set gets CD back, as named echoes it, with DO or not; AD is never set', { timeout: 60_000 }, async () => {
    const { b10, named } = await signedAndServed({});
    // dig sets AD in its queries by default: named leaves it out of authoritative answers, and so does b10.
    const asked = questions(ORIGIN, ['host A', 'nonexistent A', 'match.wild A', 'www.secure A'], [{ cd: true }, { cd: true, dnssec: true }, { cd: true, dnssec: true, tcp: true }, { dnssec: true }]);
    expect(await differences(asked, b10, named)).toEqual([]);
  });
});

describe('NSEC3 records in an unsigned zone', () => {
  it('nsec3_owners_apart: every-type.zone\'s NSEC3 owner does not exist (NXDOMAIN, as from named), and every other generated question is answered as named, UDP and TCP, DO or not', { timeout: 60_000 }, async () => {
    const { b10, named } = await b10AndNamed('every.test', EVERY);
    expect(await differences(variants(await queriesForZone(EVERY, 'every.test')), b10, named)).toEqual([]);
  });
});
