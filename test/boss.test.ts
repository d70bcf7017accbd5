import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { run, start, startMsgq, type LogLine } from './helpers/processes.js';
import { alive, boot, byComponent, expectAllGone, fixture, startedPids, writeBossConfig } from './helpers/stack.js';
import { tempDir } from './helpers/tmp.js';

describe('bind10 options', () => {
  it('port_validation: a port outside 0-65535 is a usage error, nothing starts', async () => {
    for (const args of [['-p', '70000'], ['-m', 'abc'], ['--port', '-1']]) {
      const r = await run('boss/main.js', args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/requires a port number \(0-65535\)/);
    }
  });

  it('help: bind10 --help', async () => {
    const r = await run('boss/main.js', ['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: bind10/);
  });

  it('msgq_already_running: refuses to start, starts nothing', async () => {
    const msgq = await startMsgq();
    onTestFinished(() => msgq.stop());
    const dir = await tempDir();
    const boss = start('boss/main.js', ['-m', String(msgq.port), '-d', dir]);
    expect((await boss.exited).code).toBe(1);
    expect(boss.logs.some((l) => /msgq already running on port/.test(String(l.msg)))).toBe(true);
    expect(startedPids(boss)).toEqual([]);
  });
});

describe('bind10 runs the stack', () => {
  it('start_command_shutdown: commands answered, b10 ps lists the components, b10 shutdown ends everything', async () => {
    const dir = await tempDir();
    const pidFile = path.join(dir, 'bind10.pid');
    const stack = await boot({ echo: { process: fixture('echo'), address: 'Echo', kind: 'needed' } }, ['--pid-file', pidFile]);
    expect(await readFile(pidFile, 'utf8')).toBe(`${stack.boss.pid}\n`);

    expect(await stack.b10('send', 'Boss', 'print_message', '{"message":"hi"}')).toMatchObject({ code: 0, stdout: '"hi"\n' });
    await stack.boss.waitForStdout('hi\n');
    expect(await stack.b10('send', 'Boss', 'ping')).toMatchObject({ code: 0, stdout: '"pong"\n' });
    expect(await stack.b10('send', 'Boss', 'frobnicate', '--no-check')).toMatchObject({ code: 1, stderr: 'b10: Unknown command: frobnicate' });
    expect(await stack.b10('send', 'Echo', 'echo', '{"text":"through the boss"}')).toMatchObject({ stdout: '"through the boss"\n' });

    const ps = await stack.b10('ps');
    expect(ps.code).toBe(0);
    expect(ps.stdout.split('\n')[0]).toMatch(/^NAME\s+PID\s+STATE\s+KIND\s+RESTARTS\s+UPTIME/);
    for (const name of ['msgq', 'cfgmgr', 'echo']) expect(ps.stdout).toMatch(new RegExp(`^${name}\\s+\\d+\\s+running`, 'm'));
    const rows = JSON.parse((await stack.b10('ps', '--json')).stdout) as { name: string; pid: number }[];
    expect(rows.map((r) => r.name)).toEqual(['msgq', 'cfgmgr', 'echo']);
    expect(rows.map((r) => r.pid).sort()).toEqual(stack.pids().sort());

    // The component's own output is in the boss's log under its name.
    await stack.boss.waitForLog((l) => l.component === 'echo' && l.msg === 'echo component says hello', 'echo output');

    const pids = stack.pids();
    expect(await stack.b10('shutdown')).toMatchObject({ code: 0 });
    expect((await stack.boss.exited).code).toBe(0);
    await expectAllGone(pids);
    expect(existsSync(pidFile)).toBe(false);
  });

  it('print_settings: prints and answers the full configuration', async () => {
    const stack = await boot();
    const r = await stack.b10('send', 'Boss', 'print_settings');
    expect(JSON.parse(r.stdout)).toMatchObject({ dnsPort: 5300, config: { components: {} } });
  });

  it('sigint: a clean shutdown with exit code 0', async () => {
    const stack = await boot({ echo: { process: fixture('echo'), address: 'Echo' } });
    const pids = stack.pids();
    stack.boss.child.kill('SIGINT');
    expect((await stack.boss.exited).code).toBe(0);
    await expectAllGone(pids);
  });
});

describe('supervision', () => {
  it('crash_loop: restarted on the schedule, each quick failure waiting twice as long', async () => {
    // With an address it never registers, so no run counts as healthy, however slow a loaded machine starts it.
    const stack = await boot({ crasher: { process: fixture('crasher'), address: 'Crasher' } }, ['--restart-period', '200']);
    const scheduled: LogLine[] = [];
    for (let i = 0; i < 3; i++) {
      scheduled.push(
        await stack.boss.waitForLog(
          (l) => l.component === 'crasher' && l.msg === 'restart scheduled' && !scheduled.includes(l),
          'restart scheduled',
        ),
      );
    }
    expect(scheduled.map((l) => [l.interval, l.failures])).toEqual([
      [200, 1],
      [400, 2],
      [800, 3],
    ]);
    for (const l of scheduled) {
      // The wait counts from the start, so it is the interval less the time it ran, give or take the jitter.
      expect(l.delay as number).toBeLessThanOrEqual((l.interval as number) * 1.3);
    }
    expect(stack.pidsOf('crasher').length).toBeGreaterThanOrEqual(3);
    const rows = JSON.parse((await stack.b10('ps', '--json')).stdout) as { name: string; restarts: number; failures: number }[];
    expect(rows.find((r) => r.name === 'crasher')).toMatchObject({ restarts: expect.any(Number), failures: expect.any(Number) });
    expect(rows.find((r) => r.name === 'crasher')!.restarts).toBeGreaterThanOrEqual(2);
  });

  it('healthy_run_then_exit: restarted at once, failures reset', async () => {
    const stack = await boot({ sleeper: { process: fixture('crasher'), params: ['--after', '300'] } }, ['--restart-period', '200']);
    const line = await stack.boss.waitForLog(byComponent('sleeper', 'restart scheduled'), 'restart scheduled');
    expect(line).toMatchObject({ delay: 0, failures: 0, interval: 0 });
  });

  it('sigterm_ignored: a child that ignores shutdown and SIGTERM is SIGKILLed', async () => {
    const stack = await boot({ stubborn: { process: fixture('stubborn') } }, ['--stop-grace', '300']);
    await stack.boss.waitForLog(byComponent('stubborn', 'stubborn: running'), 'stubborn running');
    const pids = stack.pids();
    await stack.b10('shutdown');
    expect((await stack.boss.exited).code).toBe(0);
    expect(stack.boss.logs.some(byComponent('stubborn', 'sending SIGTERM'))).toBe(true);
    expect(stack.boss.logs.some(byComponent('stubborn', 'still running after SIGTERM: sending SIGKILL'))).toBe(true);
    await expectAllGone(pids);
  });

  it('restart_command: b10 restart starts a fresh process; core components and unknown names are refused', async () => {
    const stack = await boot({ echo: { process: fixture('echo'), address: 'Echo' } });
    const [before] = stack.pidsOf('echo');
    expect(await stack.b10('restart', 'echo')).toMatchObject({ code: 0 });
    await stack.boss.waitForLog((l) => l.component === 'echo' && l.msg === 'component ready' && stack.pidsOf('echo').length === 2, 'echo ready again');
    expect(stack.pidsOf('echo')[1]).not.toBe(before);
    expect(alive(before!)).toBe(false);
    expect(await stack.b10('restart', 'msgq')).toMatchObject({
      code: 1,
      stderr: 'b10: msgq is restarted only when it dies: every session would lose its connection',
    });
    expect(await stack.b10('restart', 'nope')).toMatchObject({ code: 1, stderr: 'b10: no component named nope' });
  });
});

describe('the component list is configuration', () => {
  it('add_and_remove: a component set in the Boss config starts; removed, it stops', async () => {
    const stack = await boot();
    const echo = JSON.stringify({ process: fixture('echo'), address: 'Echo' });
    expect(await stack.b10('config', 'set', 'Boss/components/echo', echo)).toMatchObject({ code: 0 });
    await stack.boss.waitForLog(byComponent('echo', 'component ready'), 'echo ready');
    expect(await stack.b10('send', 'Echo', 'echo', '{"text":"added"}')).toMatchObject({ stdout: '"added"\n' });
    const [pid] = stack.pidsOf('echo');
    expect(await stack.b10('config', 'unset', 'Boss/components/echo')).toMatchObject({ code: 0 });
    await stack.boss.waitForLog(byComponent('echo', 'component stopped'), 'echo stopped');
    expect(alive(pid!)).toBe(false);
    const rows = JSON.parse((await stack.b10('ps', '--json')).stdout) as { name: string }[];
    expect(rows.map((r) => r.name)).toEqual(['msgq', 'cfgmgr']);
  });

  it('bad_component: refused with the reason, nothing changes', async () => {
    const stack = await boot();
    const r = await stack.b10('config', 'set', 'Boss/components/x', '{"process": "not-a-program"}');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('unknown program "not-a-program"');
  });
});

describe('startup failures clean up', () => {
  it('never_registers: a needed component that never registers fails the start; nothing is left running', async () => {
    const dir = await tempDir();
    await writeBossConfig(dir, { silent: { process: fixture('silent'), address: 'Silent', kind: 'needed' } });
    const boss = start('boss/main.js', ['-m', '0', '-d', dir, '--ready-timeout', '500', '--stop-grace', '300']);
    expect((await boss.exited).code).toBe(1);
    const fatal = boss.logs.find((l) => l.level === 60 && l.component === undefined);
    expect(String(fatal?.msg)).toBe('b10 did not start: silent could not start: did not register as Silent within 500 ms');
    expect(startedPids(boss).length).toBe(3);
    await expectAllGone(startedPids(boss));
  });

  it('needed_crashes_at_start: fails the start', async () => {
    const dir = await tempDir();
    await writeBossConfig(dir, { crasher: { process: fixture('crasher'), address: 'Crasher', kind: 'needed' } });
    const boss = start('boss/main.js', ['-m', '0', '-d', dir]);
    expect((await boss.exited).code).toBe(1);
    expect(String(boss.logs.find((l) => l.level === 60 && l.component === undefined)?.msg)).toMatch(/crasher could not start: exited with code 1/);
    await expectAllGone(startedPids(boss));
  });

  it('corrupt_config: the config manager refuses it, the boss stops msgq and exits 1', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'b10-config.db'), '{"version": 2, "Bo');
    const boss = start('boss/main.js', ['-m', '0', '-d', dir]);
    expect((await boss.exited).code).toBe(1);
    expect(boss.logs.some((l) => l.component === 'cfgmgr' && /b10-config.db: configuration file is corrupt/.test(String(l.msg)))).toBe(true);
    expect(String(boss.logs.find((l) => l.level === 60 && l.component === undefined)?.msg)).toMatch(/the config manager exited/);
    await expectAllGone(startedPids(boss));
  });
});

describe('nothing outlives the boss', () => {
  it('boss_sigkilled: every child notices and exits, even one that ignores SIGTERM', async () => {
    const stack = await boot({
      echo: { process: fixture('echo'), address: 'Echo' },
      stubborn: { process: fixture('stubborn') },
    });
    const pids = stack.pids();
    expect(pids.length).toBe(4);
    stack.boss.child.kill('SIGKILL');
    await stack.boss.exited;
    await expectAllGone(pids);
  });
});
