import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { requireTool } from './helpers/debian.js';
import { query, rcodeOf, udpExchange } from './helpers/dns.js';
import { startNamed } from './helpers/named.js';
import { freePort, run, type LogLine } from './helpers/processes.js';
import { boot, byComponent, type Booted } from './helpers/stack.js';
import { tempDir } from './helpers/tmp.js';

const exec = promisify(execFile);
const components = {
  xfrout: { process: 'b10-xfrout', kind: 'dispensable', address: 'Xfrout', priority: 20 },
  auth: { process: 'b10-auth', kind: 'needed', address: 'Auth', priority: 10 },
  xfrin: { process: 'b10-xfrin', kind: 'dispensable', address: 'Xfrin', priority: 5 },
};
const HOSTS = 300;

/** A zone of some 300 records at `serial`; `www` and `extra` lines vary between versions. */
function zoneText(origin: string, serial: number, www = '192.0.2.80', extra = ''): string {
  const lines = [`$ORIGIN ${origin}.`, '$TTL 60', `@ SOA ns1 hostmaster ${serial} 3600 900 604800 60`, '@ NS ns1', 'ns1 A 192.0.2.1', `www A ${www}`];
  for (let i = 0; i < HOSTS; i++) lines.push(`host${i} A 10.1.${i >> 8}.${i & 255}`);
  return `${lines.join('\n')}\n${extra}`;
}

/** dig's records (comments dropped, spaces squeezed, lowercase), in the order sent. */
const records = (out: string): string[] =>
  out.split('\n').filter((l) => l !== '' && !l.startsWith(';')).map((l) => l.replace(/\s+/g, ' ').toLowerCase());
const serialOf = (record: string): number => Number(record.split(' ')[6]);
/** A record as its type and what tells it apart here: the serial of an SOA, the data of the others. */
const brief = (record: string): string => {
  const f = record.split(' ');
  return `${f[3]} ${f[3] === 'soa' ? f[6] : f[4]}`;
};

async function dig(port: number, ...args: string[]): Promise<string> {
  const bin = requireTool('dig', 'dnsutils');
  return (await exec(bin, ['@127.0.0.1', '-p', String(port), '+norec', '+time=5', '+tries=1', ...args])).stdout;
}

/** The stack on a DNS port of its own, with `more` stored configuration; the DNS port. */
async function stack(more: Record<string, object> = {}): Promise<{ b10: Booted; authPort: number; zone: (...args: string[]) => ReturnType<typeof run> }> {
  const authPort = await freePort();
  const b10 = await boot(components, ['-p', String(authPort)], more);
  await b10.boss.waitForLog(byComponent('auth', 'auth listening'), 'auth listening');
  const zone = (...args: string[]) => run('src/cli/main.js', ['zone', ...args, '-d', b10.dir], { env: b10.env });
  return { b10, authPort, zone };
}

describe('IXFR out of b10', () => {
  it('named_secondary_by_ixfr: a one-record change reaches named by NOTIFY and IXFR; dig IXFR gets the difference, the whole zone, or the SOA', { timeout: 60_000 }, async () => {
    const dir = await tempDir();
    const namedPort = await freePort();
    const { b10, authPort, zone } = await stack({ Xfrout: { also_notify: [{ address: '127.0.0.1', port: namedPort }] } });
    const file = path.join(dir, 'out.zone');
    await writeFile(file, zoneText('out.test', 1));
    expect((await zone('load', 'out.test', file)).code).toBe(0);
    const named = await startNamed({
      port: namedPort,
      // Debug level 3: named says which transfer it asks and what it got.
      debug: 3,
      zones: [{ name: 'out.test', type: 'secondary', file: 'out.copy', statements: `primaries { 127.0.0.1 port ${authPort}; };` }],
      stopWith: onTestFinished,
    });
    const completed = (serial: number) => (l: { msg?: unknown }) => new RegExp(`out\\.test/IN.*Transfer completed: .*\\(serial ${serial}\\)`).test(String(l.msg));
    await named.proc.waitForLog(completed(1), 'named has serial 1');

    // One record changed, the serial up: named is told, asks IXFR, and takes the few records of the difference.
    const mark = named.proc.logs.length;
    await writeFile(file, zoneText('out.test', 2, '192.0.2.81'));
    expect((await zone('load', 'out.test', file)).code).toBe(0);
    const done = await named.proc.waitForLog(completed(2), 'named transferred serial 2', mark);
    const said = named.proc.logs.slice(mark).map((l) => String(l.msg));
    expect(said.some((m) => /transfer of 'out\.test\/IN' from .*: requesting IXFR for serial 1$/.test(m)), said.join('\n')).toBe(true);
    expect(said.some((m) => /transfer of 'out\.test\/IN' from .*: got incremental response$/.test(m)), said.join('\n')).toBe(true);
    expect(Number(/(\d+) records/.exec(String(done.msg))![1])).toBe(6);
    expect((await dig(namedPort, 'www.out.test', 'A', '+short')).trim()).toBe('192.0.2.81');
    const served = await b10.boss.waitForLog((l) => l.component === 'xfrout' && l.msg === 'transfer done' && l.transfer === 'IXFR', 'xfrout IXFR done');
    expect(served.records).toBe(4);

    // dig from the serial before: the difference alone, RFC 1995's order.
    const diff = records(await dig(authPort, 'out.test', 'IXFR=1'));
    expect(diff.map(brief)).toEqual([
      'soa 2',
      'soa 1',
      'a 192.0.2.80',
      'soa 2',
      'a 192.0.2.81',
      'soa 2',
    ]);
    // A serial the journal does not reach: the whole zone, AXFR-style.
    const whole = records(await dig(authPort, 'out.test', 'IXFR=0'));
    expect(whole.length).toBe(HOSTS + 4 + 1);
    expect(serialOf(whole[0]!)).toBe(2);
    // The current serial: the SOA alone; and over UDP, whatever the serial, the SOA alone (named's way).
    expect(records(await dig(authPort, 'out.test', 'IXFR=2')).map(serialOf)).toEqual([2]);
    expect(records(await dig(authPort, 'out.test', 'IXFR=1', '+notcp')).map(serialOf)).toEqual([2]);
    // As named answers them: a zone not served is NOTAUTH, an IXFR without the client's SOA FORMERR.
    const elsewhere = await udpExchange(authPort, query({ name: 'none.test', type: 251 }), 2000);
    expect(elsewhere && rcodeOf(elsewhere)).toBe(9);
    const noSoa = await udpExchange(authPort, query({ name: 'out.test', type: 251 }), 2000);
    expect(noSoa && rcodeOf(noSoa)).toBe(1);
  });

  it('journal_bounded: past max_journal_records the oldest changes go, and IXFR from one of them (or through changes larger than the zone) gets the whole zone', { timeout: 60_000 }, async () => {
    const dir = await tempDir();
    const { authPort, zone } = await stack();
    const file = path.join(dir, 'j.zone');
    for (let serial = 1; serial <= 4; serial++) {
      await writeFile(file, zoneText('j.test', serial, `192.0.2.${serial}`));
      // Each change is 4 records (two SOAs, the old www, the new): 10 keeps the two newest.
      expect((await zone('load', 'j.test', file, '--max-journal-records', '10')).code).toBe(0);
    }
    const listed = await zone('journal', 'j.test');
    expect(listed.code).toBe(0);
    expect(listed.stdout.trim().split('\n').map((l) => l.split('\t').slice(0, 2).join(' '))).toEqual(['2 -> 3 -2 +2', '3 -> 4 -2 +2']);
    expect(records(await dig(authPort, 'j.test', 'IXFR=2')).map(brief)).toEqual(['soa 4', 'soa 2', 'a 192.0.2.2', 'soa 3', 'a 192.0.2.3', 'soa 3', 'a 192.0.2.3', 'soa 4', 'a 192.0.2.4', 'soa 4']);
    const dropped = records(await dig(authPort, 'j.test', 'IXFR=1'));
    expect(dropped.length).toBe(HOSTS + 4 + 1);

    // A small zone whose changes since serial 1 hold more records than it does: the whole zone instead, as named does.
    const small = path.join(dir, 'small.zone');
    for (let serial = 1; serial <= 3; serial++) {
      await writeFile(small, `$ORIGIN small.test.\n$TTL 60\n@ SOA ns1 h ${serial} 1 1 1 1\n@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.${serial}\n`);
      expect((await zone('load', 'small.test', small)).code).toBe(0);
    }
    expect(records(await dig(authPort, 'small.test', 'IXFR=2')).length).toBe(6);
    expect(records(await dig(authPort, 'small.test', 'IXFR=1')).map(brief)).toEqual(['soa 3', 'ns ns1.small.test.', 'a 192.0.2.1', 'a 192.0.2.3', 'soa 3']);

    const unknown = await zone('journal', 'none.test');
    expect(unknown).toMatchObject({ code: 1 });
    expect(unknown.stderr).toContain('no zone none.test. in the store');
    const help = await zone('journal', '--help');
    expect(help.stdout).toContain('from serial -> to serial');
    const bad = await zone('load', 'j.test', file, '--max-journal-records', 'lots');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('a whole number of records');
  });
});

/** named as primary of in.test (ixfr-from-differences, NOTIFY to b10), b10 its secondary by Xfrin; after the first transfer. */
/** The key named and b10 share in the tests of b10 as secondary. */
const PULL_SECRET = randomBytes(32).toString('base64');

async function secondaryWorld(): Promise<{
  b10: Booted;
  named: Awaited<ReturnType<typeof startNamed>>;
  authPort: number;
  namedPort: number;
  dir: string;
  xfrinZone: (requestIxfr: string, port?: number) => string;
  transferred: (serial: number, since: number) => Promise<LogLine>;
  change: (serial: number, www: string, extra?: string) => Promise<number>;
  same: () => Promise<void>;
}> {
  const dir = await tempDir();
  const namedPort = await freePort();
  const authPort = await freePort();
  const file = path.join(dir, 'in.zone');
  await writeFile(file, zoneText('in.test', 1));
  // named transfers to the key only, and signs its NOTIFYs with it: every exchange is signed.
  const named = await startNamed({
    port: namedPort,
    options: 'notify-delay 0;',
    statements: `key "pull-key" { algorithm hmac-sha256; secret "${PULL_SECRET}"; };`,
    zones: [
      {
        name: 'in.test',
        file,
        statements: `ixfr-from-differences yes; allow-transfer { key "pull-key"; }; notify explicit; also-notify { 127.0.0.1 port ${authPort} key "pull-key"; };`,
      },
    ],
    stopWith: onTestFinished,
  });
  const xfrinZone = (requestIxfr: string, port = namedPort): string =>
    JSON.stringify([{ name: 'in.test', master_addr: '127.0.0.1', master_port: port, request_ixfr: requestIxfr, tsig_key: 'pull-key' }]);
  // Xfrin's zone is set once every component is on the bus: a first transfer before auth is there would be
  // stored but not served (auth read the store at its start, and missed the loadzone).
  const b10 = await boot(components, ['-p', String(authPort)], { tsig_keys: { keys: [`pull-key:${PULL_SECRET}:hmac-sha256`] } });
  expect((await b10.b10('config', 'set', 'Xfrin/zones', xfrinZone('yes'))).code).toBe(0);
  const transferred = (serial: number, since: number) =>
    b10.boss.waitForLog((l) => l.component === 'xfrin' && l.msg === 'zone transferred' && l.serial === serial, `serial ${serial} transferred`, since);
  const first = await transferred(1, 0);
  expect(first).toMatchObject({ transfer: 'AXFR', records: HOSTS + 4 });
  await b10.boss.waitForLog((l) => l.component === 'auth' && l.msg === 'zone loaded' && l.zone === 'in.test.', 'auth serves in.test');
  return {
    b10,
    named,
    authPort,
    namedPort,
    dir,
    xfrinZone,
    transferred,
    /** The zone file on named changed and reloaded (SIGHUP): named writes the difference to its journal and NOTIFYs b10. */
    change: async (serial, www, extra = '') => {
      const mark = b10.boss.logs.length;
      await writeFile(file, zoneText('in.test', serial, www, extra));
      named.proc.child.kill('SIGHUP');
      return mark;
    },
    same: async () => {
      const ours = records(await dig(authPort, 'in.test', 'AXFR')).sort();
      const theirs = records(await dig(namedPort, '-y', `hmac-sha256:pull-key:${PULL_SECRET}`, 'in.test', 'AXFR')).filter((r) => !r.includes(' tsig '));
      expect(ours).toEqual(theirs.sort());
    },
  };
}

/** A relay to named on a port of its own: UDP passed through, every TCP connection cut after `cutAfter` bytes of answer. */
async function cuttingRelay(namedPort: number, cutAfter: number): Promise<number> {
  const tcp = net.createServer((client) => {
    const upstream = net.connect({ port: namedPort, host: '127.0.0.1' });
    let passed = 0;
    upstream.on('data', (chunk: Buffer) => {
      client.write(chunk.subarray(0, Math.max(0, cutAfter - passed)));
      passed += chunk.length;
      if (passed >= cutAfter) {
        client.destroy();
        upstream.destroy();
      }
    });
    client.on('data', (chunk) => upstream.write(chunk));
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  const port = (tcp.address() as net.AddressInfo).port;
  const udp = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => udp.bind(port, '127.0.0.1', resolve));
  udp.on('message', (msg, from) => {
    const out = dgram.createSocket('udp4');
    out.on('message', (reply) => {
      udp.send(reply, from.port, from.address);
      out.close();
    });
    out.send(msg, namedPort, '127.0.0.1');
  });
  onTestFinished(() => {
    tcp.close();
    udp.close();
  });
  return port;
}

describe('IXFR into b10', () => {
  it('b10_secondary_by_ixfr: a change on named arrives by signed NOTIFY and IXFR (named allows the key only); request_ixfr "no" makes it AXFR; a difference that does not apply falls back to AXFR', { timeout: 90_000 }, async () => {
    const w = await secondaryWorld();
    const namedMark = w.named.proc.logs.length;
    let mark = await w.change(2, '192.0.2.82', 'new A 192.0.2.99\n');
    const ixfr = await w.transferred(2, mark);
    expect(ixfr).toMatchObject({ transfer: 'IXFR', changes: 1, records: 5 });
    const namedSaid = w.named.proc.logs.slice(namedMark).map((l) => String(l.msg));
    expect(namedSaid.some((m) => /in\.test\/IN.*IXFR started: TSIG pull-key/.test(m)), namedSaid.join('\n')).toBe(true);
    expect(w.b10.boss.logs.slice(mark).some((l) => l.component === 'auth' && l.msg === 'NOTIFY received: passed to Xfrin' && l.key === 'pull-key.')).toBe(true);
    // xfrin tells auth after it logs the transfer: auth says when it serves the new serial.
    await w.b10.boss.waitForLog((l) => l.component === 'auth' && l.msg === 'zone loaded' && l.serial === 2, 'auth serves serial 2', mark);
    expect((await dig(w.authPort, 'new.in.test', 'A', '+short')).trim()).toBe('192.0.2.99');
    await w.same();

    // request_ixfr "no": the next change comes by AXFR.
    expect((await w.b10.b10('config', 'set', 'Xfrin/zones', w.xfrinZone('no'))).code).toBe(0);
    mark = await w.change(3, '192.0.2.83');
    expect(await w.transferred(3, mark)).toMatchObject({ transfer: 'AXFR', records: HOSTS + 4 });
    await w.same();

    // b10's copy loses a record the next difference removes: the difference does not apply, AXFR sets it right.
    expect((await w.b10.b10('config', 'set', 'Xfrin/zones', w.xfrinZone('yes'))).code).toBe(0);
    const broken = path.join(w.dir, 'broken.zone');
    await writeFile(broken, zoneText('in.test', 3, '192.0.2.83').replace('www A 192.0.2.83\n', ''));
    expect((await run('src/cli/main.js', ['zone', 'load', 'in.test', broken, '-d', w.b10.dir], { env: w.b10.env })).code).toBe(0);
    mark = await w.change(4, '192.0.2.84');
    expect(await w.transferred(4, mark)).toMatchObject({ transfer: 'AXFR', records: HOSTS + 4 });
    const fellBack = w.b10.boss.logs.slice(mark).find(byComponent('xfrin', 'IXFR not done: asking AXFR'));
    expect(String(fellBack?.why)).toMatch(/cannot remove www\.in\.test\..*192\.0\.2\.83: not in the zone/);
    expect((await dig(w.authPort, 'www.in.test', 'A', '+short')).trim()).toBe('192.0.2.84');
    await w.same();
  });

  it('cut_ixfr_keeps_the_zone: an IXFR cut partway changes nothing (nor the AXFR after it); request_ixfr "only" asks no AXFR', { timeout: 60_000 }, async () => {
    const w = await secondaryWorld();
    const relay = await cuttingRelay(w.namedPort, 100);
    expect((await w.b10.b10('config', 'set', 'Xfrin/zones', w.xfrinZone('yes', relay))).code).toBe(0);
    await w.change(2, '192.0.2.82');
    const mark = w.b10.boss.logs.length;
    const refresh = await w.b10.b10('send', 'Xfrin', 'refresh', '{"zone_name":"in.test"}', '--wait', '10000');
    expect(refresh.code).toBe(1);
    expect(refresh.stderr).toMatch(/AXFR of in\.test\. from .*connection closed before the transfer ended/);
    const said = w.b10.boss.logs.slice(mark);
    expect(String(said.find(byComponent('xfrin', 'IXFR not done: asking AXFR'))?.why)).toMatch(/IXFR of in\.test\. .*connection closed before the transfer ended/);
    expect((await dig(w.authPort, 'in.test', 'SOA', '+short')).trim().split(' ')[2]).toBe('1');
    expect(records(await dig(w.authPort, 'in.test', 'AXFR')).length).toBe(HOSTS + 4 + 1);

    expect((await w.b10.b10('config', 'set', 'Xfrin/zones', w.xfrinZone('only', relay))).code).toBe(0);
    const only = await w.b10.b10('send', 'Xfrin', 'refresh', '{"zone_name":"in.test"}', '--wait', '10000');
    expect(only.code).toBe(1);
    expect(only.stderr).toMatch(/IXFR of in\.test\. .*request_ixfr is "only": no AXFR/);
    expect((await dig(w.authPort, 'in.test', 'SOA', '+short')).trim().split(' ')[2]).toBe('1');
  });
});
