import { execFile } from 'node:child_process';
import { copyFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ZoneStore } from '../src/dns/zone-store.js';
import { requireTool } from './helpers/debian.js';
import { startNamed } from './helpers/named.js';
import { freePort, run } from './helpers/processes.js';
import { boot, byComponent, type Booted } from './helpers/stack.js';
import { tempDir } from './helpers/tmp.js';

const exec = promisify(execFile);
const ZONE = 'signed.test';
const primaryComponents = {
  xfrout: { process: 'b10-xfrout', kind: 'dispensable', address: 'Xfrout', priority: 20 },
  auth: { process: 'b10-auth', kind: 'needed', address: 'Auth', priority: 10 },
};
const secondaryComponents = {
  auth: { process: 'b10-auth', kind: 'needed', address: 'Auth', priority: 10 },
  xfrin: { process: 'b10-xfrin', kind: 'dispensable', address: 'Xfrin', priority: 5 },
};

/** A zone file of `hosts` A records besides its SOA, NS and the NS's address. */
async function zoneFile(hosts: number, serial = 1): Promise<string> {
  const file = path.join(await tempDir(), 'zone.db');
  const lines = ['$TTL 60', `@ SOA ns admin ${serial} 3600 900 604800 300`, '@ NS ns', 'ns A 192.0.2.1'];
  for (let i = 0; i < hosts; i++) lines.push(`h${i} A 10.${i >> 8}.${i & 255}.1`);
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

/** dig at 127.0.0.1:`port`, its whole output (it exits non-zero on a failed transfer: the output still tells). */
async function dig(port: number, ...args: string[]): Promise<string> {
  const digBin = requireTool('dig', 'bind9-dnsutils');
  const { stdout, stderr } = await exec(digBin, ['@127.0.0.1', '-p', String(port), '+time=5', '+tries=1', ...args]).catch(
    (err: { stdout: string; stderr: string }) => err,
  );
  return `${stdout}${stderr}`;
}

/** b10 as a primary: xfrout and auth on a free DNS port, `file` loaded as ZONE; its DNS port. */
async function b10Primary(file: string, more: Record<string, object> = {}): Promise<{ stack: Booted; port: number }> {
  const stack = await boot(primaryComponents, ['-p', '0'], more);
  const listening = await stack.boss.waitForLog(byComponent('auth', 'auth listening'), 'auth listening');
  const loaded = await run('src/cli/main.js', ['zone', 'load', ZONE, file, '-d', stack.dir], { env: stack.env });
  expect(loaded.code, loaded.stderr).toBe(0);
  return { stack, port: (listening.endpoints as { port: number }[])[0]!.port };
}

const secretOf = (clause: string): string => /secret "([^"]+)"/.exec(clause)![1]!;

describe('TSIG: b10 as primary of named', () => {
  it('a key from b10 tsig add lets named transfer and takes signed NOTIFYs; without it the transfer is refused, a wrong secret gets BADSIG', { timeout: 60_000 }, async () => {
    const { stack, port } = await b10Primary(await zoneFile(20));
    const added = await stack.b10('tsig', 'add', 'xfr-key');
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/^key "xfr-key" \{\n\talgorithm hmac-sha256;\n\tsecret "[A-Za-z0-9+/=]{44}";\n\};\n$/);
    const acl = await stack.b10('config', 'set', 'Xfrout/transfer_acl', '[{"action":"ACCEPT","key":"xfr-key"}]');
    expect(acl.code, acl.stderr).toBe(0);
    const secret = secretOf(added.stdout);

    // Unsigned, from an address the default ACL accepted: refused now the ACL asks for the key.
    expect(await dig(port, ZONE, 'AXFR')).toContain('Transfer failed');

    // named, given the clause b10 printed, transfers with it.
    const named = await startNamed({
      zones: [{ name: ZONE, type: 'secondary', file: 'signed.copy', statements: `primaries { 127.0.0.1 port ${port} key "xfr-key"; }; allow-transfer { 127.0.0.1; };` }],
      statements: added.stdout,
      stopWith: onTestFinished,
    });
    await named.proc.waitForLog((l) => /transfer of 'signed\.test\/IN' from 127\.0\.0\.1#\d+: Transfer completed/.test(String(l.msg)), 'named transferred the zone');
    const copied = await dig(named.port, ZONE, 'AXFR');
    expect(copied).toMatch(/XFR size: 24 records/);

    // A signed query to auth is answered signed, and dig verifies it.
    const soa = await dig(port, '-y', `hmac-sha256:xfr-key:${secret}`, ZONE, 'SOA');
    expect(soa).toMatch(/status: NOERROR/);
    expect(soa).toMatch(/xfr-key\.\s+0\s+ANY\s+TSIG\s+hmac-sha256\. /);
    expect(soa).not.toMatch(/Couldn't verify|failed/i);

    // A wrong secret: NOTAUTH with BADSIG, for a query and for a transfer, and auth says why (but not the secret).
    const wrong = `hmac-sha256:xfr-key:${Buffer.from('not the secret').toString('base64')}`;
    const badQuery = await dig(port, '-y', wrong, ZONE, 'SOA');
    expect(badQuery).toMatch(/status: NOTAUTH/);
    expect(badQuery).toMatch(/BADSIG/);
    const refused = await stack.boss.waitForLog((l) => l.component === 'auth' && l.msg === 'signed message refused', 'auth logs the BADSIG');
    expect(refused).toMatchObject({ key: 'xfr-key.', tsigError: 'BADSIG' });
    expect(JSON.stringify(stack.boss.logs)).not.toContain(secret);
    expect(await dig(port, '-y', wrong, ZONE, 'AXFR')).not.toMatch(/XFR size/);
    // An unknown key: BADKEY.
    expect(await dig(port, '-y', `hmac-sha256:nokey:${secret}`, ZONE, 'SOA')).toMatch(/BADKEY/);

    // A new serial: xfrout's NOTIFY is signed with the also_notify entry's key, named takes it and transfers again.
    const notify = await stack.b10('config', 'set', 'Xfrout/also_notify', JSON.stringify([{ address: '127.0.0.1', port: named.port, tsig_key: 'xfr-key' }]));
    expect(notify.code, notify.stderr).toBe(0);
    const reloaded = await run('src/cli/main.js', ['zone', 'load', ZONE, await zoneFile(21, 2), '-d', stack.dir], { env: stack.env });
    expect(reloaded.code, reloaded.stderr).toBe(0);
    await named.proc.waitForLog((l) => /received notify for zone 'signed\.test'.*TSIG 'xfr-key'/.test(String(l.msg)), 'named took the signed NOTIFY');
    await stack.boss.waitForLog(byComponent('xfrout', 'NOTIFY acknowledged'), 'xfrout verified named\'s signed answer');
    await named.proc.waitForLog((l) => /transfer of 'signed\.test\/IN' from 127\.0\.0\.1#\d+: Transfer completed: .*\(serial 2\)/.test(String(l.msg)), 'named transferred serial 2');
  });

  it('dig -y verifies every message of a signed 5,000-record AXFR', { timeout: 60_000 }, async () => {
    const secret = Buffer.alloc(32, 7).toString('base64');
    const { port } = await b10Primary(await zoneFile(5000), { tsig_keys: { keys: [`big-key:${secret}:hmac-sha256`] } });
    const out = await dig(port, '-y', `hmac-sha256:big-key:${secret}`, ZONE, 'AXFR');
    const messages = Number(/messages (\d+)/.exec(out)?.[1]);
    expect(out).toMatch(/XFR size: 5004 records/);
    // About 100 KB of records in messages of about 16 KiB (MESSAGE_BYTES): several, not one.
    expect(messages).toBeGreaterThan(4);
    expect(out).not.toMatch(/Couldn't verify|failed/i);
  });
});

describe('TSIG: b10 as secondary of named', () => {
  it('xfrin transfers with the key named asks for and auth takes its signed NOTIFY; with a wrong secret the transfer fails and the old zone stays', { timeout: 60_000 }, async () => {
    const keygen = requireTool('tsig-keygen', 'bind9');
    const clause = (await exec(keygen, ['-a', 'hmac-sha512', 'pull-key'])).stdout;
    const secret = secretOf(clause);
    const dir = await tempDir();
    // Large enough that named sends the transfer in several messages, each of which xfrin verifies.
    await copyFile(await zoneFile(8000), path.join(dir, 'signed.db'));
    const namedPort = await freePort();
    const authPort = await freePort();
    const stack = await boot(secondaryComponents, ['-p', String(authPort)], {
      tsig_keys: { keys: [`pull-key:${secret}:hmac-sha512`] },
      Xfrin: { zones: [{ name: ZONE, master_addr: '127.0.0.1', master_port: namedPort, tsig_key: 'pull-key' }] },
    });
    await stack.boss.waitForLog((l) => l.component === 'auth' && l.msg === 'TSIG keyring loaded', 'auth read the keyring');
    // named NOTIFYs b10 when it loads the zone, signed: auth verifies it and passes it on.
    const named = await startNamed({
      port: namedPort,
      zones: [{ name: ZONE, file: path.join(dir, 'signed.db'), statements: `allow-transfer { key "pull-key"; }; notify explicit; also-notify { 127.0.0.1 port ${authPort} key "pull-key"; };` }],
      statements: clause,
      stopWith: onTestFinished,
    });
    const notified = await stack.boss.waitForLog(byComponent('auth', 'NOTIFY received: passed to Xfrin'), 'auth took named\'s signed NOTIFY');
    expect(notified).toMatchObject({ zone: `${ZONE}.`, key: 'pull-key.' });
    const pulled = await stack.b10('send', 'Xfrin', 'retransfer', JSON.stringify({ zone_name: ZONE }));
    expect(pulled.code, pulled.stderr).toBe(0);
    const stored = (): number => {
      const store = ZoneStore.open(stack.dir, { readonly: true });
      try {
        return store.records(`${ZONE}.`)?.length ?? 0;
      } finally {
        store.close();
      }
    };
    expect(stored()).toBe(8003);
    const sent = await named.proc.waitForLog((l) => /transfer of 'signed\.test\/IN': AXFR ended: \d+ messages/.test(String(l.msg)), 'named logs the AXFR');
    expect(Number(/AXFR ended: (\d+) messages/.exec(String(sent.msg))![1])).toBeGreaterThan(1);

    // The same key name with another secret: named answers BADSIG, xfrin refuses and keeps what it has.
    const other = Buffer.alloc(64, 1).toString('base64');
    const mark = stack.boss.logs.length;
    const changed = await stack.b10('config', 'set', 'tsig_keys/keys', JSON.stringify([`pull-key:${other}:hmac-sha512`]));
    expect(changed.code, changed.stderr).toBe(0);
    await stack.boss.waitForLog((l) => l.component === 'xfrin' && l.msg === 'TSIG keyring loaded', 'xfrin took the new keyring', mark);
    const failed = await stack.b10('send', 'Xfrin', 'retransfer', JSON.stringify({ zone_name: ZONE }));
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/TSIG: the server answered BADSIG for key pull-key\./);
    expect(stored()).toBe(8003);
    expect(JSON.stringify(stack.boss.logs)).not.toContain(other);
  });
});

describe('TSIG keys in the configuration', () => {
  it('secrets are masked in config show and tsig list; bad entries are refused with the reason', { timeout: 30_000 }, async () => {
    const secret = Buffer.alloc(32, 9).toString('base64');
    const stack = await boot({}, [], { tsig_keys: { keys: [`shown-key:${secret}:hmac-sha256`] } });
    const shown = await stack.b10('config', 'show', 'tsig_keys');
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toEqual({ keys: ['shown-key:****:hmac-sha256'] });
    for (const args of [['config', 'show'], ['config', 'show', 'tsig_keys/keys[0]'], ['tsig', 'list']]) {
      const out = await stack.b10(...args);
      expect(out.code, out.stderr).toBe(0);
      expect(out.stdout).not.toContain(secret);
    }
    expect((await stack.b10('tsig', 'list')).stdout).toBe('shown-key. hmac-sha256\n');

    const bad = await stack.b10('config', 'set', 'tsig_keys/keys', JSON.stringify(['a:not*base64', `b:${secret}:hmac-sha3`, `shown-key:${secret}`, `Shown-Key.:${secret}`]));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('keys[0]: key a.: the secret is not base64');
    expect(bad.stderr).toContain('keys[1]: key b.: unknown algorithm "hmac-sha3"');
    expect(bad.stderr).toContain('keys[3]: a second key named shown-key.');
    expect(bad.stderr).not.toContain(secret);

    expect((await stack.b10('tsig', 'add', 'shown-key')).stderr).toContain('a key named shown-key. exists');
    const removed = await stack.b10('tsig', 'remove', 'shown-key');
    expect(removed.code, removed.stderr).toBe(0);
    expect((await stack.b10('tsig', 'list')).stdout).toBe('');
    // The file that holds the secrets is the owner's alone once the config manager writes it.
    expect((await stat(path.join(stack.dir, 'b10-config.db'))).mode & 0o077).toBe(0);
    for (const sub of ['add', 'list', 'remove']) expect((await stack.b10('tsig', sub, '--help')).stdout).toMatch(/^Usage: b10 tsig /);
  });
});
