import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { requireTool } from './helpers/debian.js';
import { nsupdate } from './helpers/ddns.js';
import { startNamed } from './helpers/named.js';
import { freePort, run } from './helpers/processes.js';
import { boot, byComponent } from './helpers/stack.js';
import { tempDir } from './helpers/tmp.js';

const exec = promisify(execFile);
const HOSTS = 2000;

function zoneText(): string {
  const lines = ['$ORIGIN dyn.test.', '$TTL 60', '@ SOA ns1 hostmaster 1 3600 900 604800 60', '@ NS ns1', 'ns1 A 192.0.2.1'];
  for (let i = 0; i < HOSTS; i++) lines.push(`host${i} A 10.1.${i >> 8}.${i & 255}`);
  return `${lines.join('\n')}\n`;
}

/** dig's records, comments dropped, spaces squeezed, each as its type and data (an SOA by its serial). */
async function digRecords(port: number, ...args: string[]): Promise<string[]> {
  const out = (await exec(requireTool('dig', 'dnsutils'), ['@127.0.0.1', '-p', String(port), '+norec', '+noall', '+answer', '+time=5', '+tries=1', ...args])).stdout;
  return out
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith(';'))
    .map((l) => l.split(/\s+/))
    .filter((f) => f[3] !== 'TSIG')
    .map((f) => `${f[0]} ${f[3]} ${f[3] === 'SOA' ? f[6] : f[4]}`);
}

describe('an update reaches the secondaries', () => {
  it('update_reaches_named_by_ixfr: nsupdate -y on b10, named as secondary with the key gets it by NOTIFY and IXFR, a few records, not the zone; dig IXFR=1 shows the difference only', { timeout: 60_000 }, async () => {
    const secret = randomBytes(32).toString('base64');
    const [authPort, namedPort] = await Promise.all([freePort(), freePort()]);
    const b10 = await boot(
      {
        xfrout: { process: 'b10-xfrout', kind: 'dispensable', address: 'Xfrout', priority: 20 },
        ddns: { process: 'b10-ddns', kind: 'dispensable', address: 'DDNS', priority: 15 },
        auth: { process: 'b10-auth', kind: 'needed', address: 'Auth', priority: 10 },
      },
      ['-p', String(authPort)],
      {
        tsig_keys: { keys: [`sec-key:${secret}:hmac-sha256`] },
        Xfrout: { transfer_acl: [{ action: 'ACCEPT', key: 'sec-key' }], also_notify: [{ address: '127.0.0.1', port: namedPort, tsig_key: 'sec-key' }] },
        DDNS: { zones: [{ origin: 'dyn.test', update_acl: [{ action: 'ACCEPT', key: 'sec-key' }] }] },
      },
    );
    await b10.boss.waitForLog(byComponent('ddns', 'TSIG keyring loaded'), 'ddns has the keyring');
    const file = path.join(await tempDir(), 'dyn.zone');
    await writeFile(file, zoneText());
    expect((await run('src/cli/main.js', ['zone', 'load', 'dyn.test', file, '-d', b10.dir], { env: b10.env })).code).toBe(0);

    const named = await startNamed({
      port: namedPort,
      debug: 3,
      statements: `key "sec-key" { algorithm hmac-sha256; secret "${secret}"; };`,
      zones: [{ name: 'dyn.test', type: 'secondary', file: 'dyn.copy', statements: `primaries { 127.0.0.1 port ${authPort} key "sec-key"; };` }],
      stopWith: onTestFinished,
    });
    const completed = (serial: number) => (l: { msg?: unknown }) => new RegExp(`dyn\\.test/IN.*Transfer completed: .*\\(serial ${serial}\\)`).test(String(l.msg));
    await named.proc.waitForLog(completed(1), 'named has serial 1');

    const mark = named.proc.logs.length;
    const update = await nsupdate(authPort, ['zone dyn.test.', 'update delete host7.dyn.test. A', 'update add new.dyn.test. 60 A 192.0.2.99'], ['-y', `hmac-sha256:sec-key:${secret}`]);
    expect(update).toMatchObject({ code: 0 });
    const done = await named.proc.waitForLog(completed(2), 'named transferred serial 2', mark);
    const said = named.proc.logs.slice(mark).map((l) => String(l.msg));
    expect(said.some((m) => /transfer of 'dyn\.test\/IN' from .*: got incremental response$/.test(m)), said.join('\n')).toBe(true);
    expect(said.some((m) => /TSIG 'sec-key'/.test(m)), said.join('\n')).toBe(true);
    // Old SOA, the record removed, new SOA, the record added, and the SOA before and after: 6, of a zone of 2,003.
    expect(Number(/(\d+) records/.exec(String(done.msg))![1])).toBe(6);
    expect(await digRecords(namedPort, 'new.dyn.test', 'A')).toEqual(['new.dyn.test. A 192.0.2.99']);

    expect(await digRecords(authPort, '-y', `hmac-sha256:sec-key:${secret}`, 'dyn.test', 'IXFR=1')).toEqual([
      'dyn.test. SOA 2',
      'dyn.test. SOA 1',
      'host7.dyn.test. A 10.1.0.7',
      'dyn.test. SOA 2',
      'new.dyn.test. A 192.0.2.99',
      'dyn.test. SOA 2',
    ]);
    const journal = await run('src/cli/main.js', ['zone', 'journal', 'dyn.test', '--json', '-d', b10.dir], { env: b10.env });
    expect(JSON.parse(journal.stdout)).toMatchObject([{ from: 1, to: 2, removed: 2, added: 2 }]);
  });
});
