import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tellAuthWait } from '../src/cli/zone.js';
import { freePort, ROOT, run } from './helpers/processes.js';
import { tempDir } from './helpers/tmp.js';

const BASIC = path.join(ROOT, 'test/fixtures/zones/basic.zone');

async function zoneCli(): Promise<(...args: string[]) => ReturnType<typeof run>> {
  const dir = await tempDir();
  // No bus here: msgq is asked on a port nobody listens on.
  const port = String(await freePort());
  return (...args) => run('src/cli/main.js', ['zone', ...args, '-d', dir, ...(args[0] === 'load' || args[0] === 'drop' ? ['-m', port] : [])]);
}

describe('b10 zone', () => {
  it('load_list_show_drop: through the real binary', async () => {
    const zone = await zoneCli();
    const loaded = await zone('load', 'Example.COM', BASIC);
    expect(loaded).toMatchObject({ code: 0, stdout: 'example.com.: 16 records loaded\n' });
    // No stack has run with this data path, so there is not even a bus token: the cause is named.
    expect(loaded.stderr).toMatch(/^b10: could not tell auth \(cannot read the bus token .*msgq\.token: no such file .*\): it serves example\.com\. when it starts$/);
    const list = JSON.parse((await zone('list', '--json')).stdout) as { name: string; serial: number; records: number }[];
    expect(list).toEqual([expect.objectContaining({ name: 'example.com.', serial: 2024010101, records: 16 })]);
    const shown = (await zone('show', 'example.com.')).stdout.trim().split('\n');
    expect(shown[0]).toBe('example.com.\t3600\tIN\tSOA\tns1.example.com. hostmaster.example.com. 2024010101 3600 900 604800 300');
    expect(shown.length).toBe(16);
    const dropped = await zone('drop', 'example.com');
    expect(dropped).toMatchObject({ code: 0, stdout: 'example.com.: dropped\n' });
    expect(dropped.stderr).toMatch(/^b10: could not tell auth \(cannot read the bus token .*\): it does not serve example\.com\. when it starts$/);
    expect(await zone('show', 'example.com')).toMatchObject({ code: 1, stderr: 'b10: no zone example.com. in the store' });
    expect(await zone('drop', 'example.com')).toMatchObject({ code: 1 });
  });

  it('bad_file_keeps_the_old_zone: the error names file and line, the stored zone is untouched', async () => {
    const zone = await zoneCli();
    await zone('load', 'example.com', BASIC);
    const before = (await zone('show', 'example.com')).stdout;
    const bad = path.join(await tempDir(), 'bad.zone');
    writeFileSync(bad, '$TTL 60\n@ SOA a b 2 2 3 4 5\n@ NS ns\nbad A 300.1.1.1\n');
    expect(await zone('load', 'example.com', bad)).toMatchObject({ code: 1, stderr: `b10: ${bad}:4: "300.1.1.1" is not an IPv4 address` });
    expect((await zone('show', 'example.com')).stdout).toBe(before);
  });

  it('expiring_signatures_warned: signatures expired or expiring within 7 days are named on stderr by file and line, past ten counted; the zone loads all the same', async () => {
    const zone = await zoneCli();
    // RRSIG times as a master file writes them (YYYYMMDDHHmmSS, UTC), `days` from now.
    const at = (days: number): string => new Date(Date.now() + days * 86400_000).toISOString().replace(/[-:T]/g, '').slice(0, 14);
    const sig = (owner: string, type: string, expires: number): string =>
      `${owner} RRSIG ${type} 13 3 60 ${at(expires)} ${at(-30)} 12345 example.com. QXIQbKkI51VVG3S7Ge8WPXtpyYZ3GAr9jT+xZzs6fKvkJ7N45DYJYSitdjT8E9DDkDWLLVAfX49P/BO4avRfMQ==`;
    const file = path.join(await tempDir(), 'signed.zone');
    const expired = Array.from({ length: 11 }, (_, i) => [`h${i} A 192.0.2.${i}`, sig(`h${i}`, 'A', -1)]).flat();
    writeFileSync(file, ['$TTL 60', '@ SOA ns hostmaster 7 2 3 4 5', '@ NS ns', 'ns A 192.0.2.7', sig('ns', 'A', 3), 'www A 192.0.2.8', sig('www', 'A', 30), ...expired, ''].join('\n'));
    const loaded = await zone('load', 'example.com', file);
    expect(loaded).toMatchObject({ code: 0, stdout: 'example.com.: 28 records loaded\n' });
    const lines = loaded.stderr.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^b10: ${file}:5: RRSIG A of ns\\.example\\.com\\.: the signature expires \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC, in less than 7 days$`));
    expect(lines[1]).toMatch(new RegExp(`^b10: ${file}:9: RRSIG A of h0\\.example\\.com\\.: the signature expired \\d{4}-`));
    expect(lines.slice(1, 10)).toHaveLength(9);
    expect(lines[10]).toBe(`b10: ${file}: 2 more signatures expired or expire within 7 days: sign the zone again`);
    expect(loaded.stderr).not.toMatch(/www\.example/);
  });

  it('if_missing_keeps_the_operators_zone: npm start\'s example load leaves a zone already there as it is', async () => {
    const zone = await zoneCli();
    const own = path.join(await tempDir(), 'own.zone');
    writeFileSync(own, '$TTL 60\n@ SOA ns hostmaster 7 2 3 4 5\n@ NS ns\nns A 192.0.2.7\nwww A 192.0.2.77\n');
    await zone('load', 'example.com', own);
    const before = (await zone('show', 'example.com')).stdout;
    expect(await zone('load', 'example.com', BASIC, '--if-missing')).toMatchObject({ code: 0, stdout: 'example.com.: already in the store, left as it is\n' });
    expect((await zone('show', 'example.com')).stdout).toBe(before);
    expect(await zone('load', 'example.net', own, '--if-missing')).toMatchObject({ code: 0, stdout: 'example.net.: 4 records loaded\n' });
  });

  it('corrupt_store: a clear error naming the file, nothing overwritten', async () => {
    const dir = await tempDir();
    const db = path.join(dir, 'zone.sqlite3');
    writeFileSync(db, 'this is not a database');
    const r = await run('src/cli/main.js', ['zone', 'list', '-d', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^b10: ${db}: file is not a database`));
  });

  it('missing_data_path: list, show and drop with -d a path that is not there exit 1 naming it, and create nothing', async () => {
    const typo = path.join(await tempDir(), 'nonexistent', 'x');
    for (const args of [['list'], ['show', 'example.com'], ['drop', 'example.com']]) {
      const r = await run('src/cli/main.js', ['zone', ...args, '-d', typo]);
      expect(r).toMatchObject({ code: 1, stdout: '' });
      expect(r.stderr).toBe(`b10: no data path ${typo}: no such directory (-d, else B10_DATA_PATH)`);
    }
    expect(existsSync(path.dirname(typo))).toBe(false);
  });

  it('no_store_yet: list and show in a data path holding no store read nothing and create none', async () => {
    const dir = await tempDir();
    expect(await run('src/cli/main.js', ['zone', 'list', '--json', '-d', dir])).toMatchObject({ code: 0, stdout: '[]\n' });
    expect(await run('src/cli/main.js', ['zone', 'show', 'example.com', '-d', dir])).toMatchObject({ code: 1, stderr: 'b10: no zone example.com. in the store' });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('help_and_usage: --help on each; a missing argument is a usage error', async () => {
    for (const sub of ['load', 'list', 'show', 'drop']) expect((await run('src/cli/main.js', ['zone', sub, '--help'])).code).toBe(0);
    expect((await run('src/cli/main.js', ['zone', 'load', 'example.com'])).code).toBe(2);
  });
});

describe('b10 zone load: how long it waits for auth', () => {
  it('big_zone_unconfirmed: a 1,000,000-record zone is waited for longer than --timeout (auth builds it for seconds)', () => {
    expect(tellAuthWait(1_000_000, 4000)).toBe(22_000);
    expect(tellAuthWait(10, 4000)).toBe(4000);
    expect(tellAuthWait(0, 500)).toBe(2000);
    expect(tellAuthWait(10, 60_000)).toBe(60_000);
  });
});
