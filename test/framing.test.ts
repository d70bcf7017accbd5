import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../protocol/errors.js';
import { encodeFrame, FrameDecoder } from '../protocol/framing.js';

interface Copied {
  raw: Buffer;
  header: Buffer;
  body: Buffer;
}

function collect(limits = {}): { frames: Copied[]; decoder: FrameDecoder } {
  const frames: Copied[] = [];
  const copy = (b: Buffer): Buffer => Buffer.from(b);
  return {
    frames,
    decoder: new FrameDecoder((f) => frames.push({ raw: copy(f.raw), header: copy(f.header), body: copy(f.body) }), limits),
  };
}

function rawFrame(total: number, headerLen: number, payload = Buffer.alloc(0)): Buffer {
  const prefix = Buffer.alloc(6);
  prefix.writeUInt32BE(total, 0);
  prefix.writeUInt16BE(headerLen, 4);
  return Buffer.concat([prefix, payload]);
}

function codeOf(fn: () => void): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    return (err as ProtocolError).code;
  }
  return undefined;
}

describe('framing', () => {
  const a = encodeFrame(Buffer.from('HEAD'), Buffer.from('body-one'));
  const b = encodeFrame(Buffer.from('H2'));

  it('lays out total, header length, header and body in big-endian order', () => {
    expect(a.readUInt32BE(0)).toBe(2 + 4 + 8);
    expect(a.readUInt16BE(4)).toBe(4);
    expect(a.subarray(6).toString()).toBe('HEADbody-one');
  });

  it('frame_split_byte_by_byte: reassembles one byte at a time', () => {
    const { frames, decoder } = collect();
    const stream = Buffer.concat([a, b]);
    for (let i = 0; i < stream.length; i++) decoder.push(stream.subarray(i, i + 1));
    expect(frames.map((f) => [f.header.toString(), f.body.toString()])).toEqual([
      ['HEAD', 'body-one'],
      ['H2', ''],
    ]);
    expect(decoder.pending).toBe(0);
  });

  it('many_frames_in_one_chunk: decodes all in order', () => {
    const { frames, decoder } = collect();
    const many = Array.from({ length: 100 }, (_, i) => encodeFrame(Buffer.from(`h${i}`), Buffer.from(`b${i}`)));
    decoder.push(Buffer.concat(many));
    expect(frames).toHaveLength(100);
    expect(frames[99]!.header.toString()).toBe('h99');
    expect(frames[42]!.raw.equals(many[42]!)).toBe(true);
  });

  it('frame_split_across_chunks_mid_header: keeps the tail for the next chunk', () => {
    const { frames, decoder } = collect();
    const stream = Buffer.concat([a, b]);
    decoder.push(stream.subarray(0, a.length + 3));
    expect(frames).toHaveLength(1);
    decoder.push(stream.subarray(a.length + 3));
    expect(frames).toHaveLength(2);
  });

  it('large_frame_in_many_chunks: joins once complete', () => {
    const { frames, decoder } = collect();
    const big = encodeFrame(Buffer.from('H'), Buffer.alloc(1_000_000, 7));
    for (let i = 0; i < big.length; i += 1000) decoder.push(big.subarray(i, i + 1000));
    expect(frames).toHaveLength(1);
    expect(frames[0]!.body.length).toBe(1_000_000);
  });

  it('header_length_zero: refused', () => {
    expect(codeOf(() => collect().decoder.push(rawFrame(4, 0, Buffer.from('ab'))))).toBe('ERR_HEADER_LENGTH');
  });

  it('header_longer_than_frame: refused', () => {
    expect(codeOf(() => collect().decoder.push(rawFrame(5, 4, Buffer.from('abc'))))).toBe('ERR_HEADER_LENGTH');
  });

  it('total_too_short: refused', () => {
    expect(codeOf(() => collect().decoder.push(rawFrame(1, 0)))).toBe('ERR_FRAME_LENGTH');
  });

  it('oversize_frame: refused from its length alone, before the body arrives', () => {
    const { decoder } = collect({ maxFrame: 1024 });
    const prefix = rawFrame(2048, 4).subarray(0, 4);
    expect(codeOf(() => decoder.push(prefix))).toBe('ERR_FRAME_TOO_LARGE');
  });

  it('oversize_header: refused', () => {
    const { decoder } = collect({ maxHeader: 8 });
    expect(codeOf(() => decoder.push(rawFrame(2 + 16, 16)))).toBe('ERR_HEADER_TOO_LARGE');
  });

  it('truncated_frame: waits for the rest instead of emitting a partial frame', () => {
    const { frames, decoder } = collect();
    decoder.push(a.subarray(0, a.length - 1));
    expect(frames).toHaveLength(0);
    expect(decoder.pending).toBe(a.length - 1);
  });
});
