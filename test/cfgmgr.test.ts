import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { Config } from '../protocol/config-data.js';
import { AnswerError } from '../protocol/errors.js';
import { Inbox } from '../protocol/inbox.js';
import { ModuleSession, type ModuleSessionOptions } from '../protocol/module-session.js';
import { Session } from '../protocol/session.js';
import { ROOT, start, startCfgmgr, startMsgq, type MsgqHandle } from './helpers/processes.js';
import { encodeValue, frameBytes, RawClient } from './helpers/raw.js';
import { tempDir } from './helpers/tmp.js';

const ZONES_SPEC = path.join(ROOT, 'test/fixtures/zones.spec');
const DEFAULTS = {
  port: 5300,
  ratio: 0.5,
  verbose: false,
  zones: [],
  listen: { address: '127.0.0.1', backlog: 16 },
  peers: {},
};

let msgq: MsgqHandle;
let client: Session;
beforeAll(async () => {
  msgq = await startMsgq();
  client = await Session.connect({ port: msgq.port });
});
afterAll(async () => {
  await client.close();
  await msgq.stop();
});

/** A Zones module in this process; every configuration it is handed lands in `configs`. */
async function zonesModule(extra: Partial<ModuleSessionOptions> = {}) {
  const configs = new Inbox<Config>('a configuration');
  const module = await ModuleSession.start({
    spec: ZONES_SPEC,
    connect: { port: msgq.port },
    onConfig: (c) => configs.push(c),
    onCommand: (name, args) => {
      if (name === 'status') throw new Error('status is broken today');
      return { name, args };
    },
    ...extra,
  });
  onTestFinished(() => module.close());
  return { module, configs };
}

const setConfig = (module: string, config: unknown) => client.command('ConfigManager', 'set_config', [module, config]);

async function cfgmgrIn(dir: string, args: string[] = []) {
  const cfgmgr = await startCfgmgr(msgq.port, dir, args);
  onTestFinished(() => cfgmgr.stop());
  return cfgmgr;
}

describe('config manager with modules', () => {
  it('register_then_defaults: a module registers and starts on its spec defaults', async () => {
    await cfgmgrIn(await tempDir());
    const { module, configs } = await zonesModule();
    expect(await configs.next({ timeout: 2000 })).toEqual(DEFAULTS);
    expect(module.isRegistered).toBe(true);
    expect(module.getValue('listen/backlog')).toBe(16);
    const spec = (await client.command('ConfigManager', 'get_module_spec', { module_name: 'Zones' })) as { module_name: string };
    expect(spec.module_name).toBe('Zones');
    const commands = (await client.command('ConfigManager', 'get_commands_spec')) as Record<string, { command_name: string }[]>;
    expect(commands.Zones!.map((c) => c.command_name)).toEqual(['reload', 'status']);
  });

  it('set_config_reaches_handler: a change through the bus is handed to the module and stored', async () => {
    const dir = await tempDir();
    await cfgmgrIn(dir);
    const { module, configs } = await zonesModule();
    await configs.next({ timeout: 2000 });
    await setConfig('Zones', { port: 53, zones: [{ origin: 'example.org' }] });
    expect(await configs.next({ timeout: 2000 })).toMatchObject({ port: 53, zones: [{ origin: 'example.org', port: 53 }] });
    expect(module.getValue('zones[0]/origin')).toBe('example.org');
    const file = JSON.parse(await readFile(path.join(dir, 'b10-config.db'), 'utf8'));
    expect(file).toEqual({ version: 2, Zones: { port: 53, zones: [{ origin: 'example.org' }] } });
    expect(await client.command('ConfigManager', 'get_config', { module_name: 'Zones' })).toEqual(file.Zones);
  });

  it('invalid_set_config: refused with the path, nothing changes, the file is byte for byte the same', async () => {
    const dir = await tempDir();
    await cfgmgrIn(dir);
    const { configs } = await zonesModule();
    await configs.next({ timeout: 2000 });
    await setConfig('Zones', { port: 53 });
    await configs.next({ timeout: 2000 });
    const before = await readFile(path.join(dir, 'b10-config.db'));
    const err = await setConfig('Zones', { zones: [{}, {}, { port: 'x' }], nope: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AnswerError);
    expect((err as AnswerError).message).toBe('Zones/zones[2]/port: expected integer, got string "x"; Zones/nope: unknown item');
    expect(await readFile(path.join(dir, 'b10-config.db'))).toEqual(before);
    expect(configs.size).toBe(0);
    await expect(setConfig('NoSuchModule', { a: 1 })).rejects.toThrow('NoSuchModule: unknown module (no spec registered)');
  });

  it('module_refuses: a config the handler rejects is not stored', async () => {
    const dir = await tempDir();
    await cfgmgrIn(dir);
    await zonesModule({
      onConfig: (c) => {
        if (c.port === 1) throw new Error('port 1 is reserved');
      },
    });
    await expect(setConfig('Zones', { port: 1 })).rejects.toThrow('Zones refused the configuration: port 1 is reserved');
    await expect(readFile(path.join(dir, 'b10-config.db'))).rejects.toThrow(/ENOENT/);
  });

  it('module_not_running: config set meanwhile is kept and delivered when it registers', async () => {
    await cfgmgrIn(await tempDir());
    const first = await zonesModule();
    await first.configs.next({ timeout: 2000 });
    await first.module.close();
    await setConfig('Zones', { verbose: true });
    const again = await zonesModule();
    expect(await again.configs.next({ timeout: 2000 })).toMatchObject({ verbose: true });
  });

  it('cfgmgr_starts_late: the module runs on defaults, then registers and gets the stored config', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'b10-config.db'), JSON.stringify({ version: 2, Zones: { port: 8053 } }));
    const { module, configs } = await zonesModule();
    expect(await configs.next({ timeout: 2000 })).toEqual(DEFAULTS);
    expect(module.isRegistered).toBe(false);
    await cfgmgrIn(dir);
    expect(await configs.next({ timeout: 5000 })).toMatchObject({ port: 8053 });
    expect(module.isRegistered).toBe(true);
  });

  it('remote_config: a module follows another module\'s configuration and hears of changes', async () => {
    await cfgmgrIn(await tempDir());
    const { configs } = await zonesModule();
    await configs.next({ timeout: 2000 });
    const seen = new Inbox<Config>('a remote change');
    const watcher = await ModuleSession.start({
      spec: { module_name: 'Watcher', config_data: [], commands: [] },
      connect: { port: msgq.port },
    });
    onTestFinished(() => watcher.close());
    await watcher.addRemoteConfig('Zones', (_, config) => seen.push(config));
    expect(watcher.getRemoteValue('Zones', 'port')).toBe(5300);
    await setConfig('Zones', { port: 5353 });
    expect(await seen.next({ timeout: 2000 })).toMatchObject({ port: 5353 });
    expect(watcher.getRemoteValue('Zones', 'port')).toBe(5353);
  });

  it('commands: validated against the spec; unknown, malformed and failing ones all answered', async () => {
    await cfgmgrIn(await tempDir());
    await zonesModule();
    expect(await client.command('Zones', 'reload', { origin: 'a.example' })).toEqual({
      name: 'reload',
      args: { origin: 'a.example', force: false },
    });
    await expect(client.command('Zones', 'reload', { origin: 7 })).rejects.toThrow('reload: origin: expected string, got number 7');
    await expect(client.command('Zones', 'launch')).rejects.toThrow('Unknown command: launch');
    await expect(client.command('Zones', 'status')).rejects.toThrow('status is broken today');
    const reply = await client.request('Zones', { not: 'a command' });
    expect(reply.body).toEqual({ result: [1, expect.stringMatching(/^malformed command/)] });
    // A body that is not CBOR at all is answered too.
    const raw = await RawClient.open(msgq.port);
    onTestFinished(() => raw.close());
    raw.write(frameBytes(encodeValue({ type: 'send', from: raw.lname, to: '*', group: 'Zones', instance: '*', seq: 9 }, 'cbor'), Buffer.from([0xff])));
    expect(await raw.next()).toMatchObject({ header: { reply: 9 }, body: { result: [1, expect.stringMatching(/^malformed command: undecodable cbor/)] } });
  });
});

describe('config file', () => {
  const stored = { version: 2, Zones: { port: 1 } };

  async function refused(contents: string, why: RegExp): Promise<void> {
    const dir = await tempDir();
    const file = path.join(dir, 'b10-config.db');
    await writeFile(file, contents);
    const proc = start('src/cfgmgr/main.js', ['--data-path', dir, '-m', String(msgq.port)]);
    expect((await proc.exited).code).toBe(1);
    const fatal = proc.logs.find((l) => l.level === 60);
    expect(String(fatal?.msg)).toContain(file);
    expect(String(fatal?.msg)).toMatch(why);
    expect(await readFile(file, 'utf8')).toBe(contents);
  }

  it('corrupt_file: refused at start, named, left alone', () => refused('{"version": 2, "Zo', /corrupt/));
  it('no_version: refused', () => refused('{"Zones": {}}', /has no version/));
  it('newer_version: refused', () => refused('{"version": 3}', /version 3 is not yet supported/));
  it('not_a_map: refused', () => refused('[1, 2]', /not a map/));

  it('missing_file: an empty configuration', async () => {
    await cfgmgrIn(await tempDir());
    expect(await client.command('ConfigManager', 'get_config')).toEqual({ version: 2 });
  });

  it('version_1: migrated to the current version', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'b10-config.db');
    await writeFile(file, JSON.stringify({ version: 1, Zones: { port: 1 } }));
    await cfgmgrIn(dir);
    expect(await client.command('ConfigManager', 'get_config', { module_name: 'Zones' })).toEqual({ port: 1 });
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(stored);
  });

  it('clear_config: the old file moves to .bak, then .bak.1', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'b10-config.db');
    await writeFile(file, JSON.stringify(stored));
    await (await startCfgmgr(msgq.port, dir, ['--clear-config'])).stop();
    await writeFile(file, JSON.stringify({ version: 2, Zones: { port: 2 } }));
    await cfgmgrIn(dir, ['--clear-config']);
    expect(await client.command('ConfigManager', 'get_config')).toEqual({ version: 2 });
    expect(JSON.parse(await readFile(`${file}.bak`, 'utf8'))).toEqual(stored);
    expect(JSON.parse(await readFile(`${file}.bak.1`, 'utf8')).Zones.port).toBe(2);
  });

  it('sigkill_mid_stream: no acknowledged change is lost and the file is never truncated', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'b10-config.db');
    let cfgmgr = await cfgmgrIn(dir);
    // Registered once; cfgmgr remembers the spec across restarts.
    await zonesModule({ onConfig: () => {} });
    let acknowledged = 0;
    for (let round = 0; round < 3; round++) {
      const killAfter = acknowledged + 20;
      let killed = false;
      for (let value = acknowledged + 1; ; value++) {
        try {
          await client.command('ConfigManager', 'set_config', ['Zones', { port: value }], { timeout: 1000 });
          acknowledged = value;
        } catch {
          expect(killed).toBe(true);
          break;
        }
        if (value === killAfter && !killed) {
          killed = true;
          // Not awaited: the next set_config is in flight when the kill lands.
          setImmediate(() => cfgmgr.proc.child.kill('SIGKILL'));
        }
      }
      await cfgmgr.proc.exited;
      const onDisk = JSON.parse(await readFile(file, 'utf8')) as { Zones: { port: number } };
      expect(onDisk.Zones.port).toBeGreaterThanOrEqual(acknowledged);
      cfgmgr = await cfgmgrIn(dir);
      const port = ((await client.command('ConfigManager', 'get_config', { module_name: 'Zones' })) as { port: number }).port;
      expect(port).toBeGreaterThanOrEqual(acknowledged);
      acknowledged = port;
    }
  });
});
