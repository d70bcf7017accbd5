import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cbor, json } from '../protocol/codec.js';
import { encodeFrame } from '../protocol/framing.js';
import { authFrame, readAuthFrame } from '../protocol/handshake.js';
import { createToken, isToken, resolveTokenFile, tokensMatch } from '../protocol/token.js';

const token = createToken();

describe('the auth frame', () => {
  it('split_anywhere: incomplete until the last byte, then the token and what follows', () => {
    const next = encodeFrame(cbor.encode({ type: 'getlname' }));
    const bytes = Buffer.concat([authFrame(cbor, token), next]);
    const first = authFrame(cbor, token).length;
    for (let cut = 0; cut < first; cut++) expect(readAuthFrame(bytes.subarray(0, cut)).kind).toBe('incomplete');
    const read = readAuthFrame(bytes);
    expect(read).toMatchObject({ kind: 'auth', token, codec: cbor });
    expect(read.kind === 'auth' && read.rest.equals(next)).toBe(true);
  });

  it('json_auth_frame: the encoding of the first header is the connection\'s', () => {
    expect(readAuthFrame(authFrame(json, token))).toMatchObject({ kind: 'auth', token, codec: json });
  });

  it.each([
    ['another_type_first', encodeFrame(cbor.encode({ type: 'getlname' })), /first message must be/],
    ['token_not_text', encodeFrame(cbor.encode({ type: 'auth', token: 7 })), /first message must be/],
    ['header_not_a_map', encodeFrame(cbor.encode(['auth', token])), /first message must be/],
    ['undecodable', encodeFrame(Buffer.from([0xff, 0xff])), /undecodable/],
    ['too_large_to_be_auth', Buffer.from([0, 0, 0x10, 0]), /not an auth frame/],
    ['too_short', Buffer.from([0, 0, 0, 1, 0]), /too short/],
    ['header_length_past_frame', Buffer.from([0, 0, 0, 4, 0, 9, 0xa0, 0xa0]), /does not fit/],
  ])('%s is refused', (_name, bytes, reason) => {
    const read = readAuthFrame(bytes);
    expect(read.kind).toBe('bad');
    expect(read.kind === 'bad' && read.reason).toMatch(reason);
  });
});

describe('the bus token', () => {
  it('token_file_precedence: an explicit file, then -d, then B10_MSGQ_TOKEN_FILE, then B10_DATA_PATH, then ./b10', () => {
    const env = { B10_MSGQ_TOKEN_FILE: '/env/token', B10_DATA_PATH: '/env/data' };
    expect(resolveTokenFile({ tokenFile: '/opt/t', dataPath: '/d' }, env)).toBe('/opt/t');
    expect(resolveTokenFile({ dataPath: '/d' }, env)).toBe('/d/msgq.token');
    expect(resolveTokenFile({}, env)).toBe('/env/token');
    expect(resolveTokenFile({}, { B10_DATA_PATH: '/env/data' })).toBe('/env/data/msgq.token');
    expect(resolveTokenFile({}, {})).toBe(path.resolve('b10/msgq.token'));
  });

  it('tokens_compared_whole: a prefix or a different token does not match', () => {
    expect(isToken(token)).toBe(true);
    expect(tokensMatch(token, token)).toBe(true);
    expect(tokensMatch(token.slice(0, 63), token)).toBe(false);
    expect(tokensMatch(createToken(), token)).toBe(false);
  });
});
