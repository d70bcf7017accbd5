import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { Session } from '../protocol/session.js';
import { startMsgq, type MsgqHandle } from './helpers/processes.js';
import { RawClient, type Wire } from './helpers/raw.js';

let msgq: MsgqHandle;
beforeAll(async () => {
  msgq = await startMsgq();
});
afterAll(() => msgq.stop());

async function client(wire: Wire): Promise<RawClient> {
  const c = await RawClient.open(msgq.port, wire);
  onTestFinished(() => c.close());
  return c;
}

describe('JSON (original BIND 10 clients) and CBOR on one bus', () => {
  it('json_to_cbor_command_and_answer: each side reads its own encoding', async () => {
    const py = await client('json');
    const ts = await client('cbor');
    await ts.subscribe('Echo');
    py.send(
      { type: 'send', from: py.lname, to: '*', group: 'Echo', instance: '*', seq: 4, want_answer: true },
      { command: ['echo', { text: 'héllo', n: 3, nested: [true, null, 1.5] }] },
    );
    const command = await ts.next();
    // The raw CBOR client decoded it as CBOR: msgq re-encoded header and body.
    expect(command.raw[6]! & 0xe0).toBe(0xa0);
    expect(command.header).toMatchObject({ from: py.lname, seq: 4, want_answer: true });
    expect(command.body).toEqual({ command: ['echo', { text: 'héllo', n: 3, nested: [true, null, 1.5] }] });

    ts.send(
      { type: 'send', from: ts.lname, to: py.lname, group: 'Echo', instance: '*', seq: 1, reply: 4 },
      { result: [0, { text: 'héllo' }] },
    );
    const answer = await py.next();
    expect(answer.raw.subarray(6).toString('utf8').startsWith('{')).toBe(true);
    expect(answer.header).toMatchObject({ from: ts.lname, reply: 4 });
    expect(answer.body).toEqual({ result: [0, { text: 'héllo' }] });
  });

  it('cbor_session_to_json_module: Session.request gets a JSON module\'s answer', async () => {
    const py = await client('json');
    await py.subscribe('PyModule');
    const session = await Session.connect({ port: msgq.port });
    onTestFinished(() => session.close());
    const pending = session.command('PyModule', 'status', { verbose: true });
    const command = await py.next();
    expect(command.body).toEqual({ command: ['status', { verbose: true }] });
    py.send(
      { type: 'send', from: py.lname, to: command.header.from, group: 'PyModule', instance: '*', seq: 9, reply: command.header.seq },
      { result: [0, 'running'] },
    );
    expect(await pending).toBe('running');
  });

  it('json_session: Session speaks JSON when asked and gets msgq answers in JSON', async () => {
    const session = await Session.connect({ port: msgq.port, encoding: 'json' });
    onTestFinished(() => session.close());
    expect(await session.command('Msgq', 'members')).toContain(session.lname);
    await expect(session.request('Nobody', { command: ['x'] })).rejects.toMatchObject({ code: 'ERR_NO_RECIPIENT' });
  });

  it('cross_encoding_notifications: a JSON watcher gets cc_members in JSON', async () => {
    const py = await client('json');
    await py.subscribe('cc_members');
    expect((await py.next()).body).toEqual({ notification: ['subscribed', { client: py.lname, group: 'cc_members' }] });
  });
});
