import { detectCodec, type Codec } from './codec.js';
import { encodeFrame } from './framing.js';

/**
 * The first frame of a TCP connection: `{type: "auth", token}` as the header,
 * no body. Its encoding fixes the connection's, as any first header does.
 * msgq admits the client when the token is the bus's; else, after a fixed
 * delay, it answers `{type: "auth", error}` and closes the connection.
 */
export const AUTH_TYPE = 'auth';
/** An auth header is about 90 bytes; a first frame larger than this is not one. */
export const MAX_AUTH_FRAME = 1024;

export function authFrame(codec: Codec, token: string): Buffer {
  return encodeFrame(codec.encode({ type: AUTH_TYPE, token }));
}

export function refusalFrame(codec: Codec, error: string): Buffer {
  return encodeFrame(codec.encode({ type: AUTH_TYPE, error }));
}

export type AuthFrame =
  | { kind: 'incomplete' }
  | { kind: 'bad'; reason: string; codec?: Codec }
  | { kind: 'auth'; token: string; codec: Codec; rest: Buffer };

/**
 * Reads a connection's first frame from what has arrived so far: not all of
 * it yet, not an auth frame (with why), or the token and the bytes after it
 * (a client may send its next frames at once).
 */
export function readAuthFrame(buf: Buffer): AuthFrame {
  if (buf.length < 4) return { kind: 'incomplete' };
  const total = buf.readUInt32BE(0);
  if (total > MAX_AUTH_FRAME) return { kind: 'bad', reason: `first frame of ${total} bytes is not an auth frame` };
  if (total < 3) return { kind: 'bad', reason: `frame length ${total} is too short` };
  if (buf.length < 4 + total) return { kind: 'incomplete' };
  const headerLength = buf.readUInt16BE(4);
  if (headerLength < 1 || headerLength > total - 2) return { kind: 'bad', reason: `header length ${headerLength} does not fit the frame` };
  const codec = detectCodec(buf.subarray(6));
  let header: unknown;
  try {
    header = codec.decodeHeader(buf, 6, 6 + headerLength);
  } catch {
    return { kind: 'bad', reason: 'undecodable first header', codec };
  }
  const { type, token } = (header ?? {}) as { type?: unknown; token?: unknown };
  if (type !== AUTH_TYPE || typeof token !== 'string') {
    return { kind: 'bad', reason: `the first message must be {type: "${AUTH_TYPE}", token}`, codec };
  }
  return { kind: 'auth', token, codec, rest: buf.subarray(4 + total) };
}
