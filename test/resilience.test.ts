import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, onTestFinished } from 'vitest';
import { NoRecipientError } from '../protocol/errors.js';
import { CONFIG_MANAGER } from '../protocol/groups.js';
import { Session, type SessionOptions } from '../protocol/session.js';
import { alive, boot, byComponent, expectAllGone, fixture, type Booted } from './helpers/stack.js';
import { tempDir } from './helpers/tmp.js';

const echo = { echo: { process: fixture('echo'), address: 'Echo', kind: 'dispensable' } };

function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** The newest pid the boss started for a component. */
function current(stack: Booted, component: string): number {
  return stack.pidsOf(component).at(-1)!;
}

/** Waits until `count()` is `want`, for descriptors that close a moment after the event that ends their use. */
async function settlesAt(count: () => number, want: number): Promise<number> {
  const deadline = Date.now() + 5000;
  while (count() !== want && Date.now() < deadline) await sleep(20);
  return count();
}

async function session(stack: Booted, options: SessionOptions = {}): Promise<Session> {
  const s = await Session.connect({ port: stack.port, tokenFile: stack.tokenFile, ...options });
  onTestFinished(() => s.close());
  return s;
}

describe('the config manager is restartable', () => {
  it('cfgmgr_killed_20_times: the stack stays up and every acknowledged value is kept', { timeout: 90_000 }, async () => {
    const period = 300;
    const stack = await boot(echo, ['--restart-period', String(period)]);
    const echoPid = current(stack, 'echo');
    // A write in flight when cfgmgr dies gets no answer: give up on it soon, as a script would.
    const writer = await session(stack, { timeout: 500 });
    const acked: string[] = [];
    let refused = 0;
    let writing = true;
    const writes = (async () => {
      for (let n = 0; writing; n++) {
        const key = `k${n}`;
        try {
          await writer.command(CONFIG_MANAGER, 'set_config', ['Echo', { values: { [key]: n } }]);
          acked.push(key);
        } catch {
          // Down or going down: not acknowledged, so not counted. Paced so a
          // refused write does not spin.
          refused++;
          await sleep(5);
        }
      }
    })();

    for (let kill = 0; kill < 20; kill++) {
      // A healthy run (the restart period, and one acknowledged write) before each kill,
      // so each restart is immediate, as the schedule has it for healthy runs.
      const ackedBefore = acked.length;
      const since = Date.now();
      while (acked.length === ackedBefore || Date.now() - since < period + 50) await sleep(10);
      const mark = stack.boss.logs.length;
      process.kill(current(stack, 'cfgmgr'), 'SIGKILL');
      await stack.boss.waitForLog((l) => l.component === 'cfgmgr' && l.msg === 'component ready', 'cfgmgr ready again', mark);
    }
    writing = false;
    await writes;

    expect(stack.pidsOf('cfgmgr').length).toBe(21);
    expect(refused).toBeGreaterThan(0);
    const stored = JSON.parse((await stack.b10('config', 'show', 'Echo/values')).stdout) as Record<string, number>;
    expect(acked.filter((k) => !(k in stored))).toEqual([]);
    // The module ran on through all of it, and holds the same values.
    expect(alive(echoPid)).toBe(true);
    expect(current(stack, 'echo')).toBe(echoPid);
    const held = JSON.parse((await stack.b10('send', 'Echo', 'values')).stdout) as Record<string, number>;
    expect(acked.filter((k) => !(k in held))).toEqual([]);
  });

  it('cfgmgr_down: b10 config says so with exit 3; modules keep their last configuration', async () => {
    // A quick failure waits a whole period before its restart: long enough to look.
    const stack = await boot(echo, ['--restart-period', '60000']);
    expect((await stack.b10('config', 'set', 'Echo/values/kept', '7')).code).toBe(0);
    process.kill(current(stack, 'cfgmgr'), 'SIGKILL');
    await stack.boss.waitForLog(byComponent('cfgmgr', 'restart scheduled'), 'cfgmgr restart scheduled');
    for (const args of [['config', 'show'], ['config', 'set', 'Echo/values/lost', '1'], ['config', 'spec', 'Echo']]) {
      expect(await stack.b10(...args)).toMatchObject({
        code: 3,
        stderr: 'b10: the config manager is not running (the boss restarts it; try again shortly)',
      });
    }
    expect(await stack.b10('send', 'Echo', 'values')).toMatchObject({ code: 0, stdout: '{"kept":7}\n' });
    const ps = JSON.parse((await stack.b10('ps', '--json')).stdout) as { name: string; state: string }[];
    expect(ps.find((r) => r.name === 'cfgmgr')?.state).toBe('restarting');
    // `b10 restart` brings it back now rather than at the scheduled time.
    expect((await stack.b10('restart', 'cfgmgr')).code).toBe(0);
    await stack.boss.waitForLog((l) => l.component === 'cfgmgr' && l.msg === 'component ready', 'cfgmgr ready');
    expect(JSON.parse((await stack.b10('config', 'show', 'Echo/values')).stdout)).toEqual({ kept: 7 });
  });
});

describe('msgq is restarted', () => {
  it('msgq_killed_20_times: the stack answers again each time; nothing leaks, nothing is left', { timeout: 120_000 }, async () => {
    const stack = await boot(echo);
    const bossFds = fdCount(stack.boss.pid);
    const cfgmgrPid = current(stack, 'cfgmgr');
    const cfgmgrFds = fdCount(cfgmgrPid);
    const listener = await session(stack);
    const talker = await session(stack);
    await listener.subscribe('Traffic');

    for (let kill = 0; kill < 20; kill++) {
      const mark = stack.boss.logs.length;
      process.kill(current(stack, 'msgq'), 'SIGKILL');
      await stack.boss.waitForLog((l) => l.msg === 'msgq restarted', 'msgq restarted', mark);
      const [ps, show, send] = await Promise.all([
        stack.b10('ps', '--json', '--wait', '5000'),
        stack.b10('config', 'show', '--wait', '5000'),
        stack.b10('send', 'Echo', 'echo', `{"text":"round ${kill}"}`, '--wait', '5000'),
      ]);
      expect(ps.code, ps.stderr).toBe(0);
      expect((JSON.parse(ps.stdout) as { name: string; restarts: number }[]).find((r) => r.name === 'msgq')?.restarts).toBe(kill + 1);
      expect(show.code, show.stderr).toBe(0);
      expect(JSON.parse(show.stdout)).toHaveProperty('Echo');
      expect(send, send.stderr).toMatchObject({ code: 0, stdout: `"round ${kill}"\n` });
      // In-process sessions came back with their subscriptions: traffic flows again.
      await talker.flush();
      talker.send('Traffic', kill);
      let got: unknown;
      do got = (await listener.recv({ timeout: 5000 })).body;
      while (got !== kill);
    }

    expect(current(stack, 'cfgmgr')).toBe(cfgmgrPid);
    // A leak would show as more: sockets, pipes of dead msgqs. (At boot a descriptor or two may
    // still be on its way out, so fewer is no failure.)
    expect(await settlesAt(() => fdCount(stack.boss.pid), bossFds)).toBeLessThanOrEqual(bossFds);
    expect(await settlesAt(() => fdCount(cfgmgrPid), cfgmgrFds)).toBeLessThanOrEqual(cfgmgrFds);

    const pids = stack.pids();
    expect(pids.length).toBe(3 + 20);
    expect((await stack.b10('shutdown')).code).toBe(0);
    expect((await stack.boss.exited).code).toBe(0);
    await expectAllGone(pids);
  });

  it('msgq_port_taken: the boss cannot bring msgq back, stops everything and exits 1', async () => {
    const stack = await boot(echo);
    const pids = stack.pids();
    const squatter = net.createServer();
    onTestFinished(() => void squatter.close());
    process.kill(current(stack, 'msgq'), 'SIGKILL');
    // Take the port the moment the dead msgq frees it, before the boss's new msgq can.
    for (;;) {
      const taken = await new Promise<boolean>((resolve) => {
        squatter.once('error', () => resolve(false));
        squatter.listen(stack.port, '127.0.0.1', () => resolve(true));
      });
      if (taken) break;
      await sleep(1);
    }
    expect((await stack.boss.exited).code).toBe(1);
    expect(stack.boss.logs.some((l) => /^b10 shutting down$/.test(String(l.msg)) && /msgq cannot be restarted: .*in use/.test(String(l.reason)))).toBe(true);
    await expectAllGone(pids);
  });

  it('msgq_fails_to_start: three failed starts within 30 s stop b10 with exit 1', async () => {
    const socketFile = path.join(await tempDir(), 'msgq.sock');
    const stack = await boot(echo, ['--msgq-socket-file', socketFile]);
    const pids = stack.pids();
    // A regular file where the socket was: no new msgq may take that path, so each start fails.
    rmSync(socketFile);
    writeFileSync(socketFile, 'not a socket');
    process.kill(current(stack, 'msgq'), 'SIGKILL');
    expect((await stack.boss.exited).code).toBe(1);
    const failures = stack.boss.logs.filter((l) => l.msg === 'msgq did not start');
    expect(failures.map((l) => l.failures)).toEqual([1, 2, 3]);
    expect(String(failures[0]!.why)).toContain('exists and is not a socket');
    expect(stack.boss.logs.some((l) => /3 failed starts within 30 s/.test(String(l.reason)))).toBe(true);
    await expectAllGone([...pids, ...stack.pids()]);
  });
});

describe('sessions that cannot reach the config manager', () => {
  it('no_recipient_is_not_a_hang: a module on a bus without cfgmgr runs on defaults', async () => {
    const stack = await boot(echo);
    const s = await session(stack);
    process.kill(current(stack, 'cfgmgr'), 'SIGKILL');
    await stack.boss.waitForLog(byComponent('cfgmgr', 'component exited'), 'cfgmgr exited');
    await expect(s.command(CONFIG_MANAGER, 'get_config')).rejects.toBeInstanceOf(NoRecipientError);
  });
});
