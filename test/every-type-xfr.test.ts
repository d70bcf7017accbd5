import { execFile, spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { parseMasterFile } from '../src/dns/master-file.js';
import { ZoneStore } from '../src/dns/zone-store.js';
import { requireTool } from './helpers/debian.js';
import { freePort, Proc, ROOT, run } from './helpers/processes.js';
import { boot } from './helpers/stack.js';
import { tempDir } from './helpers/tmp.js';

const exec = promisify(execFile);
const EVERY = path.join(ROOT, 'test/fixtures/zones/every-type.zone');
const ZONE = 'every.test';
const components = {
  xfrout: { process: 'b10-xfrout', kind: 'dispensable', address: 'Xfrout', priority: 20 },
  auth: { process: 'b10-auth', kind: 'needed', address: 'Auth', priority: 10 },
  xfrin: { process: 'b10-xfrin', kind: 'dispensable', address: 'Xfrin', priority: 5 },
};

/** named -n 1 with `zones` (named.conf zone statements) in a directory of its own; stopped when the test ends. */
async function named(dir: string, port: number, zones: string): Promise<Proc> {
  const named9 = requireTool('named', 'bind9');
  await writeFile(
    path.join(dir, 'named.conf'),
    `options { directory "${dir}"; listen-on port ${port} { 127.0.0.1; }; listen-on-v6 { none; }; recursion no;
  pid-file "${dir}/named.pid"; notify no; };
${zones}
`,
  );
  const proc = new Proc(spawn(named9, ['-g', '-n', '1', '-c', path.join(dir, 'named.conf'), '-u', 'root'], { stdio: ['ignore', 'pipe', 'pipe'] }));
  onTestFinished(() => proc.stop());
  await proc.waitForLog((l) => String(l.msg).trimEnd().endsWith(' running'), 'named running');
  return proc;
}

/** A zone by AXFR as dig prints it: one line per record, blanks folded, sorted (dig prints types as named does). */
async function axfr(port: number): Promise<string[]> {
  const dig = requireTool('dig', 'dnsutils');
  const { stdout } = await exec(dig, ['@127.0.0.1', '-p', String(port), '+norec', '+time=5', '+tries=1', '+nomultiline', ZONE, 'AXFR']);
  const lines = stdout.split('\n').filter((l) => l !== '' && !l.startsWith(';'));
  // The SOA comes first and last: once is enough to compare.
  return [...new Set(lines.map((l) => l.replace(/\s+/g, ' ')))].sort();
}

describe('a zone with every type through b10, to and from BIND 9', () => {
  it('named_to_b10_to_named: every record arrives byte for byte, and the three AXFRs are the same', { timeout: 60_000 }, async () => {
    const primaryDir = await tempDir();
    const secondaryDir = await tempDir();
    const primaryPort = await freePort();
    const secondaryPort = await freePort();
    const authPort = await freePort();
    // Without RKEY: BIND 9.18's dig cannot read the RKEY records named itself sends ("bad label type").
    const file = path.join(primaryDir, 'every.zone');
    await writeFile(file, (await readFile(EVERY, 'utf8')).replace(/^.*\bRKEY\b.*$/m, ''));
    await named(primaryDir, primaryPort, `zone "${ZONE}" { type primary; file "every.zone"; };`);

    // named -> b10: xfrin pulls the zone; what it stored is, byte for byte, what b10 makes of the file itself.
    const stack = await boot(components, ['-p', String(authPort)], { Xfrin: { zones: [{ name: ZONE, master_addr: '127.0.0.1', master_port: primaryPort }] } });
    const pulled = await run('src/cli/main.js', ['send', 'Xfrin', 'retransfer', JSON.stringify({ zone_name: ZONE })], { env: stack.env });
    expect(pulled.code, pulled.stderr).toBe(0);
    const fromFile = parseMasterFile(file, ZONE);
    const store = ZoneStore.open(stack.dir, { readonly: true });
    const stored = store.records(`${ZONE}.`)!;
    store.close();
    const key = (r: { name: string; type: number; ttl: number; rdata: Buffer }): string => `${r.name} ${r.type} ${r.ttl} ${r.rdata.toString('hex')}`;
    expect(stored.map(key).sort()).toEqual(fromFile.map(key).sort());

    // b10 -> named: a secondary of b10's xfrout.
    const secondary = await named(secondaryDir, secondaryPort, `zone "${ZONE}" { type secondary; primaries { 127.0.0.1 port ${authPort}; }; file "every.copy"; };`);
    await secondary.waitForLog((l) => /transfer of 'every\.test\/IN' from 127\.0\.0\.1#\d+: Transfer completed/.test(String(l.msg)), 'named transferred every.test from b10');

    const original = await axfr(primaryPort);
    expect(original.length).toBeGreaterThan(fromFile.length - 5);
    expect(await axfr(authPort)).toEqual(original);
    expect(await axfr(secondaryPort)).toEqual(original);
  });
});
