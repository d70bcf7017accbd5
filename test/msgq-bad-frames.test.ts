import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startMsgq, type MsgqHandle } from './helpers/processes.js';
import { encodeValue, frame, frameBytes, RawClient } from './helpers/raw.js';

const MAX_FRAME = 4096;
const MAX_HEADER = 512;
let msgq: MsgqHandle;
let sender: RawClient;
let receiver: RawClient;

beforeAll(async () => {
  msgq = await startMsgq(['--max-frame', String(MAX_FRAME), '--max-header', String(MAX_HEADER)]);
  sender = await RawClient.open(msgq.port);
  receiver = await RawClient.open(msgq.port);
  await receiver.subscribe('Healthy');
});
afterAll(async () => {
  sender.close();
  receiver.close();
  await msgq.stop();
});

/** The good pair still talks: one bad client never affects the others. */
async function othersStillWork(): Promise<void> {
  sender.send({ type: 'send', from: sender.lname, to: '*', group: 'Healthy', instance: '*', seq: 1 }, 'still here');
  expect((await receiver.next()).body).toBe('still here');
}

const cbor = (v: unknown): Buffer => encodeValue(v, 'cbor');
const send = { type: 'send', to: '*', group: 'G', instance: '*', seq: 1 };

const badFrames: [string, Buffer, RegExp][] = [
  ['header_length_zero', frameBytes(Buffer.alloc(0), Buffer.from('xyz')), /header length is 0/],
  ['header_longer_than_frame', frameBytes(cbor(send), undefined, 4, 30), /header length 30 exceeds/],
  ['frame_too_short', frameBytes(Buffer.alloc(0), undefined, 1, 0), /too short/],
  ['header_not_a_map', frameBytes(cbor(['send', 'G'])), /header is not a map/],
  ['header_undecodable', frameBytes(Buffer.from([0xff, 0xff, 0xff])), /undecodable cbor/],
  ['header_truncated_cbor', frameBytes(cbor(send).subarray(0, 10)), /undecodable cbor/],
  ['header_trailing_bytes', frameBytes(Buffer.concat([cbor({ type: 'ping' }), Buffer.from([1])])), /undecodable cbor/],
  ['missing_type', frame({ group: 'G' }), /no "type"/],
  ['missing_group', frame({ type: 'send', to: '*', seq: 1 }), /has no "group"/],
  ['missing_seq', frame({ type: 'send', to: '*', group: 'G' }), /has no "seq"/],
  ['wrong_type_seq', frame({ ...send, seq: 'one' }), /"seq" must be an integer/],
  ['wrong_type_group', frame({ type: 'subscribe', group: 42 }), /"group" must be a string/],
  ['wrong_type_want_answer', frame({ ...send, want_answer: 1 }), /"want_answer" must be a boolean/],
  ['unknown_type', frame({ type: 'teleport' }), /unknown message type "teleport"/],
  ['oversize_frame', frameBytes(cbor(send), Buffer.alloc(MAX_FRAME)), /exceeds the limit of 4096/],
  ['oversize_header', frameBytes(cbor({ ...send, pad: 'x'.repeat(MAX_HEADER) })), /header of \d+ bytes exceeds the limit of 512/],
  ['json_header_invalid', frameBytes(Buffer.from('{"type": "send",')), /undecodable json/],
];

describe('bad frames close only the sender', () => {
  it.each(badFrames)('%s', async (name, bytes, reason) => {
    // The auth frame fixes the connection's encoding, so a JSON case authenticates in JSON.
    const bad = await RawClient.connect(msgq.port, name.startsWith('json') ? 'json' : 'cbor');
    onTestFinished(() => bad.close());
    const since = msgq.proc.logs.length;
    bad.write(bytes);
    await bad.closed;
    const line = await msgq.proc.waitForLog((l) => reason.test(String(l.reason)), `log for ${name}`, since);
    expect(line.msg).toMatch(/^closing connection/);
    expect(line.code).toMatch(/^ERR_/);
    await othersStillWork();
  });

  it('bad_frame_after_good_ones: earlier frames are served, then the connection closes', async () => {
    const bad = await RawClient.open(msgq.port);
    onTestFinished(() => bad.close());
    bad.write(
      Buffer.concat([
        frame({ ...send, group: 'Healthy', from: bad.lname }, 'before'),
        frame({ type: 'teleport' }),
        frame({ ...send, group: 'Healthy' }, 'after'),
      ]),
    );
    await bad.closed;
    expect((await receiver.next()).body).toBe('before');
    await receiver.expectNothing();
  });

  it('answers_before_the_bad_frame: what msgq answered to earlier frames of the same write still arrives, then the close', async () => {
    const bad = await RawClient.open(msgq.port);
    onTestFinished(() => bad.close());
    bad.write(Buffer.concat([frame({ type: 'ping' }, 'first'), frameBytes(Buffer.alloc(0), Buffer.from('xyz'))]));
    expect(await bad.next()).toMatchObject({ header: { type: 'pong' }, body: 'first' });
    await bad.closed;
    await othersStillWork();
  });

  it('truncated_frame_then_eof: discarded with a log line', async () => {
    const bad = await RawClient.connect(msgq.port);
    const since = msgq.proc.logs.length;
    const whole = frame({ ...send, group: 'Healthy' }, 'never complete');
    bad.socket.end(whole.subarray(0, whole.length - 3));
    await bad.closed;
    await msgq.proc.waitForLog((l) => /truncated frame discarded/.test(String(l.msg)), 'truncation log', since);
    await receiver.expectNothing();
    await othersStillWork();
  });

  it('frame_split_byte_by_byte: reassembled by msgq', async () => {
    const slow = await RawClient.open(msgq.port);
    onTestFinished(() => slow.close());
    const bytes = frame({ ...send, group: 'Healthy', from: slow.lname }, { split: 'byte by byte' });
    for (const byte of bytes) {
      slow.socket.write(Buffer.from([byte]));
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect((await receiver.next()).body).toEqual({ split: 'byte by byte' });
  });

  it('many_frames_in_one_chunk: all routed in order', async () => {
    const burst = Array.from({ length: 200 }, (_, i) => frame({ ...send, group: 'Healthy', from: sender.lname, seq: i }, i));
    sender.write(Buffer.concat(burst));
    for (let i = 0; i < 200; i++) expect((await receiver.next()).body).toBe(i);
  });
});
