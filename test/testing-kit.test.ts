import { existsSync } from 'node:fs';
import { describe, expect, it, onTestFinished } from 'vitest';
import { TimeoutError, UsageError } from '../protocol/errors.js';
import { expectMessage, startBus, startModule } from '../src/testing/index.js';
import { start } from './helpers/processes.js';
import { alive, expectAllGone, fixture } from './helpers/stack.js';

describe('b10/testing', () => {
  it('start_and_stop: a real msgq and config manager, all gone after stop(), temp data path removed', async () => {
    const bus = await startBus({ cfgmgr: true });
    const pids = [bus.msgq.pid, bus.cfgmgr!.pid];
    expect(pids.every(alive)).toBe(true);
    const session = await bus.connect();
    expect(await session.command('ConfigManager', 'get_config', { module_name: 'Nobody' })).toEqual({});
    await bus.stop();
    expect(session.isClosed).toBe(true);
    await expectAllGone(pids);
    expect(existsSync(bus.dataPath)).toBe(false);
  });

  it('expect_message: the first match is returned, others passed over; a timeout says how many', async () => {
    const bus = await startBus();
    onTestFinished(() => bus.stop());
    const [a, b] = [await bus.connect(), await bus.connect()];
    await a.subscribe('G');
    for (const n of [1, 2, 3]) b.send('G', n);
    expect((await expectMessage(a, (m) => m.body === 2)).body).toBe(2);
    const err = await expectMessage(a, (m) => m.body === 99, 200).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toMatch(/a matching message \(1 others passed over\)/);
  });

  it('start_module_without_cfgmgr: refused, saying what is missing', async () => {
    const bus = await startBus();
    onTestFinished(() => bus.stop());
    await expect(startModule(bus, fixture('echo'), { module: 'Echo' })).rejects.toBeInstanceOf(UsageError);
  });

  it('module_exits_before_registering: rejected with its output, not a hang', async () => {
    const bus = await startBus({ cfgmgr: true });
    onTestFinished(() => bus.stop());
    const err = await startModule(bus, fixture('crasher'), { module: 'Crasher' }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/crasher.js exited \(code 1, signal null\) before registering as Crasher:\ncrasher: exiting in 0 ms/);
  });

  it('module_never_registers: rejected after its timeout, and stopped', async () => {
    const bus = await startBus({ cfgmgr: true });
    onTestFinished(() => bus.stop());
    const err = await startModule(bus, fixture('silent'), { module: 'Silent', timeout: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
  });

  it('owner_sigkilled: a test run killed outright leaves no msgq or config manager behind', async () => {
    const owner = start('test/fixtures/kit-owner.js', []);
    onTestFinished(() => owner.stop());
    await owner.waitForStdout('}');
    const { msgq, cfgmgr } = JSON.parse(owner.stdout) as { msgq: number; cfgmgr: number };
    expect([msgq, cfgmgr].every(alive)).toBe(true);
    owner.child.kill('SIGKILL');
    await owner.exited;
    await expectAllGone([msgq, cfgmgr]);
  });
});
