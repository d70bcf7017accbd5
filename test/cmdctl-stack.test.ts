import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Accounts } from '../src/cmdctl/accounts.js';
import { CmdctlClient } from '../src/cmdctl/client.js';
import type { OperatorEvent } from '../src/cmdctl/events.js';
import { listenOn } from '../src/listen.js';
import { requireTool } from './helpers/debian.js';
import { DIST, freePort, run, start } from './helpers/processes.js';
import { screenRows } from './helpers/screen.js';
import { boot, byComponent, fixture, type Booted } from './helpers/stack.js';

const echo = { process: fixture('echo'), kind: 'dispensable', address: 'Echo', priority: 10 };
const cmdctl = { process: 'b10-cmdctl', kind: 'dispensable', address: 'Cmdctl', priority: 0 };
const PASSWORD = 'correct horse';

interface Gate {
  stack: Booted;
  url: string;
  /** `b10 ctl` with `input` on its stdin and the given extra environment. */
  ctl(args: string[], input?: string, env?: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** The real bind10 with the Echo fixture and cmdctl, cmdctl on a port picked by the OS, one account. */
async function stackWithCmdctl(args: string[] = ['--cmdctl-port', '0'], more: Record<string, object> = {}): Promise<Gate> {
  const stack = await boot({ echo, cmdctl }, args, more);
  await (await Accounts.load(stack.dir)).add('operator', PASSWORD);
  const port = (await stack.boss.waitForLog(byComponent('cmdctl', 'cmdctl listening'), 'cmdctl listening')).port as number;
  const url = `http://127.0.0.1:${port}`;
  return {
    stack,
    url,
    ctl: (ctlArgs, input = '', env = {}) =>
      run('src/cli/main.js', ['ctl', '--url', url, '-u', 'operator', '--history-file', `${stack.dir}/history`, ...ctlArgs], { input, env }),
  };
}

describe('cmdctl under the boss', () => {
  it('started_last_on_a_picked_port: --cmdctl-port 0 picks a port, logs it, and cmdctl starts after the other components', async () => {
    const { stack, url } = await stackWithCmdctl();
    const port = Number(new URL(url).port);
    expect(port).toBeGreaterThan(0);
    expect(port).not.toBe(8080);
    const started = stack.boss.logs.filter((l) => l.msg === 'component started').map((l) => l.component);
    expect(started.at(-1)).toBe('cmdctl');
    expect(started.indexOf('echo')).toBeLessThan(started.indexOf('cmdctl'));
  });

  it('component_events: a restart shows up as the component\'s state changes, pushed as they happen', async () => {
    const { url } = await stackWithCmdctl();
    const client = await CmdctlClient.login(url, 'operator', PASSWORD);
    onTestFinished(() => client.close());
    const states: string[] = [];
    const back = new Promise<void>((resolve) =>
      client.on('event', (event: OperatorEvent) => {
        if (event.event !== 'component' || event.name !== 'echo') return;
        states.push(event.state);
        if (event.state === 'running') resolve();
      }),
    );
    expect(await client.request({ events: true })).toEqual([0]);
    expect(await client.request({ module: 'Boss', command: 'restart', args: { name: 'echo' } })).toEqual([0, { name: 'echo', restarts: 1 }]);
    await back;
    expect(states).toEqual(['stopping', 'stopped', 'starting', 'running']);
  });

  it('config_moves_cmdctl: a new port in its config moves it; a non-loopback address without TLS is refused and nothing moves', async () => {
    const first = await freePort();
    const { stack, url } = await stackWithCmdctl([], { Cmdctl: { port: first } });
    expect(url).toBe(`http://127.0.0.1:${first}`);
    const refused = await stack.b10('config', 'set', 'Cmdctl/address', '"0.0.0.0"');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/Cmdctl refused the configuration: refusing to listen on 0\.0\.0\.0 without TLS/);
    const second = await freePort();
    const since = stack.boss.logs.length;
    expect((await stack.b10('config', 'set', 'Cmdctl/port', String(second))).code).toBe(0);
    await stack.boss.waitForLog((l) => l.component === 'cmdctl' && l.msg === 'cmdctl listening' && l.port === second, 'moved', since);
    const client = await CmdctlClient.login(`http://127.0.0.1:${second}`, 'operator', PASSWORD);
    client.close();
    await expect(CmdctlClient.login(url, 'operator', PASSWORD)).rejects.toThrow(/nothing listens there/);
  });

  it('port_move_with_socket_open: the new port listens before the old one closes, the open socket is kept; a taken port is refused and the current one kept', async () => {
    const { stack, url } = await stackWithCmdctl([], { Cmdctl: { port: 0 } });
    const client = await CmdctlClient.login(url, 'operator', PASSWORD);
    onTestFinished(() => client.close());
    const second = await freePort();
    const since = stack.boss.logs.length;
    expect((await stack.b10('config', 'set', 'Cmdctl/port', String(second))).code).toBe(0);
    await stack.boss.waitForLog((l) => l.component === 'cmdctl' && l.msg === 'cmdctl listening' && l.port === second, 'moved', since);
    const moved = await CmdctlClient.login(`http://127.0.0.1:${second}`, 'operator', PASSWORD);
    onTestFinished(() => moved.close());
    expect(await client.request({ module: 'Echo', command: 'echo', args: { text: 'kept' } })).toEqual([0, 'kept']);
    await expect(CmdctlClient.login(url, 'operator', PASSWORD)).rejects.toThrow(/nothing listens there/);

    const taken = net.createServer();
    await listenOn(taken, { port: 0, host: '127.0.0.1' });
    onTestFinished(() => void taken.close());
    const refused = await stack.b10('config', 'set', 'Cmdctl/port', String((taken.address() as net.AddressInfo).port));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/Cmdctl refused the configuration: cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
    expect((await stack.b10('config', 'show', 'Cmdctl/port')).stdout.trim()).toBe(String(second));
    const still = await CmdctlClient.login(`http://127.0.0.1:${second}`, 'operator', PASSWORD);
    still.close();
    expect(await moved.request({ module: 'Echo', command: 'echo', args: { text: 'still' } })).toEqual([0, 'still']);
  });
});

describe('b10 ctl', () => {
  it('one_line: -c prints the answer and exits with b10 send\'s codes', async () => {
    const { ctl } = await stackWithCmdctl();
    const env = { B10_PASSWORD: PASSWORD };
    const ok = await ctl(['-c', 'Echo echo text="hello there"'], '', env);
    expect(ok).toMatchObject({ code: 0, stdout: '"hello there"\n' });
    const rows = await ctl(['-c', 'Boss show_processes'], '', env);
    expect(rows.code).toBe(0);
    expect((JSON.parse(rows.stdout) as { name: string }[]).map((r) => r.name)).toEqual(['msgq', 'cfgmgr', 'echo', 'cmdctl']);
    expect(await ctl(['-c', 'Echo frobnicate'], '', env)).toMatchObject({ code: 1, stderr: 'b10: Unknown command: frobnicate' });
    expect(await ctl(['-c', 'Nobody hello'], '', env)).toMatchObject({ code: 3, stderr: 'b10: no module Nobody on the bus' });
    expect(await ctl(['-c', 'Echo echo text'], '', env)).toMatchObject({ code: 2, stderr: 'b10: "text": arguments are name=value, or one JSON map' });
    expect(await ctl(['-c', 'Echo echo'], '', { B10_PASSWORD: 'wrong' })).toMatchObject({ code: 1, stderr: 'b10: login refused: wrong user name or password' });
    const password = await ctl(['-c', 'Echo echo {"text": "from stdin"}'], `${PASSWORD}\n`);
    expect(password).toMatchObject({ code: 0, stdout: '"from stdin"\n' });
  });

  it('cmdctl_not_there: exit 3 naming the address', async () => {
    const port = await freePort();
    const proc = start('src/cli/main.js', ['ctl', '--url', `http://127.0.0.1:${port}`, '-u', 'operator', '-c', 'Boss ping'], { env: { B10_PASSWORD: 'x' } });
    onTestFinished(() => proc.stop());
    expect((await proc.exited).code).toBe(3);
    await proc.drained;
    expect(proc.stderrLines.join('\n')).toBe(`b10: cannot reach cmdctl at http://127.0.0.1:${port}: nothing listens there`);
  });

  it('shell_from_stdin: the password first, then one line after another; ends with the last failure\'s code', async () => {
    const { ctl } = await stackWithCmdctl();
    const script = [
      PASSWORD,
      'config set Echo/values {"a": 1}',
      'config show Echo/values',
      'Echo values',
      'config set Echo/values {"a": "one"}',
      '# a comment, and an empty line',
      '',
      'config spec Echo',
      'help',
      'quit',
      'Echo echo text=never',
    ].join('\n');
    const r = await ctl([], script);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('{\n  "a": 1\n}\n{"a":1}\n');
    expect(r.stdout).toContain('Echo\n\nConfiguration:\n  values: named_set = {}');
    expect(r.stdout).toMatch(/Modules and their commands:\n(.*\n)*  Echo: echo, values, shutdown/);
    expect(r.stdout).not.toContain('never');
    expect(r.stderr).toMatch(/^b10: Echo\/values\/a: expected integer/);
  });

  it('terminal: the password is not echoed, Tab completes from the specs, and the line goes into the history file', async () => {
    const { stack, url } = await stackWithCmdctl();
    const history = path.join(stack.dir, 'history');
    const term = await ctlAtTerminal(url, history);
    const typed = term.screen().length;
    // readline completes only on a Tab that ends what it reads at once (a paste does not complete), so one Tab per write.
    for (const [keys, completed] of [['Ech\t', 'Echo '], ['ec\t', 'echo '], ['te\t', 'text=']]) {
      const from = term.screen().length;
      term.keys(keys!);
      await term.until(completed!, from);
    }
    term.keys('"hi there"\r');
    await term.until('"hi there"', typed);
    term.keys('quit\r');
    expect(await term.exited).toBe(0);
    expect(term.screen()).not.toContain(PASSWORD);
    expect(term.screen().slice(typed)).toContain('Echo echo text="hi there"');
    expect(await readFile(history, 'utf8')).toBe('Echo echo text="hi there"\nquit\n');
  });

  it('event_at_the_prompt: an event is printed above the prompt, which comes back below it with the half-typed line; a closed connection is said on a line of its own', async () => {
    const { stack, url } = await stackWithCmdctl();
    const term = await ctlAtTerminal(url, path.join(stack.dir, 'history'));
    term.keys('events on\r');
    await term.prompted(term.screen().length);
    term.keys('Echo ');
    await term.until('Echo ');
    expect((await stack.b10('config', 'set', 'Echo/values', '{"a": 1}')).code).toBe(0);
    const event = '{"event":"config_update","module":"Echo","config":{"values":{"a":1}}}';
    await term.until(event);
    // Keys typed after the event echo after whatever the event wrote.
    term.keys('ech');
    await term.until('ech', term.screen().indexOf(event) + event.length);
    expect(screenRows(term.screen()).slice(-3)).toEqual(['b10> events on', event, 'b10> Echo ech']);

    // What was typed is still the line being edited, not only drawn again.
    term.keys('o text=kept\r');
    await term.until('"kept"');
    await term.prompted(term.screen().indexOf('"kept"'));
    expect(screenRows(term.screen()).slice(-3)).toEqual(['b10> Echo echo text=kept', '"kept"', 'b10> ']);

    const kept = term.screen().length;
    term.keys('Boss');
    await term.until('Boss', kept);
    expect((await run('src/cli/main.js', ['user', 'remove', 'operator', '-d', stack.dir])).code).toBe(0);
    expect(await term.exited).toBe(3);
    expect(screenRows(term.screen()).slice(-3)).toEqual([
      '"kept"',
      'b10: cmdctl closed the connection: the account was removed or its password changed',
      '',
    ]);
  });

  it('ctrl_c: drops the half-typed line and prompts again (it used to stop reading keys); at an empty prompt it leaves', async () => {
    const { stack, url } = await stackWithCmdctl();
    const history = path.join(stack.dir, 'history');
    const term = await ctlAtTerminal(url, history);
    term.keys('Echo echo text=dropped');
    await term.until('text=dropped');
    const from = term.screen().length;
    term.keys('\x03');
    await term.prompted(from);
    expect(screenRows(term.screen()).slice(-2)).toEqual(['b10> Echo echo text=dropped^C', 'b10> ']);
    term.keys('Echo echo text=next\r');
    await term.until('"next"');
    await term.prompted(term.screen().indexOf('"next"'));
    term.keys('\x03');
    expect(await term.exited).toBe(0);
    expect(term.screen()).not.toContain('"dropped"');
    expect(await readFile(history, 'utf8')).toBe('Echo echo text=next\n');
  });
});

interface Terminal {
  /** Everything written to the terminal so far, controls and all. */
  screen(): string;
  keys(text: string): void;
  /** Resolves once `text` shows after `from`; rejects if the terminal closes first. */
  until(text: string, from?: number): Promise<void>;
  /** Resolves once a prompt shows after `from`. */
  prompted(from: number): Promise<void>;
  exited: Promise<number>;
}

/** `b10 ctl` on a pseudo-terminal (util-linux's script relays our keys to it), logged in and at its first prompt. */
async function ctlAtTerminal(url: string, history: string): Promise<Terminal> {
  const ctl = [process.execPath, path.join(DIST, 'src/cli/main.js'), 'ctl', '--url', url, '-u', 'operator', '--history-file', history];
  const term = spawn(requireTool('script', 'bsdutils'), ['-qfec', ctl.map((a) => `'${a}'`).join(' '), '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  onTestFinished(() => void term.kill('SIGKILL'));
  let screen = '';
  term.stdout.setEncoding('utf8').on('data', (text: string) => (screen += text));
  const exited = once(term, 'exit').then(([code]) => code as number);
  const until = async (text: string, from = 0): Promise<void> => {
    while (!screen.includes(text, from)) {
      await Promise.race([once(term.stdout, 'data'), exited.then(() => Promise.reject(new Error(`the terminal closed before ${text}:\n${screen}`)))]);
    }
  };
  await until('Password: ');
  term.stdin.write(`${PASSWORD}\r`);
  await until('b10> ');
  return { screen: () => screen, keys: (text) => term.stdin.write(text), until, prompted: (from) => until('b10> ', from), exited };
}
