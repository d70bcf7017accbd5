import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createAnswer, parseCommand } from '../protocol/message.js';
import { Session } from '../protocol/session.js';
import { run, start, startMsgq, type MsgqHandle } from './helpers/processes.js';
import { RawClient } from './helpers/raw.js';
import { boot, byComponent } from './helpers/stack.js';
import { tempDir } from './helpers/tmp.js';

async function msgqWithSocket(file: string, args: string[] = []): Promise<MsgqHandle> {
  const msgq = await startMsgq(['--socket-file', file, ...args]);
  onTestFinished(() => msgq.stop());
  return msgq;
}

async function socketPath(): Promise<string> {
  return path.join(await tempDir(), 'msgq.sock');
}

describe('msgq on a Unix socket file', () => {
  it('python_style_json_over_unix_socket: a JSON AF_UNIX client and a CBOR TCP client exchange commands and answers', async () => {
    const file = await socketPath();
    const msgq = await msgqWithSocket(file);
    // Speaks as BIND 10's isc.cc.Session did from mid-2010: JSON, over AF_UNIX only.
    const py = await RawClient.open({ path: file }, 'json');
    onTestFinished(() => py.close());
    const ts = await Session.connect({ port: msgq.port });
    onTestFinished(() => ts.close());
    await ts.subscribe('Xfrin');
    void (async () => {
      for await (const m of ts) ts.reply(m.env, createAnswer(0, { got: parseCommand(m.body).args }));
    })();

    py.send(
      { type: 'send', from: py.lname, to: '*', group: 'Xfrin', instance: '*', seq: 2, want_answer: true },
      { command: ['retransfer', { zone_name: 'example.org.' }] },
    );
    const answer = await py.next();
    expect(answer.raw.subarray(6).toString('utf8').startsWith('{')).toBe(true);
    expect(answer.header).toMatchObject({ from: ts.lname, to: py.lname, reply: 2 });
    expect(answer.body).toEqual({ result: [0, { got: { zone_name: 'example.org.' } }] });

    // And the other way: a CBOR command answered by the JSON module.
    await py.subscribe('Auth');
    const asking = ts.command('Auth', 'loadzone', { origin: 'example.org.' });
    const command = await py.next();
    expect(command.body).toEqual({ command: ['loadzone', { origin: 'example.org.' }] });
    const env = command.header;
    py.send({ type: 'send', from: py.lname, to: env.from, group: 'Auth', instance: '*', seq: 3, reply: env.seq }, { result: [0, 'loaded'] });
    expect(await asking).toBe('loaded');
  });

  it('session_and_cli_through_the_socket: Session socketFile and b10 --msgq-socket-file', async () => {
    const file = await socketPath();
    await msgqWithSocket(file);
    const session = await Session.connect({ socketFile: file });
    onTestFinished(() => session.close());
    expect(session.address).toBe(file);
    expect(await session.ping('via the socket')).toBe('via the socket');
    expect(await run('src/cli/main.js', ['ping', '--msgq-socket-file', file])).toMatchObject({ code: 0 });
    expect(await run('src/cli/main.js', ['members'], { env: { B10_MSGQ_SOCKET_FILE: file } })).toMatchObject({ code: 0 });
  });

  it('stale_socket_file: one left by a killed msgq is replaced', async () => {
    const file = await socketPath();
    const first = await startMsgq(['--socket-file', file]);
    first.proc.child.kill('SIGKILL');
    await first.proc.exited;
    expect(existsSync(file)).toBe(true);
    await msgqWithSocket(file);
    const client = await RawClient.open({ path: file });
    onTestFinished(() => client.close());
    expect(client.lname).toMatch(/@/);
  });

  it('live_socket_file: refused with a clear error while its msgq answers; that msgq carries on', async () => {
    const file = await socketPath();
    await msgqWithSocket(file);
    const second = start('msgq/main.js', ['--port', '0', '--socket-file', file]);
    expect((await second.exited).code).toBe(1);
    expect(second.logs.find((l) => l.level === 60)?.msg).toBe(`cannot listen on ${file}: msgq already running on socket ${file}`);
    const client = await RawClient.open({ path: file });
    onTestFinished(() => client.close());
    await client.roundTrip();
  });

  it('not_a_socket: a regular file is neither used nor deleted', async () => {
    const file = await socketPath();
    writeFileSync(file, 'precious');
    const msgq = start('msgq/main.js', ['--port', '0'], { env: { B10_MSGQ_SOCKET_FILE: file } });
    expect((await msgq.exited).code).toBe(1);
    expect(String(msgq.logs.find((l) => l.level === 60)?.msg)).toMatch(/exists and is not a socket/);
    expect(readFileSync(file, 'utf8')).toBe('precious');
  });

  it('clean_stop: the socket file is removed', async () => {
    const file = await socketPath();
    const msgq = await msgqWithSocket(file);
    await msgq.stop();
    expect(existsSync(file)).toBe(false);
  });
});

describe('bind10 --msgq-socket-file', () => {
  it('passed_on: modules and tools reach the bus through it, also after msgq is restarted', async () => {
    const file = await socketPath();
    const stack = await boot({}, ['--msgq-socket-file', file]);
    const viaSocket = (...args: string[]) => run('src/cli/main.js', [...args, '--msgq-socket-file', file]);
    expect(await viaSocket('send', 'Boss', 'ping')).toMatchObject({ code: 0, stdout: '"pong"\n' });
    // The components are told where it is, under b10's name and under the one BIND 10's Python modules read.
    const environ = readFileSync(`/proc/${stack.pidsOf('cfgmgr')[0]}/environ`, 'utf8').split('\0');
    expect(environ).toEqual(expect.arrayContaining([`B10_MSGQ_SOCKET_FILE=${file}`, `BIND10_MSGQ_SOCKET_FILE=${file}`]));

    const mark = stack.boss.logs.length;
    process.kill(stack.pidsOf('msgq')[0]!, 'SIGKILL');
    await stack.boss.waitForLog((l) => l.msg === 'msgq restarted', 'msgq restarted', mark);
    expect(await viaSocket('config', 'show', 'Boss', '--wait', '5000')).toMatchObject({ code: 0 });
    expect(stack.boss.logs.some(byComponent('msgq', 'msgq listening'))).toBe(true);
  });
});
