import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool } from './helpers/debian.js';
import { digAt, startAuth, type AuthHandle, type DigResult } from './helpers/dns.js';
import { ROOT } from './helpers/processes.js';

/**
 * The answer-building rules where b10 used to differ from BIND 9 (each case
 * checked against named 9.18 by hand; test/dns-diff*.test.ts compares the
 * two wholesale).
 */
let handle: AuthHandle;
let digBin: string;
const LONG = `${'a'.repeat(63)}.${'a'.repeat(63)}`;

beforeAll(async () => {
  digBin = requireTool('dig', 'dnsutils');
  handle = await startAuth({ zones: [{ origin: 'rules.test', file: path.join(ROOT, 'test/fixtures/zones/rules.zone') }] });
}, 30_000);

afterAll(() => handle?.stop());

const ask = (name: string, type: string, ...args: string[]): Promise<DigResult> => digAt(digBin, handle.port, `${name}.rules.test`, type, ...args);
const owners = (lines: string[]): string[] => lines.map((l) => l.split(' ')[0]!);

describe('answers as named builds them', () => {
  for (const over of [[], ['+tcp']]) {
    const via = over.length ? 'tcp' : 'udp';

    it(`cname_loop_${via}: SERVFAIL, each CNAME of the loop once, no TC`, async () => {
      const loop = await ask('loop1', 'A', ...over);
      expect(loop.status).toBe('SERVFAIL');
      expect(loop.flags).not.toContain('tc');
      expect(loop.answer).toEqual(['loop1.rules.test. 300 IN CNAME loop2.rules.test.', 'loop2.rules.test. 300 IN CNAME loop1.rules.test.']);
      const self = await ask('self', 'A', ...over);
      expect(self).toMatchObject({ status: 'SERVFAIL', answer: ['self.rules.test. 300 IN CNAME self.rules.test.'] });
    });
  }

  it('cname_chain_limit: 12 lookups at most; a longer chain is SERVFAIL with the 12 CNAMEs found', async () => {
    const fits = await ask('c4', 'A');
    expect(fits.status).toBe('NOERROR');
    expect(fits.answer).toHaveLength(12);
    expect(fits.answer.at(-1)).toBe('c15.rules.test. 300 IN A 192.0.2.99');
    const tooLong = await ask('c3', 'A');
    expect(tooLong.status).toBe('SERVFAIL');
    expect(owners(tooLong.answer)).toEqual(Array.from({ length: 12 }, (_, i) => `c${i + 3}.rules.test.`));
  });

  it('cname_into_delegation: the CNAME, then the referral to follow it, authoritative', async () => {
    const r = await ask('tochild', 'A');
    expect(r.status).toBe('NOERROR');
    expect(r.flags).toContain('aa');
    expect(r.answer).toEqual(['tochild.rules.test. 300 IN CNAME host.child.rules.test.']);
    expect(r.authority).toEqual(['child.rules.test. 300 IN NS ns.child.rules.test.']);
    expect(r.additional).toEqual(['ns.child.rules.test. 300 IN A 192.0.2.53']);
  });

  it('dname_too_long: YXDOMAIN with the DNAME (RFC 6672)', async () => {
    const r = await ask(`${LONG}.dlong`, 'A');
    expect(r.status).toBe('YXDOMAIN');
    expect(r.answer).toHaveLength(1);
    expect(r.answer[0]).toMatch(/^dlong\.rules\.test\. 300 IN DNAME a{63}\./);
  });

  it('ds_at_delegation: answered by the parent (NODATA here), not a referral', async () => {
    const r = await ask('secure', 'DS');
    expect(r.status).toBe('NOERROR');
    expect(r.flags).toContain('aa');
    expect(r.answer).toEqual([]);
    expect(owners(r.authority)).toEqual(['rules.test.']);
    expect(r.authority[0]).toContain(' SOA ');
    // Any other type at the cut is still a referral.
    expect(await ask('secure', 'NS')).toMatchObject({ authority: ['secure.rules.test. 300 IN NS ns.secure.rules.test.'], answer: [] });
  });

  it('ns_answer_additional: the name servers\' addresses come with an NS answer', async () => {
    const r = await digAt(digBin, handle.port, 'rules.test', 'NS');
    expect(r.additional.sort()).toEqual(['ns1.rules.test. 300 IN A 192.0.2.1', 'ns2.rules.test. 300 IN A 192.0.2.2', 'ns2.rules.test. 300 IN AAAA 2001:db8::2']);
    expect(r.authority).toEqual([]);
  });

  it('no_recursion_desired: a positive answer carries the zone\'s NS and their addresses, as named\'s default does', async () => {
    const norec = await ask('mx', 'MX', '+norec');
    expect(norec.authority.sort()).toEqual(['rules.test. 300 IN NS ns1.rules.test.', 'rules.test. 300 IN NS ns2.rules.test.']);
    expect(owners(norec.additional)).toEqual(['mail.rules.test.', 'ns1.rules.test.', 'ns2.rules.test.', 'ns2.rules.test.']);
    const rec = await ask('mx', 'MX');
    expect(rec.authority).toEqual([]);
    expect(rec.additional).toEqual(['mail.rules.test. 300 IN A 192.0.2.20']);
    // What is already in the answer is not repeated below it.
    const ns1 = await ask('ns1', 'A', '+norec');
    expect(owners(ns1.additional)).toEqual(['ns2.rules.test.', 'ns2.rules.test.']);
  });
});
