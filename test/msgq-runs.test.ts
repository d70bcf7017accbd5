import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { start, startMsgq, type MsgqHandle } from './helpers/processes.js';
import { encodeValue, frame, frameBytes, RawClient, type RawMessage, type Wire } from './helpers/raw.js';

/**
 * A client streaming to a group repeats one header with only seq changing,
 * and msgq forwards such runs without decoding each frame. These tests write
 * whole runs in one socket write, so they arrive as one chunk, and check that
 * every frame in a run is still routed, validated and limited like a lone one.
 */
const MAX_FRAME = 4096;
let msgq: MsgqHandle;

beforeAll(async () => {
  msgq = await startMsgq(['--max-frame', String(MAX_FRAME), '--max-header', '1024']);
});
afterAll(() => msgq.stop());

async function client(wire: Wire = 'cbor'): Promise<RawClient> {
  const c = await RawClient.open(msgq.port, wire);
  onTestFinished(() => c.close());
  return c;
}

function sendHeader(from: RawClient, seq: number, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'send', from: from.lname, to: '*', group: 'Stream', instance: '*', seq, ...fields };
}

/** `count` frames to group Stream with seq counting up from `firstSeq`, as one buffer. */
function run(from: RawClient, firstSeq: number, count: number, fields: Record<string, unknown> = {}): Buffer {
  return Buffer.concat(
    Array.from({ length: count }, (_, i) => frame(sendHeader(from, firstSeq + i, fields), { n: firstSeq + i })),
  );
}

async function take(c: RawClient, count: number): Promise<RawMessage[]> {
  const out: RawMessage[] = [];
  for (let i = 0; i < count; i++) out.push(await c.next());
  return out;
}

const bodies = (messages: RawMessage[]): unknown[] => messages.map((m) => (m.body as { n: number }).n);
const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);

describe('msgq runs of repeated headers', () => {
  it('run_of_repeated_headers: every frame arrives once, in order, byte for byte, not at the sender', async () => {
    const [sender, reader] = [await client(), await client()];
    await sender.subscribe('Stream');
    await reader.subscribe('Stream');
    const bytes = run(sender, 1000, 300);
    sender.write(bytes);
    const got = await take(reader, 300);
    expect(bodies(got)).toEqual(range(1000, 300));
    expect(Buffer.concat(got.map((m) => m.raw)).equals(bytes)).toBe(true);
    await reader.expectNothing();
    await sender.expectNothing();
  });

  it('run_broken_by_other_group: the odd frame goes to its own group and order holds for a reader of both', async () => {
    const [sender, streamOnly, otherOnly, both] = [await client(), await client(), await client(), await client()];
    await streamOnly.subscribe('Stream');
    await otherOnly.subscribe('Other');
    await both.subscribe('Stream');
    await both.subscribe('Other');
    sender.write(
      Buffer.concat([
        run(sender, 1, 50),
        frame(sendHeader(sender, 51, { group: 'Other' }), { n: 51 }),
        run(sender, 52, 50),
      ]),
    );
    expect(bodies(await take(streamOnly, 100))).toEqual([...range(1, 50), ...range(52, 50)]);
    expect(bodies(await take(otherOnly, 1))).toEqual([51]);
    expect(bodies(await take(both, 101))).toEqual(range(1, 101));
    await streamOnly.expectNothing();
    await otherOnly.expectNothing();
  });

  it('subscription_change_between_runs: a new subscriber gets the next run, a leaver stops getting it', async () => {
    const [sender, stays, joins] = [await client(), await client(), await client()];
    await stays.subscribe('Stream');
    sender.write(run(sender, 1, 20));
    expect(bodies(await take(stays, 20))).toEqual(range(1, 20));
    await joins.subscribe('Stream');
    sender.write(run(sender, 21, 20));
    expect(bodies(await take(stays, 20))).toEqual(range(21, 20));
    expect(bodies(await take(joins, 20))).toEqual(range(21, 20));
    stays.send({ type: 'unsubscribe', group: 'Stream', instance: '*' });
    await stays.roundTrip();
    sender.write(run(sender, 41, 20));
    expect(bodies(await take(joins, 20))).toEqual(range(41, 20));
    await stays.expectNothing();
  });

  it('reader_disconnects_between_runs: the run goes on to those left', async () => {
    const [sender, leaves, stays] = [await client(), await client(), await client()];
    await leaves.subscribe('Stream');
    await stays.subscribe('Stream');
    sender.write(run(sender, 1, 10));
    await take(leaves, 10);
    await take(stays, 10);
    leaves.close();
    await leaves.closed;
    // stays learns of the disconnect only by routing going on correctly.
    await stays.roundTrip();
    sender.write(run(sender, 11, 10));
    expect(bodies(await take(stays, 10))).toEqual(range(11, 10));
  });

  it('json_reader_joins_mid_stream: it gets the next run re-encoded, CBOR readers still get the bytes sent', async () => {
    const [sender, cborReader, jsonReader] = [await client(), await client(), await client('json')];
    await cborReader.subscribe('Stream');
    sender.write(run(sender, 1, 10));
    await take(cborReader, 10);
    await jsonReader.subscribe('Stream');
    const bytes = run(sender, 11, 10);
    sender.write(bytes);
    const raw = await take(cborReader, 10);
    expect(Buffer.concat(raw.map((m) => m.raw)).equals(bytes)).toBe(true);
    const json = await take(jsonReader, 10);
    expect(bodies(json)).toEqual(range(11, 10));
    expect(json[0]!.header).toMatchObject({ type: 'send', group: 'Stream', from: sender.lname, seq: 11 });
  });

  it('want_answer_run_without_recipients: every frame gets its own no-recipient answer', async () => {
    const sender = await client();
    sender.write(run(sender, 100, 20, { group: 'Nobody', want_answer: true }));
    const answers = await take(sender, 20);
    expect(answers.map((m) => m.header.reply)).toEqual(range(100, 20));
    for (const m of answers) expect(m.body).toEqual({ result: [-1, 'No such recipient'] });
  });

  it('seq_changes_width_inside_run: frames on both sides of the change arrive', async () => {
    const [sender, reader] = [await client(), await client()];
    await reader.subscribe('Stream');
    // 20..23 encode in one byte, 24 and up in two: the header grows by one byte.
    sender.write(run(sender, 20, 10));
    expect(bodies(await take(reader, 10))).toEqual(range(20, 10));
  });

  it('bad_seq_inside_run: the sender is dropped at that frame, what came before is delivered', async () => {
    const [sender, reader] = [await client(), await client()];
    await reader.subscribe('Stream');
    const bad = frame(sendHeader(sender, 1010), { n: 1010 });
    // seq 1010 is 0x19 0x03 0xf2; 0x42 makes the same bytes a 2-byte string.
    const seqAt = bad.indexOf(Buffer.from([0x19, 0x03, 0xf2]));
    expect(seqAt).toBeGreaterThan(0);
    bad[seqAt] = 0x42;
    sender.write(Buffer.concat([run(sender, 1000, 10), bad, run(sender, 1011, 10)]));
    await sender.closed;
    expect(bodies(await take(reader, 10))).toEqual(range(1000, 10));
    await reader.expectNothing();
  });

  it('oversize_frame_inside_run: refused like a lone one, what came before is delivered', async () => {
    const [sender, reader] = [await client(), await client()];
    await reader.subscribe('Stream');
    const header = encodeValue(sendHeader(sender, 1010), 'cbor');
    const huge = frameBytes(header, Buffer.alloc(MAX_FRAME, 0x41));
    sender.write(Buffer.concat([run(sender, 1000, 10), huge, run(sender, 1011, 10)]));
    await sender.closed;
    expect(bodies(await take(reader, 10))).toEqual(range(1000, 10));
    await reader.expectNothing();
  });

  it('spoofed_from_run: every frame of a run whose from msgq rewrites arrives with the sender\'s lname, every other byte as sent', async () => {
    const [sender, reader] = [await client(), await client()];
    await reader.subscribe('Stream');
    const bytes = run(sender, 1, 300, { from: 'impostor' });
    sender.write(bytes);
    const got = await take(reader, 300);
    expect(bodies(got)).toEqual(range(1, 300));
    expect(got.every((m) => m.header.from === sender.lname)).toBe(true);
    expect(Buffer.concat(got.map((m) => m.raw)).equals(run(sender, 1, 300))).toBe(true);
    const late = await client();
    await late.subscribe('Stream');
    sender.write(run(sender, 301, 200, { from: 'impostor' }));
    for (const c of [reader, late]) {
      const more = await take(c, 200);
      expect(bodies(more)).toEqual(range(301, 200));
      expect(more.every((m) => m.header.from === sender.lname)).toBe(true);
    }
    await sender.expectNothing();
  });

  it('reply_run: a responder\'s answers to one caller (seq and reply changing) arrive intact; once the caller has left they go nowhere', async () => {
    const [responder, caller, watcher] = [await client(), await client(), await client()];
    await watcher.subscribe('cc_members');
    const replies = (first: number, count: number): Buffer =>
      Buffer.concat(
        Array.from({ length: count }, (_, i) =>
          frame({ type: 'send', from: responder.lname, to: caller.lname, group: 'Echo', instance: '*', seq: first + i, reply: 5000 + 3 * i }, { n: first + i }),
        ),
      );
    const bytes = replies(100, 300);
    responder.write(bytes);
    const got = await take(caller, 300);
    expect(bodies(got)).toEqual(range(100, 300));
    expect(got.map((m) => m.header.reply)).toEqual(range(0, 300).map((i) => 5000 + 3 * i));
    expect(Buffer.concat(got.map((m) => m.raw)).equals(bytes)).toBe(true);
    const gone = caller.lname;
    caller.close();
    for (;;) {
      const [event, params] = ((await watcher.next()).body as { notification: [string, { client: string }] }).notification;
      if (event === 'disconnected' && params.client === gone) break;
    }
    responder.write(replies(400, 300));
    await responder.roundTrip();
    await watcher.expectNothing();
    await responder.expectNothing();
  });

  it('no_code_generation: with --disallow-code-generation-from-strings long runs are still forwarded', async () => {
    const proc = start('msgq/main.js', ['--port', '0'], {
      env: { NODE_OPTIONS: '--disallow-code-generation-from-strings' },
    });
    try {
      const { port } = (await proc.waitForLog((l) => l.msg === 'msgq listening')) as { port: number };
      const [sender, reader] = [await RawClient.open(port), await RawClient.open(port)];
      await reader.subscribe('Stream');
      sender.write(run(sender, 1000, 300));
      sender.write(run(sender, 1300, 300));
      expect(bodies(await take(reader, 600))).toEqual(range(1000, 600));
      sender.close();
      reader.close();
    } finally {
      await proc.stop();
    }
    expect(proc.logs.filter((l) => (l.level ?? 0) >= 50)).toEqual([]);
  });
});
