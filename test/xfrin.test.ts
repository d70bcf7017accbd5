import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { requireTool } from './helpers/debian.js';
import { startNamed, type Named } from './helpers/named.js';
import { freePort, ROOT, run } from './helpers/processes.js';
import { boot, byComponent, type Booted } from './helpers/stack.js';
import { tempDir } from './helpers/tmp.js';

const exec = promisify(execFile);
const AUTH_ZONE = path.join(ROOT, 'test/fixtures/zones/auth.zone');
const components = {
  xfrout: { process: 'b10-xfrout', kind: 'dispensable', address: 'Xfrout', priority: 20 },
  auth: { process: 'b10-auth', kind: 'needed', address: 'Auth', priority: 10 },
  xfrin: { process: 'b10-xfrin', kind: 'dispensable', address: 'Xfrin', priority: 5 },
};

function secZone(serial: number, extra = ''): string {
  const lines = ['$TTL 60', `@ SOA ns1 hostmaster ${serial} 3600 900 604800 60`, '@ NS ns1', 'ns1 A 192.0.2.1', 'www A 192.0.2.80'];
  for (let i = 0; i < 300; i++) lines.push(`host${i} A 10.1.${i >> 8}.${i & 255}`);
  return `${lines.join('\n')}\n${extra}`;
}

interface World {
  stack: Booted;
  named: Named;
  dir: string;
  authPort: number;
  namedPort: number;
  dig(port: number, ...args: string[]): Promise<string>;
  b10(...args: string[]): ReturnType<typeof run>;
}

/** b10 (xfrout, auth, xfrin; secondary for sec.test, primary for auth.test) and BIND 9 (primary for sec.test, secondary for auth.test). */
async function world(): Promise<World> {
  const digBin = requireTool('dig', 'dnsutils');
  const dir = await tempDir();
  const authPort = await freePort();
  const namedPort = await freePort();
  const stack = await boot(components, ['-p', String(authPort)], {
    Xfrin: { zones: [{ name: 'sec.test', master_addr: '127.0.0.1', master_port: namedPort }] },
    Xfrout: { also_notify: [{ address: '127.0.0.1', port: namedPort }] },
  });
  const b10 = (...args: string[]) => run('src/cli/main.js', args, { env: stack.env });
  expect((await b10('zone', 'load', 'auth.test', AUTH_ZONE, '-d', stack.dir)).code).toBe(0);
  await writeFile(path.join(dir, 'sec.zone'), secZone(1));
  const named = await startNamed({
    port: namedPort,
    options: 'notify-delay 0;',
    zones: [
      { name: 'sec.test', file: path.join(dir, 'sec.zone'), statements: `notify explicit; also-notify { 127.0.0.1 port ${authPort}; };` },
      { name: 'auth.test', type: 'secondary', file: 'auth.test.copy', statements: `primaries { 127.0.0.1 port ${authPort}; };` },
    ],
    stopWith: onTestFinished,
  });
  const dig = async (port: number, ...args: string[]): Promise<string> =>
    (await exec(digBin, ['@127.0.0.1', '-p', String(port), '+norec', '+time=3', '+tries=1', ...args])).stdout;
  return { stack, named, dir, authPort, namedPort, dig, b10 };
}

const serialOf = (digOutput: string): number => Number(digOutput.trim().split(/\s+/)[2]);
const records = (axfr: string): string[] =>
  axfr.split('\n').filter((l) => l !== '' && !l.startsWith(';')).map((l) => l.replace(/\s+/g, ' ').toLowerCase()).sort();

describe('zone transfers with BIND 9', () => {
  it('secondary_of_named: retransfer, then NOTIFY after an edit, then a cut transfer that changes nothing', { timeout: 60_000 }, async () => {
    const w = await world();
    const pulled = await w.b10('send', 'Xfrin', 'retransfer', '{"zone_name":"sec.test"}');
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(JSON.parse(pulled.stdout)).toMatchObject({ zone: 'sec.test.', serial: 1, records: 304 });
    expect(serialOf(await w.dig(w.authPort, 'sec.test', 'SOA', '+short'))).toBe(1);

    // An edit on the primary, announced by NOTIFY to auth, passed to xfrin.
    const mark = w.stack.boss.logs.length;
    await writeFile(path.join(w.dir, 'sec.zone'), secZone(2, 'new A 192.0.2.99\n'));
    w.named.proc.child.kill('SIGHUP');
    await w.stack.boss.waitForLog((l) => l.component === 'xfrin' && l.msg === 'zone transferred' && l.serial === 2, 'serial 2 transferred', mark);
    expect((await w.dig(w.authPort, 'new.sec.test', 'A', '+short')).trim()).toBe('192.0.2.99');
    expect(w.stack.boss.logs.slice(mark).some(byComponent('auth', 'NOTIFY received: passed to Xfrin'))).toBe(true);

    // A proxy that cuts the stream partway: the transfer fails, the zone served stays serial 2.
    const proxy = net.createServer((client) => {
      const upstream = net.connect({ port: w.namedPort, host: '127.0.0.1' });
      let passed = 0;
      upstream.on('data', (chunk: Buffer) => {
        passed += chunk.length;
        if (passed > 600) {
          client.write(chunk.subarray(0, 100));
          client.destroy();
          upstream.destroy();
        } else client.write(chunk);
      });
      client.on('data', (chunk) => upstream.write(chunk));
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => void proxy.close());
    const proxyPort = (proxy.address() as net.AddressInfo).port;
    // A master of one's own is for a zone with none configured.
    expect((await w.b10('config', 'set', 'Xfrin/zones', '[{"name": "sec.test"}]')).code).toBe(0);
    const cut = await w.b10('send', 'Xfrin', 'retransfer', JSON.stringify({ zone_name: 'sec.test', master: '127.0.0.1', port: proxyPort }));
    expect(cut.code).toBe(1);
    expect(cut.stderr).toMatch(/connection closed before the transfer ended/);
    expect(serialOf(await w.dig(w.authPort, 'sec.test', 'SOA', '+short'))).toBe(2);
    expect(w.stack.boss.logs.some((l) => l.component === 'xfrin' && l.msg === 'transfer failed: the stored zone stays served')).toBe(true);
  });

  it('named_as_secondary: BIND 9 transfers a zone from b10\'s xfrout, the copies are the same, and a change reaches it by NOTIFY', { timeout: 60_000 }, async () => {
    const w = await world();
    await w.named.proc.waitForLog((l) => /transfer of 'auth\.test\/IN' from 127\.0\.0\.1#\d+: Transfer completed/.test(String(l.msg)), 'named transferred auth.test');
    const theirs = records(await w.dig(w.namedPort, 'auth.test', 'AXFR'));
    const ours = records(await w.dig(w.authPort, 'auth.test', 'AXFR'));
    expect(ours.length).toBeGreaterThan(50);
    expect(theirs).toEqual(ours);

    // A change loaded into b10: xfrout NOTIFYs named, which transfers the new serial.
    const mark = w.named.proc.logs.length;
    const changed = path.join(w.dir, 'auth.changed');
    await writeFile(changed, (await readFile(AUTH_ZONE, 'utf8')).replace('hostmaster 7 ', 'hostmaster 8 ').replace('www A 192.0.2.10', 'www A 192.0.2.12'));
    expect((await w.b10('zone', 'load', 'auth.test', changed, '-d', w.stack.dir)).code).toBe(0);
    await w.named.proc.waitForLog((l) => /zone auth\.test\/IN: transferred serial 8/.test(String(l.msg)), 'named transferred serial 8', mark);
    expect((await w.dig(w.namedPort, 'www.auth.test', 'A', '+short')).trim()).toBe('192.0.2.12');
    expect(w.stack.boss.logs.some((l) => l.component === 'xfrout' && l.msg === 'NOTIFY acknowledged')).toBe(true);
  });

  it('msgq_restart: xfrin and xfrout carry on after msgq is killed and replaced', { timeout: 60_000 }, async () => {
    const w = await world();
    const mark = w.stack.boss.logs.length;
    process.kill(w.stack.pidsOf('msgq')[0]!, 'SIGKILL');
    await w.stack.boss.waitForLog((l) => l.msg === 'msgq restarted', 'msgq restarted', mark);
    const refreshed = await w.b10('send', 'Xfrin', 'refresh', '{"zone_name":"sec.test"}', '--wait', '5000');
    expect(refreshed.code, refreshed.stderr).toBe(0);
    expect(JSON.parse(refreshed.stdout)).toMatchObject({ zone: 'sec.test.', serial: 1 });
    expect(records(await w.dig(w.authPort, 'auth.test', 'AXFR')).length).toBeGreaterThan(50);
    expect(w.stack.pidsOf('xfrin').length).toBe(1);
    expect(w.stack.pidsOf('xfrout').length).toBe(1);
  });
});
