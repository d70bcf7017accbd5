import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ClosedError, ConnectionError, NoRecipientError, ProtocolError, TimeoutError, UsageError } from '../protocol/errors.js';
import { createAnswer, parseCommand } from '../protocol/message.js';
import { Session, type SessionOptions } from '../protocol/session.js';
import { freePort, startMsgq, type MsgqHandle } from './helpers/processes.js';
import { encodeValue, frameBytes, RawClient } from './helpers/raw.js';

let msgq: MsgqHandle;
beforeAll(async () => {
  msgq = await startMsgq();
});
afterAll(() => msgq.stop());

async function open(options: SessionOptions = {}): Promise<Session> {
  const s = await Session.connect({ port: msgq.port, ...options });
  onTestFinished(() => s.close());
  return s;
}


describe('Session', () => {
  it('connection_refused: ConnectionError once the connect deadline passes', async () => {
    const port = await freePort();
    const err = await Session.connect({ port, connectTimeout: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as ConnectionError).message).toContain(`127.0.0.1:${port}`);
  });

  it('msgq_starts_late: connect retries until msgq listens', async () => {
    const port = await freePort();
    const connecting = Session.connect({ port, connectTimeout: 10_000 });
    const late = await startMsgq(['--port', String(port)]);
    onTestFinished(() => late.stop());
    const session = await connecting;
    expect(session.lname).toMatch(/@/);
    await session.close();
  });

  it('port_from_environment: B10_MSGQ_PORT is used when no port is given', async () => {
    const saved = process.env.B10_MSGQ_PORT;
    process.env.B10_MSGQ_PORT = String(msgq.port);
    onTestFinished(() => {
      if (saved === undefined) delete process.env.B10_MSGQ_PORT;
      else process.env.B10_MSGQ_PORT = saved;
    });
    const session = await Session.connect();
    expect(await session.ping('hi')).toBe('hi');
    await session.close();
    process.env.B10_MSGQ_PORT = 'not-a-port';
    await expect(Session.connect()).rejects.toBeInstanceOf(UsageError);
  });

  it('request_reply: the reply is matched by seq, unrelated messages stay queued in order', async () => {
    const client = await open();
    const module = await open();
    await module.subscribe('Calc');
    await client.subscribe('News');

    const answer = client.request('Calc', { command: ['add', [2, 3]] });
    const cmd = await module.recv({ timeout: 2000 });
    expect(parseCommand(cmd.body)).toEqual({ name: 'add', args: [2, 3] });
    expect(cmd.env.want_answer).toBe(true);
    module.send('News', 'first unrelated');
    module.send('News', 'second unrelated');
    module.reply(cmd.env, createAnswer(0, 5));

    const reply = await answer;
    expect(reply.body).toEqual({ result: [0, 5] });
    expect(reply.env.reply).toBe(cmd.env.seq);
    expect((await client.recv({ timeout: 2000 })).body).toBe('first unrelated');
    expect((await client.recv({ timeout: 2000 })).body).toBe('second unrelated');
  });

  it('many_requests_in_flight: each gets its own answer', async () => {
    const client = await open();
    const module = await open();
    await module.subscribe('Echo');
    void (async () => {
      for await (const m of module) module.reply(m.env, createAnswer(0, parseCommand(m.body).args));
    })();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => client.command('Echo', 'echo', i)));
    expect(results).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('no_recipient: request rejects with NoRecipientError', async () => {
    const client = await open();
    const err = await client.request('NobodyHere', { command: ['x'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoRecipientError);
    expect((err as NoRecipientError).code).toBe('ERR_NO_RECIPIENT');
  });

  it('answer_timeout: TimeoutError, and the late reply is dropped, not queued', async () => {
    const client = await open();
    const module = await open();
    await module.subscribe('Sleepy');
    const err = await client.request('Sleepy', { command: ['nap'] }, { timeout: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    const cmd = await module.recv({ timeout: 2000 });
    module.reply(cmd.env, createAnswer(0, 'too late'));
    module.send('Sleepy', 'marker', { to: client.lname });
    expect((await client.recv({ timeout: 2000 })).body).toBe('marker');
  });

  it('short_timeout_behind_a_long_one: times out in its own time, and the long one still gets its answer', async () => {
    const client = await open();
    const module = await open();
    await module.subscribe('Sleepy');
    const long = client.request('Sleepy', { command: ['long'] }, { timeout: 60_000 });
    const short = await client.request('Sleepy', { command: ['short'] }, { timeout: 100 }).catch((e: unknown) => e);
    expect(short).toBeInstanceOf(TimeoutError);
    expect((short as TimeoutError).message).toBe('timed out after 100 ms waiting for an answer from group Sleepy');
    const first = await module.recv({ timeout: 2000 });
    expect(parseCommand(first.body).name).toBe('long');
    module.reply(first.env, createAnswer(0, 'done'));
    expect((await long).body).toEqual(createAnswer(0, 'done'));
  });

  it('repeated_headers: a stream from one sender gives each message its own envelope and seq', async () => {
    const [sender, receiver] = [await open(), await open()];
    await receiver.subscribe('Stream');
    // Across seq's one-, two- and three-byte CBOR forms.
    const seqs = Array.from({ length: 300 }, () => sender.send('Stream', 'tick'));
    const got = [];
    for (const _ of seqs) got.push(await receiver.recv({ timeout: 2000 }));
    expect(got.map((m) => m.env.seq)).toEqual(seqs);
    got[0]!.env.group = 'changed by the application';
    expect(got.slice(1).every((m) => m.env.group === 'Stream' && m.env.from === sender.lname)).toBe(true);
    sender.send('Stream', 'after');
    expect((await receiver.recv({ timeout: 2000 })).env.group).toBe('Stream');
  });

  it('undecodable_body: fails reading that message only; the connection and later messages are fine', async () => {
    const receiver = await open();
    await receiver.subscribe('Garbled');
    const raw = await RawClient.open(msgq.port);
    onTestFinished(() => raw.close());
    raw.write(frameBytes(encodeValue({ type: 'send', from: raw.lname, to: '*', group: 'Garbled', instance: '*', seq: 1 }, 'cbor'), Buffer.from([0xff, 0x00])));
    raw.send({ type: 'send', from: raw.lname, to: '*', group: 'Garbled', instance: '*', seq: 2 }, 'fine');
    const bad = await receiver.recv({ timeout: 2000 });
    expect(bad.env.seq).toBe(1);
    expect(() => bad.body).toThrow(ProtocolError);
    expect((await receiver.recv({ timeout: 2000 })).body).toBe('fine');
    expect(receiver.isConnected).toBe(true);
  });

  it('recv_timeout: TimeoutError when nothing arrives', async () => {
    const client = await open();
    await expect(client.recv({ timeout: 50 })).rejects.toBeInstanceOf(TimeoutError);
  });

  it('closed_while_waiting: without reconnecting, msgq dying fails pending requests and receivers with ClosedError', async () => {
    const own = await startMsgq();
    const client = await Session.connect({ port: own.port, reconnect: false });
    const module = await Session.connect({ port: own.port });
    await module.subscribe('Doomed');
    const pending = client.request('Doomed', { command: ['x'] }, { timeout: 10_000 });
    const receiving = client.recv();
    await module.recv();
    own.proc.child.kill('SIGKILL');
    await expect(pending).rejects.toBeInstanceOf(ClosedError);
    await expect(receiving).rejects.toBeInstanceOf(ClosedError);
    expect(await client.closed).toBeInstanceOf(ClosedError);
    expect(() => client.send('X', 1)).toThrow(ClosedError);
    await module.close();
  });

  it('connection_refused_at_once: connectTimeout 0 tries once and says msgq is not running', async () => {
    const port = await freePort();
    const err = await Session.connect({ port, connectTimeout: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as ConnectionError).message).toBe(`msgq is not running on 127.0.0.1:${port}`);
  });


  it('iterator_ends_on_close: for await stops when the session closes', async () => {
    const client = await open();
    const other = await open();
    await client.subscribe('Iter');
    other.send('Iter', 1);
    other.send('Iter', 2);
    const seen: unknown[] = [];
    for await (const m of client) {
      seen.push(m.body);
      if (seen.length === 2) void client.close();
    }
    expect(seen).toEqual([1, 2]);
  });

  it('oversize_send: refused locally instead of being cut off by msgq', async () => {
    const client = await open({ limits: { maxFrame: 1024 } });
    expect(() => client.send('G', 'x'.repeat(2000))).toThrow(ProtocolError);
    expect(await client.ping()).toBeUndefined();
  });

  it('flush_paces_a_held_back_producer: nothing piles up in the producer while msgq holds it back', async () => {
    const bus = await startMsgq(['--max-queue', '1M', '--stall-grace', '60000', '-v']);
    const reader = await RawClient.open(bus.port);
    const producer = await Session.connect({ port: bus.port });
    try {
      await reader.subscribe('Paced');
      // The reader takes nothing until msgq holds the producer back for it.
      reader.socket.pause();
      const held = bus.proc
        .waitForLog((l) => String(l.msg).includes('holding its senders back'))
        .then(() => reader.socket.resume());
      const MESSAGES = 1024; // 64 MiB
      const body = 'p'.repeat(64 * 1024);
      let most = 0;
      for (let i = 0; i < MESSAGES; i++) {
        producer.send('Paced', body);
        await producer.flush();
        most = Math.max(most, producer.buffered);
      }
      await held;
      expect(most).toBe(0);
      for (let i = 0; i < MESSAGES; i++) await reader.next(5000);
    } finally {
      reader.close();
      await producer.close();
      await bus.stop();
    }
  });

  it('flush_on_a_closed_session: rejects with ClosedError', async () => {
    const client = await open();
    await client.close();
    await expect(client.flush()).rejects.toThrow(ClosedError);
  });
});
