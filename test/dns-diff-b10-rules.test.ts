import { describe, expect, it } from 'vitest';
import { NEGATIVE_AND_REFERRALS, ORIGIN, POSITIVE_WITH_RD, ZONE } from './fixtures/zones/b10-types.questions.js';
import { b10AndNamed, questions } from './helpers/b10-vs-named.js';
import { differences, variants, type DiffQuery } from './helpers/dns-diff.js';
import { queriesForZone } from './helpers/zone-queries.js';

/**
 * Where b10-auth used to answer otherwise than BIND 9 (issue 19), each case
 * asked of both serving the same zone and compared
 * (test/helpers/dns-diff.ts); then every question the generator makes.
 */


const UDP_TCP: Omit<DiffQuery, 'name' | 'type'>[] = [{}, { tcp: true }];
const RD_UDP_TCP: Omit<DiffQuery, 'name' | 'type'>[] = [{}, { tcp: true }, { rd: true }, { rd: true, tcp: true }];

async function expectSame(asked: DiffQuery[], origin = ORIGIN, zone = ZONE): Promise<void> {
  const { b10, named } = await b10AndNamed(origin, zone);
  expect(await differences(asked, b10, named)).toEqual([]);
}

describe('b10-auth answers as BIND 9 does: the rules', () => {
  it('apex_ns_in_authority: a positive answer to a question with RD clear carries the apex NS in authority and their addresses in additional', { timeout: 30_000 }, () =>
    // named's default minimal-responses (no-auth-recursive) leaves them out only when RD is set.
    expectSame(questions(ORIGIN, POSITIVE_WITH_RD, UDP_TCP)));

  it('ns_answer_addresses: an answer of NS records carries the name servers\' addresses in additional', { timeout: 30_000 }, () =>
    expectSame(questions(ORIGIN, ['@ NS'], RD_UDP_TCP)));

  it('do_bit_echoed: a question with DO gets DO back in the OPT record', { timeout: 30_000 }, () =>
    expectSame(questions(ORIGIN, [...NEGATIVE_AND_REFERRALS, ...POSITIVE_WITH_RD], [{ dnssec: true, rd: true }, { dnssec: true, rd: true, tcp: true }])));

  it('large_answers_fit_by_compression: 16 MX, or 13 NS and 26 addresses, fit in 1232 bytes (a referral\'s in 512) with names compressed: no TC', { timeout: 30_000 }, () =>
    expectSame(questions(ORIGIN, ['big MX', 'bigdeleg NS', 'a.ns.bigdeleg A', 'www.bigdeleg A'], [{}, { rd: true }, { edns: false }])));

  it('large_rrset_no_additional: an RRset of more than 13 records gets no additional section processing (16 MX: no addresses of their hosts)', { timeout: 30_000 }, () =>
    // BIND 9.18 since 9.18.28 (CVE-2024-1737): additional data is looked up only for RRsets of at most 13 records.
    expectSame(questions(ORIGIN, ['big MX'], [{ tcp: true, rd: true }])));

  it('truncated_like_named: 600 bytes of TXT without EDNS come back truncated as named truncates them', { timeout: 30_000 }, () =>
    expectSame(questions(ORIGIN, ['bigtxt TXT'], [{ edns: false }, { edns: false, rd: true }])));

  it('cname_loop_servfail: a CNAME loop is SERVFAIL with each CNAME once and an Extended DNS Error 0', { timeout: 30_000 }, () =>
    expectSame(questions(ORIGIN, ['loop1 A', 'loop2 A'], RD_UDP_TCP)));

  it('ds_from_the_parent: DS at a delegation is answered from the parent side (authoritative, no data, SOA), not with a referral', { timeout: 30_000 }, () =>
    expectSame(questions(ORIGIN, ['secure DS', 'insecure DS', 'bigdeleg DS'], RD_UDP_TCP)));

  it('cname_into_delegation: a CNAME into a delegation comes with the referral (NS in authority, glue in additional)', { timeout: 30_000 }, () =>
    expectSame(questions(ORIGIN, ['todeleg A'], RD_UDP_TCP)));

  it('escaped_names: names with a space, a dot, a semicolon or bytes 255 and 0 in a label are found, and the question echoed as asked', { timeout: 30_000 }, () =>
    expectSame(questions(ORIGIN, ['space\\032name TXT', 'dot\\.inlabel TXT', 'semi\\;colon PTR', 'bin\\255\\000 TXT', 'space\\032name A', 'semi\\;colon A'], RD_UDP_TCP)));

  it('every_question: every question the generator makes about b10-types.zone, UDP and TCP, DO or not, RD clear or set, with and without EDNS', { timeout: 180_000 }, async () => {
    const base = await queriesForZone(ZONE, ORIGIN);
    await expectSame([...variants(base), ...variants(base.map((q) => ({ ...q, rd: true }))), ...variants(base.map((q) => ({ ...q, edns: false })), { dnssec: [false] })]);
  });
});
