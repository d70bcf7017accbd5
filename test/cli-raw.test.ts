import { describe, expect, it, onTestFinished } from 'vitest';
import { Session } from '../protocol/session.js';
import { start, startMsgq, type Proc } from './helpers/processes.js';

/** `b10 raw` with its stdin open for the test to write to. */
async function raw(args: string[] = []): Promise<{ proc: Proc; write(line: unknown): void; end(): void; port: number }> {
  const msgq = await startMsgq();
  onTestFinished(() => msgq.stop());
  const proc = start('src/cli/main.js', ['raw', '-m', String(msgq.port), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  onTestFinished(() => proc.stop());
  return {
    proc,
    port: msgq.port,
    write: (line) => proc.child.stdin!.write(`${typeof line === 'string' ? line : JSON.stringify(line)}\n`),
    end: () => proc.child.stdin!.end(),
  };
}

function lines(proc: Proc): { env: Record<string, unknown>; body?: unknown }[] {
  return proc.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { env: Record<string, unknown>; body?: unknown });
}

describe('b10 raw', () => {
  it('subscribe_and_send: frames in as JSON lines, the delivered message and msgq\'s answers out', async () => {
    const r = await raw();
    const peer = await Session.connect({ port: r.port });
    onTestFinished(() => peer.close());
    await peer.subscribe('Peer');

    r.write({ env: { type: 'getlname' } });
    r.write({ env: { type: 'subscribe', group: 'Radio', instance: '*' } });
    r.write({ env: { type: 'ping' }, body: 'subscribed?' });
    await r.proc.waitForStdout('"subscribed?"');
    const lname = (lines(r.proc)[0]!.body as { lname: string }).lname;

    peer.send('Radio', { song: 1 });
    await r.proc.waitForStdout('"song"');
    r.write({ env: { type: 'send', from: 'anyone', to: '*', group: 'Peer', instance: '*', seq: 7 }, body: 'from raw' });
    const atPeer = await peer.recv({ timeout: 2000 });
    r.write({ env: { type: 'send', from: lname, to: '*', group: 'Nobody', instance: '*', seq: 8, want_answer: true }, body: { command: ['x'] } });
    r.end();
    expect((await r.proc.exited).code).toBe(0);
    await r.proc.drained;

    // msgq set `from` itself: nobody speaks as another.
    expect(atPeer).toMatchObject({ env: { from: lname, seq: 7 }, body: 'from raw' });
    expect(lines(r.proc)).toEqual([
      { env: { type: 'getlname' }, body: { lname } },
      { env: { type: 'pong' }, body: 'subscribed?' },
      { env: expect.objectContaining({ type: 'send', from: peer.lname, group: 'Radio' }), body: { song: 1 } },
      { env: expect.objectContaining({ from: 'msgq', to: lname, reply: 8 }), body: { result: [-1, 'No such recipient'] } },
    ]);
  });

  it('malformed_frame: msgq closes the connection, b10 raw says so on stderr and exits 3', async () => {
    const r = await raw();
    r.write({ env: { type: 'ping' }, body: 1 });
    r.write({ hex: '00000002 0000' });
    expect((await r.proc.exited).code).toBe(3);
    await r.proc.drained;
    expect(lines(r.proc)).toEqual([{ env: { type: 'pong' }, body: 1 }]);
    expect(r.proc.stderrLines).toEqual(['b10: msgq closed the connection']);
  });

  it('json_wire: --json speaks JSON, as the original BIND 10 clients did; msgq answers in JSON', async () => {
    const r = await raw(['--json', '--wait', '0']);
    r.write({ env: { type: 'ping' }, body: { 'é': [1, 2] } });
    await r.proc.waitForStdout('pong');
    r.end();
    expect((await r.proc.exited).code).toBe(0);
    expect(lines(r.proc)).toEqual([{ env: { type: 'pong' }, body: { 'é': [1, 2] } }]);
  });

  it('bad_line: exit 2 naming the line; nothing after it is sent', async () => {
    const r = await raw();
    r.write({ env: { type: 'ping' } });
    r.write('{"env": 5}');
    r.write({ env: { type: 'ping' } });
    expect((await r.proc.exited).code).toBe(2);
    await r.proc.drained;
    expect(r.proc.stderrLines).toEqual(['b10: stdin line 2: expected {"env": {...}, "body": ...} or {"hex": "..."}']);
    expect(lines(r.proc).length).toBeLessThanOrEqual(1);
  });
});
