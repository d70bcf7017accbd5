import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ORIGIN, ZONE } from './fixtures/zones/b10-types.questions.js';
import { b10AndNamed } from './helpers/b10-vs-named.js';
import { differences, variants, type DiffQuery } from './helpers/dns-diff.js';
import { ROOT } from './helpers/processes.js';
import { delvValidates, signZone } from './helpers/sign.js';
import { queriesForZone } from './helpers/zone-queries.js';

/**
 * What b10-auth does not yet answer as BIND 9 does (issue 19), each case a
 * test that fails today and passes once b10 is fixed. Not run yet: vitest
 * runs *.test.ts files only; renamed to one (dns-diff-b10-pending.test.ts)
 * when the fixes land. What is compared: test/helpers/dns-diff.ts.
 */

const ZONES = path.join(ROOT, 'test/fixtures/zones');
const EVERY = path.join(ZONES, 'every-type.zone');
const SIGNABLE = path.join(ZONES, 'signable.zone');


async function expectSame(asked: DiffQuery[], origin = ORIGIN, zone = ZONE): Promise<void> {
  const { b10, named } = await b10AndNamed(origin, zone);
  expect(await differences(asked, b10, named)).toEqual([]);
}

describe('b10-auth answers as BIND 9 does: not yet', () => {
  it('every_type: b10 loads every-type.zone (every type BIND 9 reads) and answers every generated question as named, UDP and TCP, DO or not', { timeout: 60_000 }, async () =>
    expectSame(variants(await queriesForZone(EVERY, 'every.test')), 'every.test', EVERY));

  it('signed_zones: NSEC, NSEC3 and NSEC3 opt-out signed zones are answered as named answers them with DO, and delv validates b10\'s answers', { timeout: 60_000 }, async () => {
    for (const mode of [{}, { nsec3: true }, { nsec3: true, optOut: true }]) {
      const signed = await signZone(SIGNABLE, ORIGIN, mode);
      const { b10, named } = await b10AndNamed(ORIGIN, signed.signedFile);
      const asked = variants(await queriesForZone(signed.signedFile, ORIGIN), { dnssec: [true] });
      expect(await differences(asked, b10, named)).toEqual([]);
      const names = ['host.types.test', 'nonexistent.types.test', 'ent.types.test', 'chain1.types.test', 'www.old.types.test', 'secure.types.test', 'insecure.types.test'];
      const types = ['A', 'A', 'A', 'A', 'A', 'DS', 'DS'];
      const results = await Promise.all(names.map(async (name, i) => ({ name, ...(await delvValidates(b10, ORIGIN, name, types[i]!, signed.anchorFile)) })));
      expect(results.filter((r) => !r.validated)).toEqual([]);
    }
  });
});
