import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { AuthError } from '../protocol/errors.js';
import { Session } from '../protocol/session.js';
import { createToken } from '../protocol/token.js';
import { run, start, startMsgq, type MsgqHandle } from './helpers/processes.js';
import { RawClient, frame } from './helpers/raw.js';
import { boot } from './helpers/stack.js';
import { tempDir } from './helpers/tmp.js';

let msgq: MsgqHandle;
let watcher: Session;
/** cc_members as seen by a client that holds the token: who joined the bus. */
const joined: string[] = [];

beforeAll(async () => {
  msgq = await startMsgq(['--allow-stop', '--max-clients-per-address', '200']);
  watcher = await Session.connect({ port: msgq.port });
  await watcher.subscribe('cc_members');
  void (async () => {
    for await (const m of watcher) {
      const [event, params] = (m.body as { notification: [string, { client: string }] }).notification;
      if (event === 'connected') joined.push(params.client);
    }
  })().catch(() => {});
});
afterAll(async () => {
  await watcher?.close();
  await msgq?.stop();
});

/** A client that holds the token, subscribed to `group`. */
async function listener(group: string): Promise<Session> {
  const s = await Session.connect({ port: msgq.port });
  onTestFinished(() => s.close());
  await s.subscribe(group);
  return s;
}

describe('msgq admits a TCP client only with the bus token', () => {
  it('no_auth_frame_nothing_routed: frames before the token are not routed, the client is told why and closed', async () => {
    const target = await listener('Target');
    const members = joined.length;
    const stranger = await RawClient.connect(msgq.port, 'cbor', { token: false });
    onTestFinished(() => stranger.close());
    stranger.send({ type: 'subscribe', group: 'Target', instance: '*' });
    stranger.send({ type: 'send', from: 'x', to: '*', group: 'Target', instance: '*', seq: 1 }, { command: ['shutdown'] });
    stranger.send({ type: 'stop' });
    const answer = await stranger.next(3000);
    expect(answer.header).toEqual({ type: 'auth', error: 'the first message must be {type: "auth", token}' });
    await stranger.closed;
    // Nothing reached the group, nobody new joined the bus, and msgq (started with --allow-stop) still runs.
    await expect(target.recv({ timeout: 300 })).rejects.toThrow(/timed out/);
    expect(joined.length).toBe(members);
    expect(await target.ping('still here')).toBe('still here');
  });

  it('wrong_token: refused with the reason and closed; a Session says so with AuthError', async () => {
    const guess = await RawClient.connect(msgq.port, 'cbor', { token: createToken() });
    onTestFinished(() => guess.close());
    guess.send({ type: 'getlname' });
    expect((await guess.next(3000)).header).toEqual({ type: 'auth', error: 'wrong bus token' });
    await guess.closed;
    const refused = Session.connect({ port: msgq.port, token: createToken(), reconnect: false });
    await expect(refused).rejects.toThrow(AuthError);
    await expect(refused).rejects.toThrow(/refused this client: wrong bus token/);
  });

  it('oversized_first_frame: a first frame too large to be an auth frame is refused unread', async () => {
    const big = await RawClient.connect(msgq.port, 'cbor', { token: false });
    onTestFinished(() => big.close());
    big.write(Buffer.from([0x00, 0xff, 0xff, 0xff]));
    expect(String((await big.next(3000)).header.error)).toMatch(/not an auth frame/);
    await big.closed;
  });

  it('pipelined_after_auth: frames sent with the auth frame in one write are routed', async () => {
    const target = await listener('Piped');
    const socket = net.connect({ port: msgq.port, host: '127.0.0.1' });
    socket.on('error', () => {});
    onTestFinished(() => {
      socket.destroy();
    });
    await new Promise((resolve) => socket.once('connect', resolve));
    const token = readFileSync(process.env.B10_MSGQ_TOKEN_FILE!, 'utf8').trim();
    socket.write(
      Buffer.concat([
        frame({ type: 'auth', token }),
        frame({ type: 'send', from: 'x', to: '*', group: 'Piped', instance: '*', seq: 1 }, { hello: 1 }),
      ]),
    );
    expect((await target.recv({ timeout: 2000 })).body).toEqual({ hello: 1 });
  });

  it('json_auth: a JSON auth frame makes a JSON connection', async () => {
    const client = await RawClient.open(msgq.port, 'json');
    onTestFinished(() => client.close());
    expect(client.lname).toMatch(/@/);
    await client.subscribe('Json');
    const sender = await listener('Other');
    sender.send('Json', { via: 'cbor' });
    const got = await client.next();
    expect(got.raw.subarray(6, 7).toString()).toBe('{');
    expect(got.body).toEqual({ via: 'cbor' });
  });

  it('idle_flood: 100 connections that never authenticate do not keep a real client off the bus', async () => {
    const idle = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const socket = net.connect({ port: msgq.port, host: '127.0.0.1' });
        socket.on('error', () => {});
        await new Promise((resolve) => socket.once('connect', resolve));
        return socket;
      }),
    );
    onTestFinished(() => {
      for (const socket of idle) socket.destroy();
    });
    const s = await Session.connect({ port: msgq.port });
    onTestFinished(() => s.close());
    expect(await s.ping('in')).toBe('in');
    // The oldest waiting connections made way: no more than 64 wait at once.
    await new Promise((resolve) => setImmediate(resolve));
    const open = (): number => idle.filter((socket) => !socket.destroyed && socket.readyState === 'open').length;
    await expect.poll(open, { timeout: 3000 }).toBeLessThanOrEqual(64);
  });
});

describe('connection limits', () => {
  it('max_clients: a connection past the limit is closed at once; the others carry on', async () => {
    const own = await startMsgq(['--max-clients', '3']);
    onTestFinished(() => own.stop());
    const sessions = await Promise.all([1, 2, 3].map(() => Session.connect({ port: own.port })));
    onTestFinished(async () => {
      await Promise.all(sessions.map((s) => s.close()));
    });
    await expect(Session.connect({ port: own.port, reconnect: false, timeout: 2000 })).rejects.toThrow(/lost before it told the lname/);
    expect(await sessions[0]!.ping(1)).toBe(1);
    const line = await own.proc.waitForLog((l) => /^connection closed: 3 clients already/.test(String(l.msg)), 'turned away');
    expect(line.level).toBe(40);
    await sessions[2]!.close();
    await expect.poll(async () => (await Session.connect({ port: own.port }).then((s) => s.close().then(() => true), () => false)), { timeout: 3000 }).toBe(true);
  });

  it('max_clients_per_address: loopback has its own cap', async () => {
    const own = await startMsgq(['--max-clients-per-address', '2']);
    onTestFinished(() => own.stop());
    const sessions = await Promise.all([1, 2].map(() => Session.connect({ port: own.port })));
    onTestFinished(async () => {
      await Promise.all(sessions.map((s) => s.close()));
    });
    await expect(Session.connect({ port: own.port, reconnect: false, timeout: 2000 })).rejects.toThrow(/lost before it told the lname/);
    await own.proc.waitForLog((l) => /2 clients from 127\.0\.0\.1 already/.test(String(l.msg)), 'turned away');
  });
});

describe('msgq refuses what would open the bus', () => {
  it('remote_address_refused: a non-loopback address needs --allow-remote', async () => {
    const refused = await run('msgq/main.js', ['--port', '0', '-a', '0.0.0.0']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/refusing to listen on 0\.0\.0\.0: the bus would be reachable from other hosts \(give --allow-remote to mean it\)/);
    const allowed = start('msgq/main.js', ['--port', '0', '-a', '0.0.0.0', '--allow-remote', '--token-file', process.env.B10_MSGQ_TOKEN_FILE!]);
    onTestFinished(() => allowed.stop());
    const port = (await allowed.waitForLog((l) => l.msg === 'msgq listening', 'listening')).port as number;
    // Reachable from anywhere now, and still only with the token.
    const stranger = await RawClient.connect(port, 'cbor', { token: false });
    stranger.send({ type: 'getlname' });
    expect((await stranger.next(3000)).header.type).toBe('auth');
    expect(await run('src/cli/main.js', ['ping', '-m', String(port)])).toMatchObject({ code: 0 });
  });

  it('token_file_readable_by_others: msgq will not use it', async () => {
    const file = path.join(await tempDir(), 'msgq.token');
    writeFileSync(file, `${createToken()}\n`, { mode: 0o644 });
    const result = await run('msgq/main.js', ['--port', '0', '--token-file', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${file} can be read by other users (mode 0644): make it 0600`);
  });

  it('token_file_created: a msgq started alone makes its token, mode 0600 in an owner-only directory', async () => {
    const dir = path.join(await tempDir(), 'data');
    const own = start('msgq/main.js', ['--port', '0', '-d', dir]);
    onTestFinished(() => own.stop());
    const port = (await own.waitForLog((l) => l.msg === 'msgq listening', 'listening')).port as number;
    const file = path.join(dir, 'msgq.token');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(await run('src/cli/main.js', ['ping', '-m', String(port), '-d', dir])).toMatchObject({ code: 0 });
    const wrongDir = await run('src/cli/main.js', ['ping', '-m', String(port), '-d', await tempDir()]);
    expect(wrongDir.code).toBe(3);
    expect(wrongDir.stderr).toMatch(/^b10: cannot read the bus token .*msgq\.token: no such file/);
  });

  it('socket_file_private: mode 0600; a directory others can enter is refused', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'msgq.sock');
    const own = await startMsgq(['--socket-file', file]);
    onTestFinished(() => own.stop());
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const open = await run('msgq/main.js', ['--port', '0', '--socket-file', path.join('/tmp', `b10-open-${process.pid}.sock`)]);
    expect(open.code).toBe(1);
    expect(open.stderr).toMatch(/\/tmp can be entered by other users \(mode 0777.*only you can enter/);
  });
});

describe('another user on the host', () => {
  it('stranger_without_the_token: cannot reach the bus by TCP or the socket file; the owner can', async () => {
    const socketFile = path.join(await tempDir(), 'msgq.sock');
    const stack = await boot({}, ['--msgq-socket-file', socketFile]);
    const tokenFile = path.join(stack.dir, 'msgq.token');
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    // The token is on no command line of the stack.
    const token = readFileSync(tokenFile, 'utf8').trim();
    for (const pid of [stack.boss.pid, ...stack.pids()]) expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toContain(token);

    // As root the stranger is the user nobody; otherwise the same user with no way to the token.
    const asStranger = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const stranger = (args: string[], input?: string) =>
      run('src/cli/main.js', args, { ...asStranger, cwd: '/', input, env: { B10_MSGQ_PORT: String(stack.port), B10_MSGQ_TOKEN_FILE: tokenFile } });
    const ps = await stranger(['ps']);
    expect(ps.code, ps.stderr).toBe(3);
    expect(ps.stderr).toMatch(process.getuid?.() === 0 ? /cannot read the bus token .*permission denied/ : /cannot read the bus token/);
    const viaSocket = await stranger(['ps', '--msgq-socket-file', socketFile]);
    expect(viaSocket.code, viaSocket.stderr).toBe(3);
    const frames = [
      { env: { type: 'subscribe', group: 'ConfigManager', instance: '*' } },
      { env: { type: 'send', from: 'x', to: '*', group: 'Boss', instance: '*', seq: 1 }, body: { command: ['shutdown'] } },
    ];
    const raw = await stranger(['raw', '--no-auth', '--wait', '5000'], frames.map((f) => JSON.stringify(f)).join('\n'));
    expect(raw.code).toBe(3);
    expect(JSON.parse(raw.stdout.trim().split('\n')[0]!)).toMatchObject({ env: { type: 'auth', error: expect.stringMatching(/first message must be/) } });
    // A token of the stranger's own making, in a place the stranger can read.
    const guessDir = await tempDir();
    chmodSync(guessDir, 0o755);
    const guessFile = path.join(guessDir, 'guess.token');
    writeFileSync(guessFile, `${createToken()}\n`, { mode: 0o644 });
    const guessed = await stranger(['ps', '--msgq-token-file', guessFile]);
    expect(guessed).toMatchObject({ code: 3, stderr: expect.stringMatching(/refused this client: wrong bus token/) });

    // The boss is still there and answers its owner.
    const owner = await stack.b10('ps', '--json');
    expect(owner.code, owner.stderr).toBe(0);
    expect((JSON.parse(owner.stdout) as { name: string }[]).map((r) => r.name)).toContain('msgq');
  });
});
