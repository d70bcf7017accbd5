import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { itemAt, parsePath } from '../protocol/config-data.js';
import { ModuleSession } from '../protocol/module-session.js';
import { loadSpecFile } from '../protocol/spec.js';
import { ROOT, run, startCfgmgr, startMsgq, type CfgmgrHandle, type MsgqHandle } from './helpers/processes.js';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';

let msgq: MsgqHandle;
let cfgmgr: CfgmgrHandle;
let module: ModuleSession;
let auth: ModuleSession;
/** Every configuration handed to the Auth module. */
const authConfigs: unknown[] = [];
let dataPath: string;

beforeAll(async () => {
  dataPath = await mkdtemp(path.join(os.tmpdir(), 'b10-cli-config-'));
  msgq = await startMsgq();
  cfgmgr = await startCfgmgr(msgq.port, dataPath);
  module = await ModuleSession.start({
    spec: path.join(ROOT, 'test/fixtures/zones.spec'),
    connect: { port: msgq.port },
    onCommand: (name, args) => ({ name, args }),
  });
  // Auth's real spec, registered as b10-auth registers it.
  auth = await ModuleSession.start({
    spec: path.join(ROOT, 'src/auth/auth.spec'),
    connect: { port: msgq.port },
    onConfig: (config) => void authConfigs.push(config),
  });
});
afterAll(async () => {
  await auth.close();
  await module.close();
  await cfgmgr.stop();
  await msgq.stop();
  await rm(dataPath, { recursive: true, force: true });
});

const SPEC_FILES: Record<string, string> = { Auth: 'src/auth/auth.spec', Xfrin: 'src/xfrin/xfrin.spec', Boss: 'boss/bob.spec', Cmdctl: 'src/cmdctl/cmdctl.spec' };
const b10 = (...args: string[]) => run('src/cli/main.js', args, { env: { B10_MSGQ_PORT: String(msgq.port) } });
const stored = async () => JSON.parse(await readFile(path.join(dataPath, 'b10-config.db'), 'utf8'));

describe('b10 config show', () => {
  it('one_item: prints its value, the default when unset', async () => {
    expect(await b10('config', 'show', 'Zones/listen/backlog')).toMatchObject({ code: 0, stdout: '16\n' });
  });

  it('one_module: every item, defaults filled in', async () => {
    const r = await b10('config', 'show', 'Zones');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ port: expect.any(Number), listen: { address: '127.0.0.1' } });
  });

  it('everything: every module with a spec or a stored config', async () => {
    const r = await b10('config', 'show');
    expect(Object.keys(JSON.parse(r.stdout))).toContain('Zones');
  });

  it('unknown_module_or_item: exit 1 with the reason', async () => {
    expect(await b10('config', 'show', 'Nope')).toMatchObject({ code: 1, stderr: 'b10: unknown module Nope' });
    expect(await b10('config', 'show', 'Zones/name')).toMatchObject({ code: 1, stderr: 'b10: Zones/name: not set and no default' });
  });

  it('item_not_in_spec: exit 1 saying the spec has no such item, unlike an item with no value', async () => {
    expect(await b10('config', 'show', 'Zones/nosuch')).toMatchObject({ code: 1, stderr: 'b10: Zones/nosuch: no such item in the spec of Zones' });
    expect(await b10('config', 'show', 'Zones/listen/nosuch')).toMatchObject({ code: 1, stderr: 'b10: Zones/listen/nosuch: no such item in the spec of Zones' });
    expect(await b10('config', 'show', 'Zones/port/deeper')).toMatchObject({ code: 1, stderr: 'b10: Zones/port/deeper: no such item in the spec of Zones' });
    expect(await b10('config', 'show', 'Zones/name')).toMatchObject({ code: 1, stderr: 'b10: Zones/name: not set and no default' });
  });

  it('bus_unreachable: exit 3', async () => {
    const r = await run('src/cli/main.js', ['config', 'show', '-m', '1', '-t', '100']);
    expect(r.code).toBe(3);
  });
});

describe('b10 config set and unset', () => {
  it('set: validated, stored, handed to the module', async () => {
    expect(await b10('config', 'set', 'Zones/port', '5354')).toMatchObject({ code: 0, stdout: '' });
    expect(module.getValue('port')).toBe(5354);
    expect((await stored()).Zones.port).toBe(5354);
  });

  it('set_in_list_and_map: a path into a default list or a map', async () => {
    expect((await b10('config', 'set', 'Zones/zones', '[{"origin":"a.example"}]')).code).toBe(0);
    expect((await b10('config', 'set', 'Zones/zones[0]/port', '5300')).code).toBe(0);
    expect((await b10('config', 'set', 'Zones/listen/address', '"::1"')).code).toBe(0);
    expect(module.getValue('zones')).toEqual([{ origin: 'a.example', port: 5300 }]);
    expect(module.getValue('listen')).toEqual({ address: '::1', backlog: 16 });
  });

  it('set_invalid: exit 1 with the path and the reason, nothing stored', async () => {
    const before = await readFile(path.join(dataPath, 'b10-config.db'));
    const r = await b10('config', 'set', 'Zones/zones[0]/port', '"fifty-three"');
    expect(r).toMatchObject({ code: 1, stderr: 'b10: Zones/zones[0]/port: expected integer, got string "fifty-three"' });
    expect(await readFile(path.join(dataPath, 'b10-config.db'))).toEqual(before);
  });

  it('set_bad_json_or_path: usage errors, exit 2', async () => {
    expect((await b10('config', 'set', 'Zones/port', 'fifty')).code).toBe(2);
    expect((await b10('config', 'set', 'Zones/zones[x]', '1')).code).toBe(2);
    expect((await b10('config', 'set', 'Zones/port')).code).toBe(2);
  });

  it('unset_not_in_spec: exit 1 with the reason, nothing sent', async () => {
    const before = await readFile(path.join(dataPath, 'b10-config.db'));
    expect(await b10('config', 'unset', 'Zones/nosuch')).toMatchObject({ code: 1, stderr: 'b10: Zones/nosuch: no such item in the spec of Zones' });
    expect(await b10('config', 'unset', 'Zones/listen/nosuch')).toMatchObject({ code: 1, stderr: 'b10: Zones/listen/nosuch: no such item in the spec of Zones' });
    expect(await readFile(path.join(dataPath, 'b10-config.db'))).toEqual(before);
  });

  it('unset: the default applies again', async () => {
    await b10('config', 'set', 'Zones/verbose', 'true');
    expect(module.getValue('verbose')).toBe(true);
    expect((await b10('config', 'unset', 'Zones/verbose')).code).toBe(0);
    expect(module.getValue('verbose')).toBe(false);
    expect((await stored()).Zones.verbose).toBeUndefined();
  });
});

describe('ranges and address forms, checked by the config manager before Auth sees them', () => {
  const storedBytes = () => readFile(path.join(dataPath, 'b10-config.db')).catch(() => undefined);

  it('listen_on_port_99999: refused with the item\'s path, nothing stored, Auth never handed it', async () => {
    const before = await storedBytes();
    const seen = authConfigs.length;
    for (const [port, why] of [['99999', 'above the maximum 65535'], ['65536', 'above the maximum 65535'], ['-1', 'below the minimum 0']]) {
      const r = await b10('config', 'set', 'Auth/listen_on', `[{"address": "127.0.0.1", "port": ${port}}]`);
      expect(r).toMatchObject({ code: 1, stderr: `b10: Auth/listen_on[0]/port: ${port} is ${why}` });
    }
    expect(await storedBytes()).toEqual(before);
    expect(authConfigs.length).toBe(seen);
  });

  it('listen_on_empty_address: refused with the item\'s path, nothing stored, Auth never handed it', async () => {
    const before = await storedBytes();
    const seen = authConfigs.length;
    expect(await b10('config', 'set', 'Auth/listen_on[0]/address', '""')).toMatchObject({ code: 1, stderr: 'b10: Auth/listen_on[0]/address: "" is not an IP address' });
    expect(await b10('config', 'set', 'Auth/listen_on', '[{"address": "nohost", "port": 53}]')).toMatchObject({
      code: 1,
      stderr: 'b10: Auth/listen_on[0]/address: "nohost" is not an IP address',
    });
    expect(await storedBytes()).toEqual(before);
    expect(authConfigs.length).toBe(seen);
  });

  it('listen_on_valid: taken, stored and handed to Auth', async () => {
    expect(await b10('config', 'set', 'Auth/listen_on', '[{"address": "::1", "port": 0}]')).toMatchObject({ code: 0 });
    expect(authConfigs.at(-1)).toMatchObject({ listen_on: [{ address: '::1', port: 0 }] });
    expect((await stored()).Auth).toEqual({ listen_on: [{ address: '::1', port: 0 }] });
    expect((await b10('config', 'unset', 'Auth/listen_on')).code).toBe(0);
  });

  it('command_args: a loadzone origin that is no domain name is refused before it is sent', async () => {
    expect(await b10('send', 'Auth', 'loadzone', '{"origin": "a..b"}')).toMatchObject({ code: 2, stderr: 'b10: loadzone: origin: "a..b" is not a domain name' });
  });
});

describe('b10 config check', () => {
  it('clean: nothing printed, exit 0', async () => {
    expect(await b10('config', 'check')).toMatchObject({ code: 0, stdout: '' });
    expect(await b10('config', 'check', 'Zones')).toMatchObject({ code: 0, stdout: '' });
  });

  it('unknown_module: exit 1', async () => {
    expect(await b10('config', 'check', 'Nope')).toMatchObject({ code: 1, stderr: 'b10: unknown module Nope' });
  });
});

describe('b10 config spec', () => {
  it('text: items and commands with their descriptions', async () => {
    const r = await b10('config', 'spec', 'Zones');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Zones: A test module with every item type');
    expect(r.stdout).toContain('port: integer = 5300  DNS port');
    expect(r.stdout).toContain('reload  Reload one zone');
    expect(r.stdout).toContain('force: boolean (optional) = false');
  });

  it('ranges_and_forms: shown beside the type', async () => {
    const r = await b10('config', 'spec', 'Auth');
    expect(r.stdout).toContain('address: string (ipaddress) = "127.0.0.1"');
    expect(r.stdout).toContain('port: integer (0..65535) = 5300');
    expect(r.stdout).toContain('window: integer (1..3600) = 15');
  });

  it('json: the spec itself', async () => {
    const r = await b10('config', 'spec', 'Zones', '--json');
    expect(JSON.parse(r.stdout).module_name).toBe('Zones');
  });

  it('unknown_module: exit 1', async () => {
    expect(await b10('config', 'spec', 'Nope')).toMatchObject({ code: 1, stderr: 'b10: no spec registered for module Nope' });
  });

  it('help: every config command has --help', async () => {
    for (const cmd of ['show', 'set', 'unset', 'check', 'spec']) expect((await b10('config', cmd, '--help')).code).toBe(0);
  });

  it('help_examples: the paths the help cites are items of the real specs', async () => {
    const help = (await b10('config', 'set', '--help')).stdout + (await b10('config', 'show', '--help')).stdout + (await b10('config', 'unset', '--help')).stdout;
    const cited = [...help.matchAll(/\b(Auth|Xfrin|Boss|Cmdctl)\/[\w[\]/]+/g)].map((m) => m[0]);
    expect(cited.length).toBeGreaterThan(2);
    for (const target of cited) {
      const [module, ...rest] = target.split('/');
      const spec = await loadSpecFile(path.join(ROOT, SPEC_FILES[module!]!));
      expect(itemAt(spec.config_data, parsePath(rest.join('/'))), target).toBeDefined();
    }
  });
});

describe('b10 send checks against the registered spec', () => {
  it('bad_args: refused before sending, exit 2', async () => {
    const r = await b10('send', 'Zones', 'reload', '{"origin": 5}');
    expect(r).toMatchObject({ code: 2, stderr: 'b10: reload: origin: expected string, got number 5' });
  });

  it('unknown_command: refused with the module\'s commands, exit 2', async () => {
    const r = await b10('send', 'Zones', 'explode');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Zones has no command explode (its commands: reload, status)');
  });

  it('no_check: sent anyway, and the module answers', async () => {
    const r = await b10('send', 'Zones', 'explode', '--no-check');
    expect(r).toMatchObject({ code: 1, stderr: 'b10: Unknown command: explode' });
  });

  it('good_args: sent, defaults filled in by the module', async () => {
    const r = await b10('send', 'Zones', 'reload', '{"origin":"x"}');
    expect(JSON.parse(r.stdout)).toEqual({ name: 'reload', args: { origin: 'x', force: false } });
  });
});
