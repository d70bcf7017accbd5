import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createAnswer, parseCommand } from '../protocol/message.js';
import { Session } from '../protocol/session.js';
import { ROOT, run, start, startMsgq, type MsgqHandle } from './helpers/processes.js';

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

  it('bus_unreachable: exit 3 with the address', async () => {
    const r = await run('src/cli/main.js', ['send', 'Tester', 'ok', '--msgq-port', '1', '--timeout', '100']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/cannot reach msgq at 127.0.0.1:1/);
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

  it('bus_gone: exits 3 when msgq goes away', async () => {
    const own = await startMsgq();
    const listen = start('src/cli/main.js', ['listen', 'Radio', '-m', String(own.port)]);
    onTestFinished(() => listen.stop());
    await listen.waitForLog((l) => String(l.msg).startsWith('b10: listening'));
    await own.stop();
    expect((await listen.exited).code).toBe(3);
    expect(listen.stderrLines.join('\n')).toMatch(/msgq closed the connection/);
  });
});
