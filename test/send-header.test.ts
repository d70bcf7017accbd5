import { describe, expect, it } from 'vitest';
import { cbor } from '../protocol/codec.js';
import { encodeFrame } from '../protocol/framing.js';
import { DEFAULT_LIMITS } from '../protocol/limits.js';
import { SendHeaders } from '../protocol/send-header.js';

const { maxHeader, maxFrame } = DEFAULT_LIMITS;

/** What the general path sends: cbor-x's encoding of the envelope, fields in the same order. */
function general(from: string, to: string, group: string, instance: string, wantAnswer: boolean, seq: number, body?: Buffer, reply?: number): Buffer {
  const env: Record<string, unknown> = { type: 'send', from, to, group, instance };
  if (wantAnswer) env.want_answer = true;
  env.seq = seq;
  if (reply !== undefined) env.reply = reply;
  return encodeFrame(cbor.encode(env), body);
}

describe('prepared send headers', () => {
  it('same_bytes_as_cbor_x: every seq width, short and long and non-ASCII names, with and without want_answer', () => {
    const headers = new SendHeaders();
    const names = ['', 'G', 'x'.repeat(23), 'y'.repeat(24), 'z'.repeat(255), 'w'.repeat(256), 'Grüße-群'];
    const seqs = [0, 1, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32 - 1];
    const body = cbor.encode({ command: ['x', { a: 1 }] });
    for (const name of names) {
      for (const seq of seqs) {
        for (const wantAnswer of [false, true]) {
          const fast = headers.frame('lname@host', '*', name, 'i', wantAnswer, seq, undefined, body, 1 << 20, maxFrame);
          expect(fast?.equals(general('lname@host', '*', name, 'i', wantAnswer, seq, body))).toBe(true);
          const reply = headers.frame('lname@host', 'asker@host', name, 'i', false, seq, seqs[(seq % 7) % seqs.length]!, body, 1 << 20, maxFrame);
          expect(reply?.equals(general('lname@host', 'asker@host', name, 'i', false, seq, body, seqs[(seq % 7) % seqs.length]))).toBe(true);
        }
      }
    }
    expect(headers.frame('l', 'to-lname', 'G', '*', false, 5, undefined, undefined, maxHeader, maxFrame)!.equals(general('l', 'to-lname', 'G', '*', false, 5))).toBe(true);
  });

  it('new_lname: a reconnected session\'s headers carry its new name', () => {
    const headers = new SendHeaders();
    headers.frame('old@host', '*', 'G', '*', false, 1, undefined, undefined, maxHeader, maxFrame);
    expect(headers.frame('new@host', '*', 'G', '*', false, 2, undefined, undefined, maxHeader, maxFrame)!.equals(general('new@host', '*', 'G', '*', false, 2))).toBe(true);
  });

  it('out_of_bounds: too large a header, frame or seq is left to the general path', () => {
    const headers = new SendHeaders();
    expect(headers.frame('l', '*', 'g'.repeat(200), '*', false, 1, undefined, undefined, 100, maxFrame)).toBeUndefined();
    expect(headers.frame('l', '*', 'G', '*', false, 1, undefined, Buffer.alloc(2000), maxHeader, 1000)).toBeUndefined();
    expect(headers.frame('l', '*', 'G', '*', false, 2 ** 32, undefined, undefined, maxHeader, maxFrame)).toBeUndefined();
    expect(headers.frame('l', '*', 'q'.repeat(70_000), '*', false, 1, undefined, undefined, 1 << 20, maxFrame)).toBeUndefined();
    expect(headers.frame('l', 'a', 'G', '*', false, 1, 2 ** 32, undefined, maxHeader, maxFrame)).toBeUndefined();
    expect(headers.frame('l', 'a', 'G', '*', false, 1, -1, undefined, maxHeader, maxFrame)).toBeUndefined();
  });
});
