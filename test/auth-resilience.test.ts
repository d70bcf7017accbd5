import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { query, rcodeOf, udpExchange } from './helpers/dns.js';
import { ROOT, run } from './helpers/processes.js';
import { boot, byComponent, type Booted } from './helpers/stack.js';
import { tempDir } from './helpers/tmp.js';

const ZONE = path.join(ROOT, 'test/fixtures/zones/auth.zone');
const auth = { auth: { process: 'b10-auth', kind: 'needed', address: 'Auth' } };

/** The stack with auth on a free port, serving auth.test; resolves with that port. */
async function withZone(stack: Booted): Promise<number> {
  const listening = await stack.boss.waitForLog(byComponent('auth', 'auth listening'), 'auth listening');
  const loaded = await run('src/cli/main.js', ['zone', 'load', 'auth.test', ZONE, '-d', stack.dir], { env: { B10_MSGQ_PORT: String(stack.port) } });
  expect(loaded.stderr).toBe('b10: auth serves auth.test. as loaded');
  return (listening.endpoints as { port: number }[])[0]!.port;
}

/** www.auth.test A, answered: its address (the response ends with the A record's data). */
async function www(port: number, id: number): Promise<string | undefined> {
  const msg = await udpExchange(port, query({ id, name: 'www.auth.test' }), 1000);
  if (!msg || rcodeOf(msg) !== 0 || msg.readUInt16BE(0) !== id) return undefined;
  return [...msg.subarray(-4)].join('.');
}

async function answered(port: number, count: number): Promise<number> {
  let ok = 0;
  for (let i = 0; i < count; i++) if ((await www(port, i)) === '192.0.2.10') ok++;
  return ok;
}

describe('the data plane never waits on the control plane', () => {
  it('control_plane_down: DNS is answered while the config manager is down and while msgq is killed', { timeout: 60_000 }, async () => {
    const stack = await boot(auth, ['-p', '0', '--restart-period', '60000']);
    const port = await withZone(stack);
    const cfgmgr = stack.pidsOf('cfgmgr')[0]!;
    process.kill(cfgmgr, 'SIGKILL');
    await stack.boss.waitForLog(byComponent('cfgmgr', 'restart scheduled'), 'cfgmgr down for a minute');
    expect(await answered(port, 200)).toBe(200);
    // From the moment msgq dies, through its restart.
    process.kill(stack.pidsOf('msgq')[0]!, 'SIGKILL');
    expect(await answered(port, 500)).toBe(500);
    expect(stack.pidsOf('auth').length).toBe(1);
  });

  it('reload_under_queries: every query answered, from the old zone or the new, while the zone is reloaded', { timeout: 60_000 }, async () => {
    const stack = await boot(auth, ['-p', '0']);
    const port = await withZone(stack);
    const dir = await tempDir();
    const changed = path.join(dir, 'auth.zone');
    await writeFile(changed, (await readFile(ZONE, 'utf8')).replace('hostmaster 7 ', 'hostmaster 8 ').replace('www A 192.0.2.10', 'www A 192.0.2.11'));
    let loading = true;
    const seen = new Map<string | undefined, number>();
    const queries = (async () => {
      for (let i = 0; loading || i < 100; i++) {
        const got = await www(port, i & 0xffff);
        seen.set(got, (seen.get(got) ?? 0) + 1);
      }
    })();
    for (let round = 0; round < 6; round++) {
      const r = await run('src/cli/main.js', ['zone', 'load', 'auth.test', round % 2 === 0 ? changed : ZONE, '-d', stack.dir], {
        env: { B10_MSGQ_PORT: String(stack.port) },
      });
      expect(r.code).toBe(0);
    }
    loading = false;
    await queries;
    expect(seen.get(undefined)).toBeUndefined();
    expect([...seen.keys()].sort()).toEqual(['192.0.2.10', '192.0.2.11']);
  });
});
