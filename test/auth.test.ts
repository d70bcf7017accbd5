import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bus } from '../src/testing/index.js';
import { requireTool } from './helpers/debian.js';
import { digAt, query, rcodeOf, startAuth, udpExchange, type AuthHandle, type DigResult } from './helpers/dns.js';
import { ROOT, run } from './helpers/processes.js';
import { tempDir } from './helpers/tmp.js';

const ZONE = path.join(ROOT, 'test/fixtures/zones/auth.zone');

let handle: AuthHandle;
let bus: Bus;
let port: number;
let dataPath: string;
let digBin: string;

/** Real dig against auth, without RD unless asked (+rec). */
const dig = (...args: string[]): Promise<DigResult> => digAt(digBin, port, '+norec', ...args);

beforeAll(async () => {
  digBin = requireTool('dig', 'dnsutils');
  handle = await startAuth();
  port = handle.port;
  dataPath = handle.dataPath;
  bus = handle.bus;
}, 30_000);

afterAll(() => handle?.stop());

describe('b10-auth answers, checked with dig', () => {
  for (const tcp of [false, true]) {
    const over = tcp ? ['+tcp'] : [];
    const via = tcp ? 'tcp' : 'udp';
    it(`exact_match_${via}: AA, the RRset`, async () => {
      const r = await dig(...over, 'www.auth.test', 'AAAA');
      expect(r.status).toBe('NOERROR');
      expect(r.flags).toContain('aa');
      expect(r.answer).toEqual(['www.auth.test. 300 IN AAAA 2001:db8::10']);
    });

    it(`cname_chain_${via}: followed inside the zone`, async () => {
      const r = await dig(...over, 'a.auth.test', 'A');
      expect(r.answer).toEqual(['a.auth.test. 300 IN CNAME b.auth.test.', 'b.auth.test. 300 IN CNAME c.auth.test.', 'c.auth.test. 300 IN A 192.0.2.30']);
      const out = await dig(...over, 'out.auth.test', 'A');
      expect(out.answer).toEqual(['out.auth.test. 300 IN CNAME www.elsewhere.example.']);
    });

    it(`nxdomain_${via}: the SOA in authority with the negative TTL`, async () => {
      const r = await dig(...over, 'nothing.auth.test', 'A');
      expect(r.status).toBe('NXDOMAIN');
      expect(r.flags).toContain('aa');
      expect(r.authority).toEqual(['auth.test. 60 IN SOA ns1.auth.test. hostmaster.auth.test. 7 3600 900 604800 60']);
    });

    it(`nodata_${via}: an existing name, or an empty non-terminal, without that type`, async () => {
      for (const name of ['www.auth.test', 'deep.name.auth.test']) {
        const r = await dig(...over, name, 'MX');
        expect(r.status).toBe('NOERROR');
        expect(r.answer).toEqual([]);
        expect(r.authority[0]).toMatch(/^auth\.test\. 60 IN SOA/);
      }
    });

    it(`referral_${via}: NS of the cut, glue, no AA`, async () => {
      const r = await dig(...over, 'www.child.auth.test', 'A');
      expect(r.status).toBe('NOERROR');
      expect(r.flags).not.toContain('aa');
      expect(r.answer).toEqual([]);
      expect(r.authority.sort()).toEqual(['child.auth.test. 300 IN NS ns.child.auth.test.', 'child.auth.test. 300 IN NS ns.outside.example.']);
      expect(r.additional).toEqual(['ns.child.auth.test. 300 IN A 192.0.2.50']);
    });

    it(`dname_${via}: the DNAME and the CNAME it makes, then the target`, async () => {
      const r = await dig(...over, 'x.moved.auth.test', 'A');
      expect(r.answer[0]).toBe('moved.auth.test. 300 IN DNAME www.auth.test.');
      expect(r.answer[1]).toBe('x.moved.auth.test. 300 IN CNAME x.www.auth.test.');
    });

    it(`wildcard_${via}: synthesized for the name asked`, async () => {
      const r = await dig(...over, 'any.thing.wild.auth.test', 'A');
      expect(r.answer).toEqual(['any.thing.wild.auth.test. 300 IN A 192.0.2.60']);
    });

    it(`refused_${via}: names outside every zone`, async () => {
      expect((await dig(...over, 'www.example.org', 'A')).status).toBe('REFUSED');
    });
  }

  it('truncation: a large RRset over plain UDP is sent with TC and the records that fit, as named does; dig gets it whole over TCP', async () => {
    const truncated = await dig('+noedns', '+ignore', 'big.auth.test', 'TXT');
    expect(truncated.flags).toContain('tc');
    expect(truncated.answer.length).toBeGreaterThan(0);
    expect(truncated.answer.length).toBeLessThan(40);
    const retried = await dig('+noedns', 'big.auth.test', 'TXT');
    expect(retried.raw).toContain('Truncated, retrying in TCP mode');
    expect(retried.answer.length).toBe(40);
  });

  it('edns_payload: honoured; answered with OPT; version 1 gets BADVERS', async () => {
    expect((await dig('+bufsize=4096', 'big.auth.test', 'TXT')).answer.length).toBe(40);
    const small = await dig('+bufsize=1232', '+ignore', 'big.auth.test', 'TXT');
    expect(small.flags).toContain('tc');
    expect(small.raw).toMatch(/EDNS: version: 0, flags:; udp: 1232/);
    expect((await dig('+edns=1', '+noednsnegotiation', 'www.auth.test', 'A')).status).toBe('BADVERS');
  });

  it('malformed_queries: FORMERR, NOTIMP, and silence for responses and runts', async () => {
    expect(rcodeOf((await udpExchange(port, query({ qdcount: 2 })))!)).toBe(1);
    expect(rcodeOf((await udpExchange(port, query({ trailing: Buffer.from([1, 2, 3]) })))!)).toBe(1);
    expect(rcodeOf((await udpExchange(port, query().subarray(0, 20)))!)).toBe(1);
    const notimp = (await udpExchange(port, query({ flags: 2 << 11 })))!;
    expect(rcodeOf(notimp)).toBe(4);
    expect(notimp.readUInt16BE(0)).toBe(0x1234);
    expect(await udpExchange(port, query({ flags: 0x8000 }))).toBeUndefined();
    expect(await udpExchange(port, Buffer.from([1, 2, 3]))).toBeUndefined();
    // Still answering good queries after all that.
    expect((await dig('www.auth.test', 'A')).answer).toEqual(['www.auth.test. 300 IN A 192.0.2.10']);
  });

  it('long_names: a name of 100 labels is answered from the zone, not FORMERR; one past 255 bytes is FORMERR', async () => {
    const hundred = `${'a.'.repeat(98)}auth.test`;
    for (const over of [[], ['+tcp']]) {
      const r = await dig(...over, hundred, 'A');
      expect(r.status).toBe('NXDOMAIN');
      expect(r.flags).toContain('aa');
    }
    // Under a wildcard a long name is synthesized like any other.
    const wild = await dig(`${'w.'.repeat(60)}wild.auth.test`, 'A');
    expect(wild.answer).toEqual([`${'w.'.repeat(60)}wild.auth.test. 300 IN A 192.0.2.60`]);
    // 127 one-byte labels and the root: 255 bytes, the most a name may have.
    expect(rcodeOf((await udpExchange(port, query({ name: `${'a.'.repeat(126)}a` })))!)).toBe(5);
    expect(rcodeOf((await udpExchange(port, query({ name: `${'a.'.repeat(127)}a` })))!)).toBe(1);
    // A record whose owner is a compression pointer to itself: a loop, cut short.
    const looped = query();
    looped.writeUInt16BE(1, 10);
    const self = Buffer.from([0xc0 | (looped.length >> 8), looped.length & 0xff, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0]);
    expect(rcodeOf((await udpExchange(port, Buffer.concat([looped, self])))!)).toBe(1);
  });

  it('notify_not_served: NOTAUTH, without AA, for a zone auth does not serve; acknowledged for its own', async () => {
    const NOTIFY = 4 << 11;
    const foreign = (await udpExchange(port, query({ flags: NOTIFY | 0x0400, name: 'example.org', type: 6 })))!;
    expect(rcodeOf(foreign)).toBe(9);
    expect(foreign[2]! & 0x04).toBe(0);
    // Below a served zone is not a zone either.
    expect(rcodeOf((await udpExchange(port, query({ flags: NOTIFY, name: 'www.auth.test', type: 6 })))!)).toBe(9);
    const own = (await udpExchange(port, query({ flags: NOTIFY | 0x0400, name: 'auth.test', type: 6 })))!;
    expect(rcodeOf(own)).toBe(0);
    expect(own[2]! & 0x04).toBe(0x04);
  });

  it('reload: b10 zone load tells auth over the bus, and the new data is served at once', async () => {
    const dir = await tempDir();
    const changed = path.join(dir, 'auth.zone');
    await writeFile(changed, (await readFile(ZONE, 'utf8')).replace('hostmaster 7 ', 'hostmaster 8 ').replace('192.0.2.10', '192.0.2.11'));
    const r = await run('src/cli/main.js', ['zone', 'load', 'auth.test', changed, '-d', dataPath], { env: bus.env });
    expect(r).toMatchObject({ code: 0, stderr: 'b10: auth serves auth.test. as loaded' });
    expect((await dig('www.auth.test', 'A')).answer).toEqual(['www.auth.test. 300 IN A 192.0.2.11']);
    expect((await dig('auth.test', 'SOA')).answer[0]).toMatch(/ 8 3600 900 604800 60$/);
  });

  it('drop: b10 zone drop tells auth, which answers REFUSED for the zone\'s names at once; a zone auth never served is said so', async () => {
    const dropped = await run('src/cli/main.js', ['zone', 'drop', 'auth.test', '-d', dataPath], { env: bus.env });
    expect(dropped).toMatchObject({ code: 0, stdout: 'auth.test.: dropped\n', stderr: 'b10: auth no longer serves auth.test.' });
    expect((await dig('www.auth.test', 'A')).status).toBe('REFUSED');
    expect((await dig('auth.test', 'SOA')).status).toBe('REFUSED');

    const basic = path.join(ROOT, 'test/fixtures/zones/basic.zone');
    expect(await run('src/cli/main.js', ['zone', 'load', 'example.com', basic, '--no-notify', '-d', dataPath])).toMatchObject({ code: 0 });
    const unserved = await run('src/cli/main.js', ['zone', 'drop', 'example.com', '-d', dataPath], { env: bus.env });
    expect(unserved).toMatchObject({ code: 0, stderr: 'b10: auth did not serve example.com. (no zone example.com. in the store)' });
  });
});
