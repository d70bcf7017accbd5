import { execFile } from 'node:child_process';
import net from 'node:net';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { configProblems } from '../protocol/config-data.js';
import { loadSpecFile } from '../protocol/spec.js';
import { requireTool } from './helpers/debian.js';
import { freePort, ROOT, start } from './helpers/processes.js';
import { boot, fixture, type Booted } from './helpers/stack.js';

/**
 * Stored configuration that no longer fits a module's spec (an upgrade
 * changed the spec, or someone edited the file): the module runs, warns of
 * each item by path and ignores it; `b10 config check` lists them.
 */

const exec = promisify(execFile);
const AUTH = { process: 'b10-auth', kind: 'needed', address: 'Auth' };
const EXAMPLE_ZONE = path.join(ROOT, 'docs/examples/example.org.zone');

/** A warning the boss forwarded from `component` about the stored item `item`. */
const warnedOf = (stack: Booted, component: string, item: string) =>
  stack.boss.waitForLog((l) => l.component === component && l.level === 40 && l.item === item, `a warning about ${item}`);

/** Loads the example zone into the stack's store (auth is told) and asks auth for www.example.org with dig. */
async function digWww(stack: Booted, port: number): Promise<string> {
  const dig = requireTool('dig', 'dnsutils');
  const load = await stack.b10('zone', 'load', 'example.org', EXAMPLE_ZONE, '-d', stack.dir);
  expect(load.code, load.stderr).toBe(0);
  const { stdout } = await exec(dig, ['@127.0.0.1', '-p', String(port), '+short', '+tries=1', '+time=2', 'www.example.org', 'A']);
  return stdout.trim();
}

describe('stored items a spec refuses', () => {
  it('unknown_and_out_of_range: the module runs on the defaults for them, warns naming both, and b10 config check lists them (exit 1)', async () => {
    const stack = await boot({ ranged: { process: fixture('ranged'), kind: 'needed', address: 'Ranged' } }, [], {
      Ranged: { colour: 'red', port: 99999, retries: 5 },
    });
    expect((await warnedOf(stack, 'ranged', 'Ranged/colour')).msg).toBe('stored configuration Ranged/colour: unknown item: ignored');
    expect((await warnedOf(stack, 'ranged', 'Ranged/port')).msg).toBe(
      'stored configuration Ranged/port: 99999 is above the maximum 65535: the default is used instead',
    );
    const settings = await stack.b10('send', 'Ranged', 'settings');
    expect(JSON.parse(settings.stdout)).toEqual({ port: 5300, address: '127.0.0.1', retries: 5 });

    for (const args of [['config', 'check'], ['config', 'check', 'Ranged']]) {
      const check = await stack.b10(...args);
      expect(check.code).toBe(1);
      expect(check.stdout).toBe('Ranged/colour: unknown item\nRanged/port: 99999 is above the maximum 65535\n');
      expect(check.stderr).toContain('2 stored item(s) the spec refuses');
    }
    // Nothing the component wrote reached the boss's log as text (a stack trace would).
    expect(stack.boss.logs.filter((l) => l.component === 'ranged' && l.stream !== undefined)).toEqual([]);
  });

  it('other_changes_go_through: a stale item blocks no change to another item; it is shown as such and removed with unset', async () => {
    const stack = await boot({ ranged: { process: fixture('ranged'), kind: 'needed', address: 'Ranged' } }, [], { Ranged: { colour: 'red' } });
    expect(await stack.b10('config', 'set', 'Ranged/address', '"::1"')).toMatchObject({ code: 0 });
    expect(JSON.parse((await stack.b10('send', 'Ranged', 'settings')).stdout)).toMatchObject({ address: '::1' });
    expect(await stack.b10('config', 'set', 'Ranged/port', '65536')).toMatchObject({ code: 1, stderr: 'b10: Ranged/port: 65536 is above the maximum 65535' });
    expect(await stack.b10('config', 'show', 'Ranged/colour')).toMatchObject({
      code: 1,
      stderr: 'b10: Ranged/colour: no such item in the spec of Ranged (a stored value the module ignores: remove it with "b10 config unset Ranged/colour")',
    });
    expect(await stack.b10('config', 'unset', 'Ranged/colour')).toMatchObject({ code: 0, stderr: '' });
    expect(await stack.b10('config', 'check')).toMatchObject({ code: 0, stdout: '' });
    const stored = JSON.parse(await readFile(path.join(stack.dir, 'b10-config.db'), 'utf8'));
    expect(stored.Ranged).toEqual({ address: '::1' });
  });

  it('old_docs_example: auth with the stored {"Auth": {"port": 53}} (an item its spec does not have) runs, warns and answers DNS', async () => {
    const dnsPort = await freePort();
    const stack = await boot({ auth: AUTH }, ['-p', String(dnsPort)], { Auth: { port: 53 } });
    expect((await warnedOf(stack, 'auth', 'Auth/port')).msg).toBe('stored configuration Auth/port: unknown item: ignored');
    expect(await digWww(stack, dnsPort)).toBe('192.0.2.80');
    expect(stack.pidsOf('auth')).toHaveLength(1);
  });
});

describe('the example configuration in docs/config.md', () => {
  it('docs_example_config: valid against the real specs, and a stack started with it answers DNS', async () => {
    const doc = await readFile(path.join(ROOT, 'docs/config.md'), 'utf8');
    const block = /### The configuration file[\s\S]*?```json\n([\s\S]*?)```/.exec(doc);
    expect(block, 'a json block under "The configuration file"').not.toBeNull();
    const { version, ...modules } = JSON.parse(block![1]!) as { version: number; Auth: { listen_on: { address: string; port: number }[] } };
    expect(version).toBe(2);
    expect(Object.keys(modules)).toEqual(['Auth']);
    expect(configProblems((await loadSpecFile(path.join(ROOT, 'src/auth/auth.spec'))).config_data, modules.Auth)).toEqual([]);
    // Only the port is changed, to one that is free here.
    const dnsPort = await freePort();
    for (const endpoint of modules.Auth.listen_on) endpoint.port = dnsPort;
    const stack = await boot({ auth: AUTH }, [], modules);
    await stack.boss.waitForLog((l) => l.component === 'auth' && l.msg === 'auth listening' && JSON.stringify(l.endpoints).includes(`"port":${dnsPort}`), 'auth on the example\'s address');
    expect(await digWww(stack, dnsPort)).toBe('192.0.2.80');
    expect(stack.boss.logs.filter((l) => (l.level ?? 0) >= 40 && l.component === 'auth')).toEqual([]);
  });
});

describe('a daemon that cannot go on', () => {
  it('uncaught_error_one_fatal_line: one fatal log line with the reason, exit 1, no stack dump on stderr', async () => {
    // A port someone else holds, and a daemon that does not handle the listen error.
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => void holder.close());
    const port = (holder.address() as net.AddressInfo).port;
    const careless = start(fixture('careless'), ['--port', String(port)]);
    onTestFinished(() => careless.stop());
    expect((await careless.exited).code).toBe(1);
    await careless.drained;
    const notJson = careless.stderrLines.filter((line) => !line.startsWith('{'));
    expect(notJson).toEqual([]);
    const fatal = careless.logs.filter((l) => l.level === 60);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({ code: 'EADDRINUSE', msg: `stopping on an error: listen EADDRINUSE: address already in use 127.0.0.1:${port}` });
    expect(careless.logs.some((l) => (l.level ?? 0) <= 30 && /\\n\s+at /.test(JSON.stringify(l)))).toBe(false);
  });
});
