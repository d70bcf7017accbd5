import { describe, expect, it } from 'vitest';
import { lengthPrefixed } from '../src/dns/message.js';
import { TcpFrames } from '../src/dns/tcp-frames.js';

const messages = [Buffer.alloc(300, 1), Buffer.alloc(0), Buffer.from('abc'), Buffer.alloc(5000, 7)];
const stream = Buffer.concat(messages.map(lengthPrefixed));

/** Every message `frames` gives once `chunks` are pushed one after the other, taken as each arrives. */
function taken(chunks: Buffer[]): Buffer[] {
  const frames = new TcpFrames();
  const out: Buffer[] = [];
  for (const chunk of chunks) {
    frames.push(chunk);
    for (let m = frames.next(); m !== undefined; m = frames.next()) out.push(Buffer.from(m));
  }
  return out;
}

describe('TCP framing of DNS messages', () => {
  it('byte_at_a_time: each message whole, in order, none early', () => {
    const bytes = [...stream].map((b) => Buffer.from([b]));
    expect(taken(bytes)).toEqual(messages);
  });

  it('several_in_one_chunk_and_split_lengths: a chunk ending inside a length, another carrying two and a half messages', () => {
    for (const cut of [1, 2, 3, 304, 305, 306, 309, 310, stream.length - 1]) {
      expect(taken([stream.subarray(0, cut), stream.subarray(cut)])).toEqual(messages);
    }
    expect(taken([stream])).toEqual(messages);
  });

  it('incomplete_tail: a message not whole yet is not given, nor anything after it', () => {
    const frames = new TcpFrames();
    frames.push(stream.subarray(0, 2 + 300 + 2 + 2 + 3 + 1));
    expect(frames.next()).toEqual(messages[0]);
    expect(frames.next()).toEqual(messages[1]);
    expect(frames.next()).toEqual(messages[2]);
    expect(frames.next()).toBeUndefined();
    frames.push(stream.subarray(2 + 300 + 2 + 2 + 3 + 1));
    expect(frames.next()).toEqual(messages[3]);
    expect(frames.next()).toBeUndefined();
  });
});
