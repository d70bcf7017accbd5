import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { requireTool } from './helpers/debian.js';
import { ROOT, run } from './helpers/processes.js';
import { boot, byComponent, type Booted } from './helpers/stack.js';
import { tempDir } from './helpers/tmp.js';

const exec = promisify(execFile);
const ZONE = path.join(ROOT, 'test/fixtures/zones/auth.zone');
const components = {
  xfrout: { process: 'b10-xfrout', kind: 'dispensable', address: 'Xfrout', priority: 20 },
  auth: { process: 'b10-auth', kind: 'needed', address: 'Auth', priority: 10 },
};

/** The stack with xfrout and auth (on a free DNS port), `zone` loaded from `file`; the DNS port. */
async function stackWith(zone: string, file: string): Promise<{ stack: Booted; port: number }> {
  const stack = await boot(components, ['-p', '0']);
  const listening = await stack.boss.waitForLog(byComponent('auth', 'auth listening'), 'auth listening');
  const loaded = await run('src/cli/main.js', ['zone', 'load', zone, file, '-d', stack.dir], { env: { B10_MSGQ_PORT: String(stack.port) } });
  expect(loaded.code).toBe(0);
  return { stack, port: (listening.endpoints as { port: number }[])[0]!.port };
}

async function axfr(port: number, zone: string, from = '127.0.0.1'): Promise<{ records: string[]; raw: string }> {
  const dig = requireTool('dig', 'dnsutils');
  const { stdout } = await exec(dig, ['@127.0.0.1', '-p', String(port), '-b', from, zone, 'AXFR', '+time=5', '+tries=1']);
  const records = stdout.split('\n').filter((l) => l !== '' && !l.startsWith(';')).map((l) => l.replace(/\s+/g, ' '));
  return { records, raw: stdout };
}

describe('b10-xfrout serves AXFR on the DNS port', () => {
  it('axfr_from_loopback: the whole zone, SOA first and last, as b10 zone show has it', async () => {
    const { stack, port } = await stackWith('auth.test', ZONE);
    const { records } = await axfr(port, 'auth.test');
    const shown = (await run('src/cli/main.js', ['zone', 'show', 'auth.test', '-d', stack.dir])).stdout.trim().split('\n').map((l) => l.replace(/\s+/g, ' '));
    expect(records[0]).toMatch(/^auth\.test\. 300 IN SOA /);
    expect(records.at(-1)).toBe(records[0]);
    expect(records.slice(0, -1).sort()).toEqual(shown.sort());
  });

  it('acl_refuses_others: 127.0.0.2 is refused by default, accepted once the ACL says so', async () => {
    const { stack, port } = await stackWith('auth.test', ZONE);
    const refused = await axfr(port, 'auth.test', '127.0.0.2');
    expect(refused.raw).toContain('Transfer failed');
    expect(refused.records).toEqual([]);
    const set = await stack.b10('config', 'set', 'Xfrout/transfer_acl', '[{"action":"ACCEPT","from":"127.0.0.0/8"}]');
    expect(set.code).toBe(0);
    expect((await axfr(port, 'auth.test', '127.0.0.2')).records.length).toBeGreaterThan(50);
    const bad = await stack.b10('config', 'set', 'Xfrout/transfer_acl', '[{"action":"MAYBE","from":"10.0.0.0/8"}]');
    expect(bad).toMatchObject({ code: 1 });
    expect(bad.stderr).toContain('action must be ACCEPT or REJECT');
  });

  it('large_zone: streamed in many messages, every record there', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'big.zone');
    const lines = ['$TTL 60', '@ SOA ns h 1 2 3 4 5', '@ NS ns', 'ns A 192.0.2.1'];
    for (let i = 0; i < 5000; i++) lines.push(`h${i} A 10.${i >> 8}.${i & 255}.1`);
    await writeFile(file, `${lines.join('\n')}\n`);
    const { port } = await stackWith('big.test', file);
    const { records, raw } = await axfr(port, 'big.test');
    expect(records.length).toBe(5004);
    const messages = Number(/messages (\d+)/.exec(raw)?.[1]);
    // About 100 KB of records in messages of about 16 KiB (MESSAGE_BYTES): several, not one.
    expect(messages).toBeGreaterThan(4);
  });

  it('prepared_stale: a zone loaded again, at the same serial, is sent as now stored, not as kept from the transfer before', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'kept.zone');
    const zone = (host: string): string => ['$TTL 60', '@ SOA ns h 1 2 3 4 5', '@ NS ns', 'ns A 192.0.2.1', `${host} A 192.0.2.2`, ''].join('\n');
    await writeFile(file, zone('old'));
    const { stack, port } = await stackWith('kept.test', file);
    const first = await axfr(port, 'kept.test');
    expect(first.records).toContain('old.kept.test. 60 IN A 192.0.2.2');
    // Sent again unchanged: the messages kept from the first transfer, the same records.
    expect((await axfr(port, 'kept.test')).records).toEqual(first.records);
    await writeFile(file, zone('new'));
    const loaded = await run('src/cli/main.js', ['zone', 'load', 'kept.test', file, '-d', stack.dir], { env: { B10_MSGQ_PORT: String(stack.port) } });
    expect(loaded.code).toBe(0);
    const after = await axfr(port, 'kept.test');
    expect(after.records).toContain('new.kept.test. 60 IN A 192.0.2.2');
    expect(after.records).not.toContain('old.kept.test. 60 IN A 192.0.2.2');
  });
});
