import { once } from 'node:events';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ClosedError, TimeoutError } from '../protocol/errors.js';
import { createAnswer, parseCommand } from '../protocol/message.js';
import { Session, type ReconnectInfo, type SessionOptions } from '../protocol/session.js';
import { startMsgq, type MsgqHandle } from './helpers/processes.js';

/** A msgq that a test can kill and bring back on the same port. */
interface Bus {
  port: number;
  current: MsgqHandle;
  /** SIGKILLs msgq; resolves once each of `sessions` has noticed. */
  kill(...sessions: Session[]): Promise<void>;
  restart(): Promise<void>;
}

async function bus(): Promise<Bus> {
  const first = await startMsgq();
  const handle = {
    port: first.port,
    current: first,
    async kill(...sessions: Session[]) {
      const noticed = sessions.map((s) => once(s, 'disconnect'));
      handle.current.proc.child.kill('SIGKILL');
      await handle.current.proc.exited;
      await Promise.all(noticed);
    },
    async restart() {
      handle.current = await startMsgq(['--port', String(handle.port)]);
    },
  };
  onTestFinished(() => handle.current.stop());
  return handle;
}

async function open(port: number, options: SessionOptions = {}): Promise<Session> {
  const session = await Session.connect({ port, ...options });
  onTestFinished(() => session.close());
  return session;
}

/** Answers every command on `group` with its arguments. */
function echoModule(session: Session): void {
  void (async () => {
    for await (const m of session) {
      if (m.env.reply === undefined) session.reply(m.env, createAnswer(0, parseCommand(m.body).args));
    }
  })();
}

describe('Session across msgq restarts', () => {
  it('msgq_restarted: in-flight requests fail at once; subscriptions come back; the event says so', async () => {
    const b = await bus();
    const client = await open(b.port);
    const module = await open(b.port);
    await module.subscribe('Echo');
    const hanging = await open(b.port);
    await hanging.subscribe('Silent');
    echoModule(module);
    expect(await client.command('Echo', 'x', { n: 1 })).toEqual({ n: 1 });

    const inFlight = client.request('Silent', { command: ['never'] }, { timeout: 60_000 });
    const failed = expect(inFlight).rejects.toBeInstanceOf(ClosedError);
    await hanging.recv();
    const before = module.lname;
    const started = Date.now();
    await b.kill(client);
    await failed;
    // "At once": well before the request's own 60 s timeout.
    expect(Date.now() - started).toBeLessThan(5000);
    expect(client.isConnected).toBe(false);
    expect(client.isClosed).toBe(false);

    const back = Promise.all([once(client, 'reconnect'), once(module, 'reconnect')]);
    await b.restart();
    const [[clientInfo], [moduleInfo]] = (await back) as [[ReconnectInfo], [ReconnectInfo]];
    expect(moduleInfo.previousLname).toBe(before);
    expect(moduleInfo.lname).toBe(module.lname);
    expect(module.lname).not.toBe(before);
    expect(clientInfo.downMs).toBeGreaterThan(0);
    // The module's subscription was restored: commands reach it again.
    expect(await client.command('Echo', 'x', { n: 2 })).toEqual({ n: 2 });
  });

  it('held_while_down: messages sent meanwhile arrive after the reconnect, in order, from the new lname', async () => {
    const b = await bus();
    // The sender comes back well after the receiver has resubscribed: a group
    // send reaches only those subscribed when msgq routes it.
    const sender = await open(b.port, { reconnectDelay: 2000 });
    const receiver = await open(b.port);
    await receiver.subscribe('Held');
    await b.kill(sender, receiver);
    for (let i = 0; i < 5; i++) sender.send('Held', i);
    expect(sender.buffered).toBeGreaterThan(0);
    const receiverBack = once(receiver, 'reconnect');
    await b.restart();
    receiver.reconnectNow();
    await receiverBack;
    expect(sender.isConnected).toBe(false);
    await sender.flush();
    const got = [];
    for (let i = 0; i < 5; i++) got.push(await receiver.recv({ timeout: 5000 }));
    expect(got.map((m) => m.body)).toEqual([0, 1, 2, 3, 4]);
    expect(got.every((m) => m.env.from === sender.lname)).toBe(true);
  });

  it('held_bound: past maxHeld bytes send throws instead of growing without bound', async () => {
    const b = await bus();
    const sender = await open(b.port, { maxHeld: 64 * 1024 });
    await b.kill(sender);
    const chunk = 'x'.repeat(16 * 1024);
    let sent = 0;
    expect(() => {
      for (; sent < 10; sent++) sender.send('Held', chunk);
    }).toThrow(ClosedError);
    expect(sent).toBe(3);
    expect(sender.isClosed).toBe(false);
  });

  it('ping_while_down: rejects with ClosedError instead of waiting', async () => {
    const b = await bus();
    const session = await open(b.port);
    await b.kill(session);
    await expect(session.ping()).rejects.toBeInstanceOf(ClosedError);
  });

  it('request_while_down: sent once back, answered', async () => {
    const b = await bus();
    const client = await open(b.port, { reconnectDelay: 2000 });
    const module = await open(b.port);
    await module.subscribe('Echo');
    echoModule(module);
    await b.kill(client, module);
    const answer = client.command('Echo', 'late', 'hello', { timeout: 10_000 });
    const moduleBack = once(module, 'reconnect');
    await b.restart();
    module.reconnectNow();
    await moduleBack;
    expect(await answer).toBe('hello');
  });

  it('subscribe_while_down: applied on reconnect', async () => {
    const b = await bus();
    const listener = await open(b.port);
    const sender = await open(b.port);
    await b.kill(listener, sender);
    await listener.subscribe('Later');
    const back = Promise.all([once(listener, 'reconnect'), once(sender, 'reconnect')]);
    await b.restart();
    await back;
    sender.send('Later', 'found');
    expect((await listener.recv({ timeout: 5000 })).body).toBe('found');
  });

  it('gives_up_after_the_window: closed for good with ClosedError, receivers released', async () => {
    const b = await bus();
    const session = await open(b.port, { reconnectWindow: 300 });
    const receiving = session.recv();
    await b.kill();
    const reason = await session.closed;
    expect(reason).toBeInstanceOf(ClosedError);
    expect(reason!.message).toMatch(/did not come back within 300 ms/);
    await expect(receiving).rejects.toBeInstanceOf(ClosedError);
    expect(session.isClosed).toBe(true);
    expect(() => session.send('X', 1)).toThrow(ClosedError);
  });

  it('close_while_reconnecting: ends the reconnect loop at once', async () => {
    const b = await bus();
    const session = await open(b.port);
    await b.kill(session);
    await session.close();
    expect(session.isClosed).toBe(true);
    expect(await session.closed).toBeUndefined();
    await expect(session.recv({ timeout: 10 })).rejects.not.toBeInstanceOf(TimeoutError);
  });
});
