import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startMsgq, type MsgqHandle } from './helpers/processes.js';
import { encodeValue, frame, RawClient, type Wire } from './helpers/raw.js';

let msgq: MsgqHandle;

beforeAll(async () => {
  msgq = await startMsgq();
});
afterAll(() => msgq.stop());

async function client(wire: Wire = 'cbor'): Promise<RawClient> {
  const c = await RawClient.open(msgq.port, wire);
  onTestFinished(() => c.close());
  return c;
}

function send(from: RawClient, fields: Record<string, unknown>, body?: unknown): void {
  from.send({ type: 'send', from: from.lname, to: '*', instance: '*', seq: 1, ...fields }, body);
}

describe('msgq routing, raw bytes on a real socket', () => {
  it('getlname: answers a name unique to each connection', async () => {
    const [a, b] = [await client(), await client()];
    expect(a.lname).toMatch(/.+_.+@.+/);
    expect(a.lname).not.toBe(b.lname);
    a.send({ type: 'getlname' });
    expect((await a.next()).body).toEqual({ lname: a.lname });
  });

  it('group_send: reaches every subscriber once, not the sender', async () => {
    const [sender, r1, r2, other] = [await client(), await client(), await client(), await client()];
    await sender.subscribe('Room');
    await r1.subscribe('Room');
    await r1.subscribe('Room', '*');
    await r2.subscribe('Room');
    await other.subscribe('Elsewhere');
    send(sender, { group: 'Room' }, { hello: 1 });
    await sender.roundTrip();
    for (const r of [r1, r2]) {
      const m = await r.next();
      expect(m.header).toMatchObject({ type: 'send', group: 'Room', from: sender.lname });
      expect(m.body).toEqual({ hello: 1 });
      await r.expectNothing();
    }
    await sender.expectNothing();
    await other.expectNothing();
  });

  it('instance_routing: (G, I) reaches subscribers of (G, I) and (G, *), not of (G, J)', async () => {
    const [sender, exact, wild, otherInstance] = [await client(), await client(), await client(), await client()];
    await exact.subscribe('Zone', 'example.org');
    await wild.subscribe('Zone', '*');
    await otherInstance.subscribe('Zone', 'example.com');
    send(sender, { group: 'Zone', instance: 'example.org' }, 'x');
    await sender.roundTrip();
    expect((await exact.next()).body).toBe('x');
    expect((await wild.next()).body).toBe('x');
    await otherInstance.expectNothing();
  });

  it('unsubscribe: stops delivery', async () => {
    const [sender, r] = [await client(), await client()];
    await r.subscribe('U');
    r.send({ type: 'unsubscribe', group: 'U', instance: '*' });
    await r.roundTrip();
    send(sender, { group: 'U', want_answer: true, seq: 9 }, 'x');
    const reply = await sender.next();
    expect(reply.body).toEqual({ result: [-1, 'No such recipient'] });
    await r.expectNothing();
  });

  it('direct_send: reaches only the named lname, whatever its subscriptions', async () => {
    const [sender, target, bystander] = [await client(), await client(), await client()];
    await bystander.subscribe('G');
    send(sender, { group: 'G', to: target.lname }, 'for you');
    await sender.roundTrip();
    const m = await target.next();
    expect(m.body).toBe('for you');
    expect(m.header.to).toBe(target.lname);
    await bystander.expectNothing();
  });

  it('no_recipient_want_answer: msgq answers as the original did', async () => {
    const sender = await client();
    send(sender, { group: 'Nobody', seq: 42, want_answer: true }, { command: ['x'] });
    const m = await sender.next();
    expect(m.header).toMatchObject({
      type: 'send',
      group: 'Nobody',
      from: 'msgq',
      to: sender.lname,
      reply: 42,
      seq: 42,
    });
    expect(m.body).toEqual({ result: [-1, 'No such recipient'] });
  });

  it('no_recipient_direct: an unknown lname gets the same answer', async () => {
    const sender = await client();
    send(sender, { group: 'G', to: 'nobody@nowhere', seq: 5, want_answer: true }, 'x');
    expect((await sender.next()).body).toEqual({ result: [-1, 'No such recipient'] });
  });

  it('destination_gone: a direct send to a client that has left is answered No such recipient, though the last one reached it', async () => {
    const [sender, target] = [await client(), await client()];
    send(sender, { group: 'G', to: target.lname, seq: 1 }, 'first');
    expect((await target.next()).body).toBe('first');
    const lname = target.lname;
    const watcher = await client();
    await watcher.subscribe('cc_members');
    target.close();
    // msgq has forgotten the target once it announces the disconnect.
    for (;;) {
      const { body } = await watcher.next();
      const [event, params] = (body as { notification: [string, { client: string }] }).notification;
      if (event === 'disconnected' && params.client === lname) break;
    }
    send(sender, { group: 'G', to: lname, seq: 2, want_answer: true }, 'second');
    expect((await sender.next()).body).toEqual({ result: [-1, 'No such recipient'] });
  });

  it('no_recipient_without_want_answer: silence', async () => {
    const sender = await client();
    send(sender, { group: 'Nobody' }, 'x');
    await sender.expectNothing();
  });

  it('no_recipient_for_a_reply: no error answer, even with want_answer', async () => {
    const sender = await client();
    send(sender, { group: 'Nobody', want_answer: true, reply: 3 }, 'x');
    await sender.expectNothing();
  });

  it('spoofed_from: msgq overwrites it with the real lname', async () => {
    const [sender, r] = [await client(), await client()];
    await r.subscribe('S');
    send(sender, { group: 'S', from: 'someone-else' }, 'x');
    await sender.roundTrip();
    expect((await r.next()).header.from).toBe(sender.lname);
  });

  it('spoofed_from_spliced: the header keeps every other field and its order, the body its bytes, whatever the lengths', async () => {
    const [sender, r] = [await client(), await client()];
    const json = await RawClient.open(msgq.port, 'json');
    onTestFinished(() => json.close());
    await r.subscribe('Sp');
    await json.subscribe('Sp');
    const body = { big: 'y'.repeat(300), n: [1, -2.5], b: Buffer.from([9, 8, 7]) };
    for (const from of ['', 'x', 'a-much-longer-name-than-any-lname-msgq-hands-out@somewhere.example', 'émile']) {
      const header = { type: 'send', from, to: '*', group: 'Sp', instance: 'i', seq: 300, custom: 'kept', want_answer: false };
      const sent = frame(header, body);
      sender.write(sent);
      const got = await r.next();
      expect(got.raw.equals(frame({ ...header, from: sender.lname }, body))).toBe(true);
      expect(got.raw.subarray(got.raw.length - encodeValue(body, 'cbor').length).equals(sent.subarray(sent.length - encodeValue(body, 'cbor').length))).toBe(true);
      expect(await json.next()).toMatchObject({ header: { ...header, from: sender.lname }, body: { big: body.big, n: body.n } });
    }
  });

  it('unchanged_forwarding: same-encoding clients get the very bytes that were sent', async () => {
    const [sender, r] = [await client(), await client()];
    await r.subscribe('F');
    const header = { type: 'send', from: sender.lname, to: '*', group: 'F', instance: '*', seq: 7, custom: 'kept' };
    const body = { big: 'x'.repeat(1000), n: [1, 2.5, -3], b: Buffer.from([0, 1, 2]) };
    const bytes = frame(header, body);
    sender.write(bytes);
    await sender.roundTrip();
    expect((await r.next()).raw.equals(bytes)).toBe(true);
  });

  it('ping: answered pong with the same body', async () => {
    const c = await client();
    c.send({ type: 'ping' }, { echo: [1, 'two'] });
    const m = await c.next();
    expect(m.header).toEqual({ type: 'pong' });
    expect(m.body).toEqual({ echo: [1, 'two'] });
  });

  it('members_command: lists clients, or those of one group', async () => {
    const [asker, a] = [await client(), await client()];
    await a.subscribe('MembersTest');
    send(asker, { group: 'Msgq', seq: 11, want_answer: true }, { command: ['members'] });
    const all = await asker.next();
    expect(all.header).toMatchObject({ from: 'msgq', reply: 11, to: asker.lname });
    expect((all.body as { result: [number, string[]] }).result[1]).toEqual(expect.arrayContaining([asker.lname, a.lname]));
    send(asker, { group: 'Msgq', seq: 12 }, { command: ['members', { group: 'MembersTest' }] });
    expect((await asker.next()).body).toEqual({ result: [0, [a.lname]] });
  });

  it('msgq_unknown_command: answered with an error, never ignored', async () => {
    const asker = await client();
    send(asker, { group: 'Msgq', seq: 3 }, { command: ['frobnicate'] });
    expect((await asker.next()).body).toEqual({ result: [1, 'unknown command: frobnicate'] });
    send(asker, { group: 'Msgq', seq: 4 }, { not: 'a command' });
    expect(((await asker.next()).body as { result: unknown[] }).result[0]).toBe(1);
  });

  it('cc_members: connect, subscribe, unsubscribe and disconnect are announced', async () => {
    const watcher = await client();
    await watcher.subscribe('cc_members');
    const own = await watcher.next();
    expect(own.body).toEqual({ notification: ['subscribed', { client: watcher.lname, group: 'cc_members' }] });
    expect(own.header).toMatchObject({ from: 'msgq', group: 'cc_members' });

    const c = await RawClient.open(msgq.port);
    await c.subscribe('Watched');
    c.send({ type: 'unsubscribe', group: 'Watched', instance: '*' });
    await c.subscribe('Other');
    c.close();
    const events: unknown[] = [];
    for (let i = 0; i < 5; i++) events.push((await watcher.next()).body);
    expect(events).toEqual([
      { notification: ['connected', { client: c.lname }] },
      { notification: ['subscribed', { client: c.lname, group: 'Watched' }] },
      { notification: ['unsubscribed', { client: c.lname, group: 'Watched' }] },
      { notification: ['subscribed', { client: c.lname, group: 'Other' }] },
      { notification: ['unsubscribed', { client: c.lname, group: 'Other' }] },
    ]);
    expect((await watcher.next()).body).toEqual({ notification: ['disconnected', { client: c.lname }] });
  });

  it('closed_connection: loses its subscriptions', async () => {
    const [sender, r] = [await client(), await client()];
    await r.subscribe('Gone');
    r.close();
    await r.closed;
    // Wait until msgq has seen the close: it is a member no more.
    for (;;) {
      send(sender, { group: 'Msgq', seq: 1 }, { command: ['members'] });
      const list = ((await sender.next()).body as { result: [number, string[]] }).result[1];
      if (!list.includes(r.lname)) break;
    }
    send(sender, { group: 'Gone', want_answer: true }, 'x');
    expect((await sender.next()).body).toEqual({ result: [-1, 'No such recipient'] });
  });

  it('stop_not_allowed: ignored with a log line, msgq keeps serving', async () => {
    const c = await client();
    const since = msgq.proc.logs.length;
    c.send({ type: 'stop' });
    await msgq.proc.waitForLog((l) => String(l.msg).startsWith('stop ignored'), 'stop ignored', since);
    await c.roundTrip();
  });
});

describe('msgq stop', () => {
  it('stop_allowed: a loopback stop ends msgq cleanly', async () => {
    const own = await startMsgq(['--allow-stop']);
    onTestFinished(() => own.stop());
    const c = await RawClient.open(own.port);
    c.send({ type: 'stop' });
    expect(await own.proc.exited).toEqual({ code: 0, signal: null });
    await c.closed;
  });

  it('sigterm: msgq stops cleanly and closes its clients', async () => {
    const own = await startMsgq();
    const c = await RawClient.open(own.port);
    own.proc.child.kill('SIGTERM');
    expect(await own.proc.exited).toEqual({ code: 0, signal: null });
    await c.closed;
  });
});
