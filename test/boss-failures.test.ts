import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { listenOn } from '../src/listen.js';
import { run, start, type LogLine, type Proc } from './helpers/processes.js';
import { alive, boot, byComponent, expectAllGone, fixture, startedPids, writeBossConfig, type Booted } from './helpers/stack.js';
import { tempDir } from './helpers/tmp.js';

interface Row {
  name: string;
  pid: number | null;
  state: string;
  restarts: number;
  reason: string | null;
}

async function ps(stack: Booted): Promise<Row[]> {
  return JSON.parse((await stack.b10('ps', '--json')).stdout) as Row[];
}

/** How the boss ended, once its last lines are read too. */
async function ended(boss: Proc): Promise<number | null> {
  const { code } = await boss.exited;
  await boss.drained;
  return code;
}

/** The boss's own last line: "b10 did not start: …". */
function lastWords(boss: Proc): string {
  return String(boss.logs.find((l) => l.level === 60 && l.component === undefined)?.msg);
}

/** Runs the real bind10 with these components until it exits (a start that must fail). */
async function failedStart(components: Record<string, object>, args: string[], dir?: string): Promise<Proc> {
  const dataPath = dir ?? (await tempDir());
  await writeBossConfig(dataPath, components);
  const boss = start('boss/main.js', ['-m', '0', '-d', dataPath, '--stop-grace', '300', ...args]);
  onTestFinished(() => boss.stop());
  expect(await ended(boss)).toBe(1);
  await expectAllGone(startedPids(boss));
  return boss;
}

/** Holds 127.0.0.1:port for TCP (and UDP when asked) until the test ends; resolves with the port. */
async function occupy(udp: boolean): Promise<number> {
  const tcp = net.createServer();
  await listenOn(tcp, { host: '127.0.0.1', port: 0 });
  onTestFinished(() => new Promise<void>((resolve) => tcp.close(() => resolve())));
  const { port } = tcp.address() as net.AddressInfo;
  if (udp) {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, '127.0.0.1', () => resolve());
    });
    onTestFinished(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  }
  return port;
}

const flaky = (params: string[], more: object = {}): object => ({ process: fixture('flaky'), address: 'Flaky', params, ...more });

describe('a needed component that ends while b10 starts', () => {
  it('registers_then_exits: restarted, and "b10 started" comes only once it runs again', async () => {
    const dir = await tempDir();
    const runs = path.join(dir, 'runs');
    const stack = await boot(
      {
        flaky: flaky(['--runs', runs, '--exit-runs', '1'], { kind: 'needed', priority: 10 }),
        // Still starting when flaky's first run ends: b10 is still starting then.
        slow: flaky(['--delay', '3000', '--module', 'Slow'], { address: 'Slow' }),
      },
      ['--restart-period', '200'],
    );
    const rows = await ps(stack);
    expect(rows.find((r) => r.name === 'flaky')).toMatchObject({ state: 'running', restarts: 1, reason: null });
    expect(stack.pidsOf('flaky').length).toBe(2);
    const logs = stack.boss.logs;
    const started = logs.findIndex((l) => l.msg === 'b10 started');
    const readyAgain = logs.findLastIndex(byComponent('flaky', 'component ready'));
    expect(readyAgain).toBeLessThan(started);
    expect(logs[started]).toMatchObject({ level: 30, components: ['msgq', 'cfgmgr', 'flaky', 'slow'] });
    expect(logs.find(byComponent('flaky', 'component exited'))).toMatchObject({ level: 50, cause: 'exited with code 1: run 1 registered and fails' });
  });

  it('keeps_exiting_after_registering: the start fails after 3 runs, naming the cause', async () => {
    const dir = await tempDir();
    const boss = await failedStart(
      {
        flaky: flaky(['--runs', path.join(dir, 'runs'), '--exit-runs', '1,2,3,4'], { kind: 'needed' }),
        // Never ready: b10 is still starting whenever flaky ends.
        silent: { process: fixture('silent'), address: 'Silent' },
      },
      ['--restart-period', '100', '--ready-timeout', '15000'],
      dir,
    );
    expect(lastWords(boss)).toBe('b10 did not start: flaky ended 3 times while b10 was starting, last: exited with code 1: run 3 registered and fails');
    expect(startedPids(boss, 'flaky').length).toBe(3);
  });
});

describe('start-up failures name their cause', () => {
  it('auth_port_taken: the last line names EADDRINUSE and the port', async () => {
    const port = await occupy(true);
    const boss = await failedStart({ auth: { process: 'b10-auth', kind: 'needed', address: 'Auth' } }, ['-p', String(port)]);
    expect(lastWords(boss)).toMatch(
      new RegExp(`^b10 did not start: auth could not start: exited with code 1: cannot start: cannot listen on 127\\.0\\.0\\.1:${port} \\((UDP|TCP)\\): .*EADDRINUSE`),
    );
  });

  it('uncaught_error: the JavaScript error a component died of is in the last line', async () => {
    const runs = path.join(await tempDir(), 'no-such-dir', 'runs');
    const boss = await failedStart({ flaky: flaky(['--runs', runs], { kind: 'needed' }) }, []);
    expect(lastWords(boss)).toBe(
      `b10 did not start: flaky could not start: exited with code 1: stopping on an error: ENOENT: no such file or directory, open '${runs}'`,
    );
  });

  it('data_path_under_proc: refused with the path and the error, no hang', async () => {
    // Node's recursive mkdir spins for ever on such a path; the boss makes one level at a time.
    const dataPath = `/proc/b10-test-${randomBytes(4).toString('hex')}/data`;
    const boss = start('boss/main.js', ['-m', '0', '-d', dataPath]);
    onTestFinished(() => boss.stop());
    expect(await ended(boss)).toBe(1);
    expect(lastWords(boss)).toMatch(new RegExp(`^b10 did not start: cannot make the data path ${dataPath}: E[A-Z]+: .*/proc/b10-test-`));
    expect(startedPids(boss)).toEqual([]);
  });

  it('data_path_under_a_file: refused with the path and ENOTDIR', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'file'), '');
    const dataPath = path.join(dir, 'file', 'data');
    const boss = start('boss/main.js', ['-m', '0', '-d', dataPath]);
    onTestFinished(() => boss.stop());
    expect(await ended(boss)).toBe(1);
    expect(lastWords(boss)).toMatch(new RegExp(`^b10 did not start: cannot make the data path ${dataPath}: ENOTDIR`));
  });

  it('config_file_unreadable: the last line names the file and the error the config manager logged', async () => {
    const dir = await tempDir();
    await mkdir(path.join(dir, 'b10-config.db'));
    const boss = start('boss/main.js', ['-m', '0', '-d', dir]);
    onTestFinished(() => boss.stop());
    expect(await ended(boss)).toBe(1);
    expect(lastWords(boss)).toBe(
      `b10 did not start: the config manager exited with code 1 while starting: cannot start: ${dir}/b10-config.db: ` +
        'cannot read the configuration: EISDIR: illegal operation on a directory, read',
    );
    await expectAllGone(startedPids(boss));
  });
});

describe('a dispensable component that cannot start', () => {
  it('cmdctl_port_taken: b10 starts without claiming cmdctl; the cause at error; b10 ps shows it down', async () => {
    const port = await occupy(false);
    const stack = await boot({ cmdctl: { process: 'b10-cmdctl', kind: 'dispensable', address: 'Cmdctl' } }, [
      '--cmdctl-port',
      String(port),
      '--restart-period',
      '60000',
    ]);
    const started = stack.boss.logs.find((l) => l.msg === 'b10 started')!;
    expect(started.level).toBe(40);
    expect(started.components).toEqual(['msgq', 'cfgmgr']);
    const cause = new RegExp(`^exited with code 1: cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`);
    expect((started.notRunning as Record<string, string>).cmdctl).toMatch(cause);
    const error = stack.boss.logs.find(byComponent('cmdctl', 'component could not start'));
    expect(error?.level).toBe(50);
    expect(String(error?.cause)).toMatch(cause);
    const row = (await ps(stack)).find((r) => r.name === 'cmdctl')!;
    expect(row).toMatchObject({ state: 'restarting', pid: null });
    expect(row.reason).toMatch(cause);
    const table = (await stack.b10('ps')).stdout;
    expect(table).toMatch(/^cmdctl\s+-\s+restarting \(in \d+(\.\d)?s\)\s+dispensable\s+0\s+-\s+Cmdctl\s+exited with code 1: cannot listen/m);
  });

  it('missing_program: an error naming the path; quick failures wait twice as long each time, up to --restart-max', async () => {
    const program = path.join(await tempDir(), 'no-such-program.js');
    const stack = await boot({ ghost: { process: program } }, ['--restart-period', '100', '--restart-max', '400']);
    const scheduled: LogLine[] = [];
    while (scheduled.length < 5) {
      const seen = scheduled.length;
      scheduled.push(
        await stack.boss.waitForLog((l) => byComponent('ghost', 'restart scheduled')(l) && !scheduled.includes(l), `restart ${seen + 1}`),
      );
    }
    expect(scheduled.map((l) => [l.interval, l.failures])).toEqual([
      [100, 1],
      [200, 2],
      [400, 3],
      [400, 4],
      [400, 5],
    ]);
    const errors = stack.boss.logs.filter(byComponent('ghost', 'component could not start'));
    expect(errors.length).toBeGreaterThanOrEqual(5);
    for (const l of errors) expect(l).toMatchObject({ level: 50, cause: `program ${program} does not exist` });
    expect(stack.pidsOf('ghost')).toEqual([]);
  });

  it('restart_max_below_period: a usage error', async () => {
    const r = await run('boss/main.js', ['--restart-period', '1000', '--restart-max', '500']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--restart-max (500) must be at least --restart-period (1000)');
  });
});

describe('b10 restart waits for the component', () => {
  it('returns_once_registered: the new process runs and is registered when b10 restart returns', async () => {
    const stack = await boot({ slow: flaky(['--delay', '1000', '--module', 'Slow'], { address: 'Slow' }) });
    const [before] = stack.pidsOf('slow');
    expect(await stack.b10('restart', 'slow')).toMatchObject({ code: 0, stderr: '' });
    const row = (await ps(stack)).find((r) => r.name === 'slow')!;
    expect(row).toMatchObject({ state: 'running', restarts: 1 });
    expect(row.pid).not.toBe(before);
    expect(alive(before!)).toBe(false);
  });

  it('fails_with_the_reason: a component that cannot start again makes b10 restart fail, saying why', async () => {
    const dir = await tempDir();
    const stack = await boot({ flaky: flaky(['--runs', path.join(dir, 'runs'), '--fail-runs', '2,3,4']) }, ['--restart-period', '60000']);
    expect(await stack.b10('restart', 'flaky')).toMatchObject({
      code: 1,
      stderr: 'b10: flaky did not start again: exited with code 1: run 2 refuses to start',
    });
    expect((await ps(stack)).find((r) => r.name === 'flaky')).toMatchObject({ state: 'restarting', restarts: 1 });
  });

  it('ready_timeout: a component slower than --ready-timeout makes b10 restart fail with a clear error', async () => {
    const stack = await boot({ slow: flaky(['--delay', '1500', '--module', 'Slow'], { address: 'Slow' }) });
    expect(await stack.b10('restart', 'slow', '--ready-timeout', '300')).toMatchObject({
      code: 1,
      stderr: 'b10: slow was not ready again within 300 ms (b10 ps shows its state)',
    });
  });
});

describe('log lines', () => {
  it('one_pid_key: the boss\'s pid is "pid" once; a component\'s is "componentPid"', async () => {
    const stack = await boot({ echo: { process: fixture('echo'), address: 'Echo' } });
    const [echoPid] = stack.pidsOf('echo');
    for (const line of stack.boss.stderrLines) expect(line.match(/"pid":/g)?.length ?? 0).toBeLessThanOrEqual(1);
    expect(stack.boss.logs.find(byComponent('echo', 'component started'))).toMatchObject({ pid: stack.boss.pid, componentPid: echoPid });
    expect(stack.boss.logs.find(byComponent('echo', 'echo component says hello'))).toMatchObject({ pid: stack.boss.pid });
    const forwarded = stack.boss.logs.find((l) => l.component === 'cfgmgr' && l.msg === 'config manager ready')!;
    expect(forwarded.pid).toBe(stack.boss.pid);
    expect(forwarded.componentPid).toBe(stack.pidsOf('cfgmgr')[0]);
  });

  it('stopping_once: each daemon logs "stopping" once, whether b10 shuts down or it gets SIGTERM', async () => {
    const stack = await boot(
      {
        xfrout: { process: 'b10-xfrout', address: 'Xfrout', priority: 20 },
        auth: { process: 'b10-auth', kind: 'needed', address: 'Auth', priority: 10 },
        xfrin: { process: 'b10-xfrin', address: 'Xfrin', priority: 5 },
        cmdctl: { process: 'b10-cmdctl', address: 'Cmdctl' },
      },
      ['-p', '0', '--cmdctl-port', '0', '--restart-period', '60000'],
    );
    const stopping = (component: string): LogLine[] =>
      stack.boss.logs.filter((l) => l.component === component && /stopping$/.test(String(l.msg)));
    const [xfrin] = stack.pidsOf('xfrin');
    process.kill(xfrin!, 'SIGTERM');
    await stack.boss.waitForLog(byComponent('xfrin', 'restart scheduled'), 'xfrin restart scheduled');
    expect(stopping('xfrin').map((l) => l.reason)).toEqual(['SIGTERM']);

    expect((await stack.b10('shutdown')).code).toBe(0);
    expect(await ended(stack.boss)).toBe(0);
    for (const component of ['xfrout', 'auth', 'cmdctl']) {
      expect(stopping(component).map((l) => l.reason)).toEqual(['shutdown command']);
    }
    expect(stopping('cfgmgr').length).toBe(1);
    expect(stopping('msgq').length).toBe(1);
  });
});
