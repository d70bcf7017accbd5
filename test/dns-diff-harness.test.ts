import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ask, compare, differences, parseDig, queryLine, variants, type DiffQuery, type Reply } from './helpers/dns-diff.js';
import { startNamed, type Named } from './helpers/named.js';
import { freePort, ROOT } from './helpers/processes.js';
import { delvValidates, signZone } from './helpers/sign.js';
import { tempDir } from './helpers/tmp.js';
import { queriesForZone, zoneRecords } from './helpers/zone-queries.js';

/**
 * The differential harness itself: that it finds no difference where there
 * is none (two nameds, one file), finds exactly the one there is, reports a
 * server that does not answer, and that the signing helpers make zones a
 * validator accepts. b10 against named is in dns-diff-b10.test.ts.
 */

const ZONES = path.join(ROOT, 'test/fixtures/zones');
const EVERY = path.join(ZONES, 'every-type.zone');
const SIGNABLE = path.join(ZONES, 'signable.zone');

const serve = (name: string, file: string): Promise<Named> => startNamed({ zones: [{ name, file }], stopWith: onTestFinished });

const types = (replies: Reply[]): Set<string> =>
  new Set(replies.flatMap((r) => [...r.answer, ...r.authority, ...r.additional].map((line) => line.split(' ')[3]!)));

describe('differential harness', () => {
  it('same_file_same_answers: two nameds on every-type.zone answer every generated question alike, UDP and TCP, with and without DO', { timeout: 30_000 }, async () => {
    const [a, b] = await Promise.all([serve('every.test', EVERY), serve('every.test', EVERY)]);
    const queries = variants(await queriesForZone(EVERY, 'every.test'));
    const [ra, rb] = await Promise.all([ask(a, queries), ask(b, queries)]);
    expect(compare(queries, ra, rb, ['first', 'second'])).toEqual([]);

    // Not an empty comparison: every type of the zone came back in some answer (but NSEC3: named keeps NSEC3
    // records apart from the zone's names, and their owner does not exist for a question), every kind of
    // outcome was seen, and the DO bit shows in the replies to the questions that set it.
    expect(queries.length).toBeGreaterThan(1000);
    const zoneTypes = new Set((await zoneRecords(EVERY, 'every.test')).map((r) => r.type));
    expect([...zoneTypes].filter((t) => !types(ra).has(t))).toEqual(['NSEC3']);
    expect(new Set(ra.map((r) => r.rcode))).toEqual(new Set(['NOERROR', 'NXDOMAIN', 'SERVFAIL', 'REFUSED']));
    expect(ra.some((r) => r.authority.length > 0 && !r.flags.includes('aa'))).toBe(true);
    expect(queries.every((q, i) => ra[i]!.opt?.do === Boolean(q.dnssec))).toBe(true);
  });

  it('one_record_changed: a named on a copy with one address changed differs in exactly the answers that carry it', { timeout: 30_000 }, async () => {
    const dir = await tempDir();
    const changed = path.join(dir, 'every-type.zone');
    const text = await readFile(EVERY, 'utf8');
    expect(text).toMatch(/^a\.rr\t\tA\t192\.0\.2\.11$/m);
    await writeFile(changed, text.replace(/^a\.rr\t\tA\t192\.0\.2\.11$/m, 'a.rr\t\tA\t192.0.2.12'));
    const [a, b] = await Promise.all([serve('every.test', EVERY), serve('every.test', changed)]);
    const queries = variants(await queriesForZone(EVERY, 'every.test'));

    const diff = await differences(queries, { ...a, name: 'original' }, { ...b, name: 'changed' });
    const lines = ['  answer only from original: a.rr.every.test. 3600 IN A 192.0.2.11', '  answer only from changed: a.rr.every.test. 3600 IN A 192.0.2.12'];
    expect(diff).toEqual(['', ' +dnssec', ' +tcp', ' +tcp +dnssec'].map((options) => [`a.rr.every.test. A${options}`, ...lines].join('\n')));
  });

  it('transports_asked_as_told: 600 bytes of TXT come back truncated over UDP without EDNS, whole with EDNS and over TCP; DO and RD as asked', async () => {
    const named = await serve('every.test', EVERY);
    const queries: DiffQuery[] = [
      { name: 'bigtxt.every.test', type: 'TXT', edns: false },
      { name: 'bigtxt.every.test', type: 'TXT' },
      { name: 'bigtxt.every.test', type: 'TXT', edns: false, tcp: true },
      { name: 'bigtxt.every.test', type: 'TXT', bufsize: 512, dnssec: true, rd: true },
    ];
    const replies = await ask(named, queries);
    // Truncated, named sends the records that fit: fewer than the three.
    expect(replies.map((r) => [r.flags.includes('tc'), r.answer.length === 3, r.opt?.do ?? null, r.flags.includes('rd')])).toEqual([
      [true, false, null, false],
      [false, true, false, false],
      [false, true, null, false],
      [true, false, true, true],
    ]);
  });

  it('silent_server_reported: a port nobody answers on is a difference for every question, found without waiting', async () => {
    const named = await serve('every.test', EVERY);
    const nobody = await freePort();
    const queries: DiffQuery[] = [
      { name: 'a.rr.every.test', type: 'A' },
      { name: 'a.rr.every.test', type: 'A', tcp: true },
    ];
    const diff = await differences(queries, { ...named, name: 'named' }, { port: nobody, name: 'nobody' });
    expect(diff).toHaveLength(2);
    for (const d of diff) expect(d).toMatch(/response: named answered; nobody .*no servers could be reached/);
  });

  it('normalized: record order, COOKIE, NSID and the text of an Extended DNS Error are not compared; the rest is', () => {
    const block = (flags: string, options: string[], records: string[]): string =>
      [
        '; <<>> DiG 9.18.49 <<>> loop.example. A',
        ';; Got answer:',
        ';; ->>HEADER<<- opcode: QUERY, status: SERVFAIL, id: 4711',
        `;; flags: ${flags}; QUERY: 1, ANSWER: 2, AUTHORITY: 0, ADDITIONAL: 1`,
        '',
        ';; OPT PSEUDOSECTION:',
        '; EDNS: version: 0, flags: do; udp: 1232',
        ...options,
        ';; QUESTION SECTION:',
        ';loop.example.\t\t\tIN\tA',
        '',
        ';; ANSWER SECTION:',
        ...records,
        '',
      ].join('\n');
    const q: DiffQuery[] = [{ name: 'loop.example.', type: 'A' }];
    const one = parseDig(
      block('qr aa', ['; COOKIE: 0102030405060708a1b2 (good)', '; NSID: 6e 73 31 ("ns1")', '; EDE: 0 (Other): (max. restarts reached)'], [
        'loop.example.\t\t3600\tIN\tCNAME\tloop2.example.',
        'loop2.example.\t\t3600\tIN\tCNAME\tloop.example.',
      ]),
      q,
    );
    const other = parseDig(
      block('aa qr', ['; EDE: 0 (Other): (CNAME loop)'], ['loop2.example. 3600 IN CNAME loop.example.', 'loop.example. 3600 IN CNAME loop2.example.']),
      q,
    );
    expect(one[0]).toMatchObject({ rcode: 'SERVFAIL', flags: ['aa', 'qr'], opt: { do: true, udp: 1232, options: ['EDE: 0'] } });
    expect(compare(q, one, other)).toEqual([]);
    const worse = parseDig(block('qr aa tc', [], ['loop.example. 300 IN CNAME loop2.example.']), q);
    expect(compare(q, one, worse, ['named', 'b10'])).toEqual([
      [
        'loop.example. A',
        '  flag only from b10: tc',
        '  EDNS option only from named: EDE: 0',
        '  answer only from named: loop.example. 3600 IN CNAME loop2.example.',
        '  answer only from named: loop2.example. 3600 IN CNAME loop.example.',
        '  answer only from b10: loop.example. 300 IN CNAME loop2.example.',
      ].join('\n'),
    ]);
  });

  it('truncated_records_not_compared: two truncated replies differ only if their header, OPT or question do', () => {
    const q: DiffQuery[] = [{ name: 'big.example.', type: 'TXT', edns: false }];
    const reply = (flags: string, records: string[]): Reply[] =>
      parseDig(
        [
          '; <<>> DiG 9.18.49 <<>> big.example. TXT +noedns',
          ';; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 1',
          `;; flags: ${flags}; QUERY: 1, ANSWER: ${records.length}, AUTHORITY: 0, ADDITIONAL: 0`,
          ';; QUESTION SECTION:',
          ';big.example.\t\tIN\tTXT',
          ';; ANSWER SECTION:',
          ...records,
        ].join('\n'),
        q,
      );
    const a = reply('qr aa tc', ['big.example. 60 IN TXT "a"', 'big.example. 60 IN TXT "b"']);
    expect(compare(q, a, reply('qr aa tc', ['big.example. 60 IN TXT "c"']))).toEqual([]);
    expect(compare(q, a, reply('qr aa tc rd', []))).toEqual(['big.example. TXT +noedns\n  flag only from second: rd']);
    // AD is not compared between two truncated replies (named echoes the query's there): see dns-diff.ts.
    expect(compare(q, a, reply('qr aa tc ad', []))).toEqual([]);
    expect(compare(q, a, reply('qr tc', []))).toEqual(['big.example. TXT +noedns\n  flag only from first: aa']);
    expect(compare(q, a, reply('qr aa', ['big.example. 60 IN TXT "a"']))).toHaveLength(1);
  });

  it('additional_cut_for_room: one server fitting more glue than the other is not compared in a UDP referral or a reply without EDNS; in an authoritative answer, over TCP, or a different record, it is', () => {
    const reply = (q: DiffQuery, flags: string, additional: string[]): Reply[] =>
      parseDig(
        [
          `; <<>> DiG 9.18.49 <<>> ${queryLine(q)}`,
          ';; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 1',
          `;; flags: ${flags}; QUERY: 1, ANSWER: 0, AUTHORITY: 1, ADDITIONAL: ${additional.length}`,
          ';; QUESTION SECTION:',
          ';www.sub.example.\t\tIN\tA',
          ';; AUTHORITY SECTION:',
          'sub.example. 60 IN NS ns.sub.example.',
          ';; ADDITIONAL SECTION:',
          ...additional,
        ].join('\n'),
        [q],
      );
    const glue = ['ns.sub.example. 60 IN A 192.0.2.1', 'ns.sub.example. 60 IN AAAA 2001:db8::1'];
    const differ = (q: DiffQuery, flags: string, more: string[]): number => compare([q], reply(q, flags, glue.slice(0, 1)), reply(q, flags, more)).length;
    const udp: DiffQuery = { name: 'www.sub.example.', type: 'A' };
    expect(differ(udp, 'qr', glue)).toBe(0);
    expect(differ({ ...udp, edns: false }, 'qr aa', glue)).toBe(0);
    expect(differ(udp, 'qr aa', glue)).toBe(1);
    expect(differ({ ...udp, tcp: true }, 'qr', glue)).toBe(1);
    expect(differ(udp, 'qr', ['ns.sub.example. 60 IN A 192.0.2.2', glue[1]!])).toBe(1);
  });

  it('said_before_attributed: what dig prints before a question\'s block is that question\'s, and a question it printed nothing for has no response', () => {
    // As dig prints a reply whose question is not the one asked, on a kept-open TCP connection: nothing for that
    // question, the complaint before the next one's block.
    const output = [
      '; <<>> DiG 9.18.49 <<>> a.example. A +tcp',
      ';; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 1',
      ';; flags: qr aa; QUERY: 1, ANSWER: 0, AUTHORITY: 0, ADDITIONAL: 0',
      ';; ;; Question section mismatch: got b\\\\.x.example/A/IN',
      '; <<>> DiG 9.18.49 <<>> c.example. A +tcp',
      ';; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN, id: 3',
      ';; flags: qr aa; QUERY: 1, ANSWER: 0, AUTHORITY: 0, ADDITIONAL: 0',
      ';; communications error to 127.0.0.1#5300: timed out',
      '; <<>> DiG 9.18.49 <<>> d.example. A +tcp',
      ';; no servers could be reached',
    ].join('\n');
    const asked: DiffQuery[] = ['a', 'b\\.x', 'c', 'd'].map((n) => ({ name: `${n}.example.`, type: 'A', tcp: true }));
    const replies = parseDig(output, asked);
    expect(replies.map((r) => r.error ?? r.rcode)).toEqual([
      'NOERROR',
      'Question section mismatch: got b\\\\.x.example/A/IN',
      'NXDOMAIN',
      'communications error to the server: timed out; no servers could be reached',
    ]);
    expect(replies.map((r) => r.notes)).toEqual([[], [], [], []]);
  });

  it('signed_zones_validate: NSEC, NSEC3 and NSEC3 opt-out zones from signZone are served by named and validated by delv; another key is not trusted', { timeout: 30_000 }, async () => {
    const modes = [{ name: 'NSEC' }, { name: 'NSEC3', nsec3: true }, { name: 'NSEC3 opt-out', nsec3: true, optOut: true }];
    const signed = await Promise.all(modes.map((mode) => signZone(SIGNABLE, 'types.test', mode)));
    const servers = await Promise.all(signed.map((s) => serve('types.test', s.signedFile)));
    const texts = await Promise.all(signed.map((s) => readFile(s.signedFile, 'utf8')));
    expect(texts.map((t) => [/\sNSEC\s/.test(t), /\sNSEC3\s+1 0 0 - /.test(t), /\sNSEC3\s+1 1 0 - /.test(t)])).toEqual([
      [true, false, false],
      [false, true, false],
      [false, false, true],
    ]);

    const questions = [
      ['host.types.test', 'A'],
      ['nonexistent.types.test', 'A'],
      ['host.types.test', 'MX'],
      ['ent.types.test', 'A'],
      ['chain1.types.test', 'A'],
      ['www.old.types.test', 'A'],
      ['secure.types.test', 'DS'],
      ['insecure.types.test', 'DS'],
      ['match.wild.types.test', 'TXT'],
    ] as const;
    const checks = modes.flatMap((mode, m) =>
      // Under opt-out a wildcard's answer is proven only as insecure: the name it stands for falls in an opt-out span.
      questions
        .filter(([name]) => !(mode.optOut && name.includes('wild')))
        .map(async ([name, type]) => ({ mode: mode.name, name, type, ...(await delvValidates(servers[m]!, 'types.test', name, type, signed[m]!.anchorFile)) })),
    );
    const results = await Promise.all(checks);
    expect(results.filter((r) => !r.validated)).toEqual([]);

    const distrusted = await delvValidates(servers[0]!, 'types.test', 'host.types.test', 'A', signed[1]!.anchorFile);
    expect(distrusted.validated).toBe(false);
  });

  it('signed_same_answers: two nameds on one NSEC3-signed zone answer alike with DO, RRSIGs and NSEC3s compared', { timeout: 30_000 }, async () => {
    const signed = await signZone(SIGNABLE, 'types.test', { nsec3: true });
    const [a, b] = await Promise.all([serve('types.test', signed.signedFile), serve('types.test', signed.signedFile)]);
    const queries = variants(await queriesForZone(signed.signedFile, 'types.test'), { dnssec: [true] });
    const [ra, rb] = await Promise.all([ask(a, queries), ask(b, queries)]);
    expect(compare(queries, ra, rb)).toEqual([]);
    expect([...types(ra)]).toEqual(expect.arrayContaining(['RRSIG', 'NSEC3', 'DNSKEY', 'NSEC3PARAM', 'DS']));
  });
});
