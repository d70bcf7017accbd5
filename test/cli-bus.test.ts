import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createAnswer, parseCommand } from '../protocol/message.js';
import { Session } from '../protocol/session.js';
import { freePort, ROOT, run, start, startMsgq, type MsgqHandle } from './helpers/processes.js';

let msgq: MsgqHandle;
let module: Session;

beforeAll(async () => {
  msgq = await startMsgq();
  // A module answering like a BIND 10 one: echo, fail, or stay silent.
  module = await Session.connect({ port: msgq.port });
  await module.subscribe('Tester');
  void (async () => {
    for await (const m of module) {
      const { name, args } = parseCommand(m.body);
      if (name === 'echo') module.reply(m.env, createAnswer(0, args));
      else if (name === 'ok') module.reply(m.env, createAnswer(0));
      else if (name === 'fail') module.reply(m.env, createAnswer(1, 'it broke'));
      else if (name !== 'silent') module.reply(m.env, createAnswer(1, `unknown command: ${name}`));
    }
  })();
});
afterAll(async () => {
  await module.close();
  await msgq.stop();
});

const b10 = (...args: string[]) => run('src/cli/main.js', args, { env: { B10_MSGQ_PORT: String(msgq.port) } });

describe('b10 send', () => {
  it('answer_value: printed as JSON, exit 0', async () => {
    const r = await b10('send', 'Tester', 'echo', '{"message":"hi","n":[1,2]}');
    expect(r).toMatchObject({ code: 0, stdout: '{"message":"hi","n":[1,2]}\n' });
  });

  it('answer_without_value: nothing printed, exit 0', async () => {
    expect(await b10('send', 'Tester', 'ok')).toMatchObject({ code: 0, stdout: '' });
  });

  it('error_answer: text on stderr, exit 1', async () => {
    const r = await b10('send', 'Tester', 'fail');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('b10: it broke');
    expect(r.stdout).toBe('');
  });

  it('bad_args_json: usage error, exit 2, nothing sent', async () => {
    const r = await b10('send', 'Tester', 'echo', '{not json');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ARGS_JSON is not valid JSON/);
  });

  it('missing_argument: usage error, exit 2', async () => {
    const r = await b10('send', 'Tester');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/missing required argument 'command'/);
  });

  it('bad_port: usage error, exit 2', async () => {
    expect((await b10('send', 'Tester', 'ok', '--msgq-port', '70000')).code).toBe(2);
  });

  it('no_recipient: exit 3', async () => {
    const r = await b10('send', 'NoSuchModule', 'ok');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/no recipient for group NoSuchModule/);
  });

  it('no_answer: exit 3 after --timeout', async () => {
    const r = await b10('send', 'Tester', 'silent', '--timeout', '200');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/timed out after 200 ms/);
  });

  it('bus_unreachable: exit 3 at once, saying msgq is not running where it looked', async () => {
    const port = await freePort();
    for (const cmd of [['send', 'Tester', 'ok'], ['ps'], ['config', 'show'], ['listen', 'G'], ['ping'], ['members']]) {
      const started = Date.now();
      const r = await run('src/cli/main.js', [...cmd, '--msgq-port', String(port), '--timeout', '10000']);
      expect(r).toMatchObject({ code: 3, stderr: `b10: msgq is not running on 127.0.0.1:${port}` });
      // Not retried for the answer timeout: one attempt, then the process exits.
      expect(Date.now() - started).toBeLessThan(5000);
    }
    const viaSocket = await run('src/cli/main.js', ['ping', '--msgq-socket-file', '/nonexistent/b10.sock']);
    expect(viaSocket).toMatchObject({ code: 3, stderr: 'b10: msgq is not running on /nonexistent/b10.sock' });
  });

  it('wait_for_the_bus: --wait keeps trying until msgq listens', async () => {
    const port = await freePort();
    const ping = start('src/cli/main.js', ['ping', '--msgq-port', String(port), '--wait', '15000']);
    onTestFinished(() => ping.stop());
    // Started once the command is surely retrying: its first attempt has failed.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const late = await startMsgq(['--port', String(port)]);
    onTestFinished(() => late.stop());
    expect((await ping.exited).code).toBe(0);
    expect(ping.stdout).toMatch(/^pong from msgq/);
  });

  it('version: every program answers --version with the package version, exit 0', async () => {
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const script of ['src/cli/main.js', 'msgq/main.js', 'src/cfgmgr/main.js', 'boss/main.js']) {
      expect(await run(script, ['--version'])).toMatchObject({ code: 0, stdout: `${version}\n` });
    }
  });

  it('direct_to: --to reaches one lname', async () => {
    const r = await b10('send', 'Anything', 'echo', '"direct"', '--to', module.lname);
    expect(r).toMatchObject({ code: 0, stdout: '"direct"\n' });
  });

  it('help: every command has --help, exit 0', async () => {
    for (const cmd of [[], ['send'], ['listen'], ['members'], ['ping']]) {
      const r = await b10(...cmd, '--help');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Usage: b10/);
    }
  });

  it('bins_run_by_path: every command in package.json runs as npx runs it, not only through node', async () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    for (const [name, file] of Object.entries(pkg.bin)) {
      const child = spawn(path.join(ROOT, file), ['--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
      // A file without its execute bit fails here with EACCES.
      const [code] = (await once(child, 'exit')) as [number];
      expect(code, name).toBe(0);
      expect(stdout, name).toMatch(new RegExp(`^Usage: ${name}`));
    }
  });
});

describe('b10 members and ping', () => {
  it('members: JSON array of lnames, optionally of one group', async () => {
    const all = await b10('members');
    expect(all.code).toBe(0);
    expect(JSON.parse(all.stdout)).toContain(module.lname);
    const group = await b10('members', 'Tester');
    expect(JSON.parse(group.stdout)).toEqual([module.lname]);
  });

  it('ping: exit 0 with a round-trip time', async () => {
    const r = await b10('ping');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^pong from msgq in \d+\.\d+ ms/);
  });
});

describe('b10 listen', () => {
  it('prints_each_message_as_a_json_line and exits 0 on SIGINT', async () => {
    const listen = start('src/cli/main.js', ['listen', 'Radio'], { env: { B10_MSGQ_PORT: String(msgq.port) } });
    onTestFinished(() => listen.stop());
    await listen.waitForLog((l) => String(l.msg).startsWith('b10: listening to Radio/*'));
    module.send('Radio', { song: 1 });
    module.send('Radio', 'two', { instance: 'fm' });
    while (listen.stdout.split('\n').length < 3) await new Promise((r) => listen.child.stdout!.once('data', r));
    const lines = listen.stdout.trim().split('\n').map((l) => JSON.parse(l) as { env: Record<string, unknown>; body: unknown });
    expect(lines[0]).toMatchObject({ env: { group: 'Radio', from: module.lname }, body: { song: 1 } });
    expect(lines[1]).toMatchObject({ env: { instance: 'fm' }, body: 'two' });
    listen.child.kill('SIGINT');
    expect((await listen.exited).code).toBe(0);
  });

  it('bus_gone: with --reconnect-window 0, exits 3 when msgq goes away', async () => {
    const own = await startMsgq();
    const listen = start('src/cli/main.js', ['listen', 'Radio', '-m', String(own.port), '--reconnect-window', '0']);
    onTestFinished(() => listen.stop());
    await listen.waitForLog((l) => String(l.msg).startsWith('b10: listening'));
    await own.stop();
    expect((await listen.exited).code).toBe(3);
    expect(listen.stderrLines.join('\n')).toMatch(/msgq closed the connection/);
  });

  it('bus_gone_for_good: exits 3 once msgq has not come back within the window', async () => {
    const own = await startMsgq();
    const listen = start('src/cli/main.js', ['listen', 'Radio', '-m', String(own.port), '--reconnect-window', '300']);
    onTestFinished(() => listen.stop());
    await listen.waitForLog((l) => String(l.msg).startsWith('b10: listening'));
    own.proc.child.kill('SIGKILL');
    expect((await listen.exited).code).toBe(3);
    expect(listen.stderrLines.join('\n')).toMatch(/did not come back within 300 ms/);
  });

  it('msgq_restarted: listen reconnects, says so, and goes on printing', async () => {
    const own = await startMsgq();
    const listen = start('src/cli/main.js', ['listen', 'Radio', '-m', String(own.port)]);
    onTestFinished(() => listen.stop());
    await listen.waitForLog((l) => String(l.msg).startsWith('b10: listening'));
    own.proc.child.kill('SIGKILL');
    await listen.waitForLog((l) => String(l.msg).startsWith('b10: lost msgq'));
    const again = await startMsgq(['--port', String(own.port)]);
    onTestFinished(() => again.stop());
    await listen.waitForLog((l) => /^b10: reconnected after \d+ ms, listening to Radio\/\*/.test(String(l.msg)));
    const dj = await Session.connect({ port: own.port });
    onTestFinished(() => dj.close());
    dj.send('Radio', 'after the restart');
    await listen.waitForStdout('after the restart');
    expect(JSON.parse(listen.stdout.trim())).toMatchObject({ env: { group: 'Radio', from: dj.lname }, body: 'after the restart' });
  });
});
