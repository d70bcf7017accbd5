/**
 * A fast path for decoding routing headers, which msgq does for every
 * message. Headers are small CBOR maps of text keys to text, integers and
 * booleans; this reads exactly that subset in one pass without the general
 * decoder's machinery. Anything outside the subset returns NOT_SIMPLE, and the
 * caller falls back to the general CBOR decoder, so the result is always the
 * same as cbor-x's: this is a shortcut, not a second definition of the format.
 */

export const NOT_SIMPLE = Symbol('not a simple header');

/** Thrown for input that is not valid CBOR at all (truncated, trailing bytes). */
export class HeaderSyntaxError extends Error {}

const MAX_KEYS = 64;

/** Where the `seq` value's bytes lie in the buffer; -1 when there is none. */
export interface SeqSpan {
  seqStart: number;
  seqEnd: number;
}

export function decodeSimpleHeader(
  buf: Buffer,
  start: number,
  end: number,
  span?: SeqSpan,
): Record<string, unknown> | typeof NOT_SIMPLE {
  if (span) span.seqStart = span.seqEnd = -1;
  let pos = start;
  const initial = buf[pos++]!;
  if (initial >> 5 !== 5) return NOT_SIMPLE;
  let count = initial & 0x1f;
  if (count === 24) {
    if (pos >= end) throw new HeaderSyntaxError('truncated map length');
    count = buf[pos++]!;
  } else if (count === 25) {
    if (pos + 2 > end) throw new HeaderSyntaxError('truncated map length');
    count = buf.readUInt16BE(pos);
    pos += 2;
  } else if (count > 23) {
    return NOT_SIMPLE;
  }
  if (count > MAX_KEYS) return NOT_SIMPLE;
  const out: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    // key: a text string
    if (pos >= end) throw new HeaderSyntaxError('truncated header');
    let b = buf[pos++]!;
    if (b >> 5 !== 3) return NOT_SIMPLE;
    let len = b & 0x1f;
    if (len === 24) {
      if (pos >= end) throw new HeaderSyntaxError('truncated key');
      len = buf[pos++]!;
    } else if (len > 23) {
      return NOT_SIMPLE;
    }
    if (pos + len > end) throw new HeaderSyntaxError('truncated key');
    const key = text(buf, pos, pos + len);
    pos += len;
    if (key === '__proto__') return NOT_SIMPLE;

    // value: text, integer, boolean or null
    if (pos >= end) throw new HeaderSyntaxError('truncated value');
    b = buf[pos++]!;
    const major = b >> 5;
    const info = b & 0x1f;
    if (major === 0 || major === 1) {
      if (span && key === 'seq') span.seqStart = pos - 1;
      let n: number;
      if (info < 24) n = info;
      else if (info === 24) {
        if (pos + 1 > end) throw new HeaderSyntaxError('truncated integer');
        n = buf[pos]!;
        pos += 1;
      } else if (info === 25) {
        if (pos + 2 > end) throw new HeaderSyntaxError('truncated integer');
        n = buf.readUInt16BE(pos);
        pos += 2;
      } else if (info === 26) {
        if (pos + 4 > end) throw new HeaderSyntaxError('truncated integer');
        n = buf.readUInt32BE(pos);
        pos += 4;
      } else {
        return NOT_SIMPLE;
      }
      out[key] = major === 0 ? n : -1 - n;
      if (span && key === 'seq') span.seqEnd = pos;
    } else if (major === 3) {
      if (info === 24) {
        if (pos >= end) throw new HeaderSyntaxError('truncated text');
        len = buf[pos++]!;
      } else if (info === 25) {
        if (pos + 2 > end) throw new HeaderSyntaxError('truncated text');
        len = buf.readUInt16BE(pos);
        pos += 2;
      } else if (info < 24) {
        len = info;
      } else {
        return NOT_SIMPLE;
      }
      if (pos + len > end) throw new HeaderSyntaxError('truncated text');
      out[key] = text(buf, pos, pos + len);
      pos += len;
    } else if (b === 0xf4) {
      out[key] = false;
    } else if (b === 0xf5) {
      out[key] = true;
    } else {
      return NOT_SIMPLE;
    }
  }
  if (pos !== end) throw new HeaderSyntaxError('trailing bytes after the header map');
  return out;
}

/**
 * Header strings repeat endlessly (keys, types, group names, lnames), so short
 * ones are interned: hashing a few bytes and comparing them is much cheaper
 * than making a new string for every message.
 */
const INTERN_MAX_LEN = 64;
const INTERN_MAX_ENTRIES = 4096;
const interned = new Map<number, { bytes: Buffer; value: string }>();

function text(buf: Buffer, start: number, end: number): string {
  const len = end - start;
  if (len > INTERN_MAX_LEN) return buf.toString('utf8', start, end);
  let hash = 0x811c9dc5 ^ len;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ buf[i]!, 0x01000193);
  const hit = interned.get(hash);
  if (hit && hit.bytes.length === len) {
    let same = true;
    for (let i = 0; i < len; i++) {
      if (hit.bytes[i] !== buf[start + i]) {
        same = false;
        break;
      }
    }
    if (same) return hit.value;
  }
  const value = buf.toString('utf8', start, end);
  if (interned.size >= INTERN_MAX_ENTRIES) interned.clear();
  interned.set(hash, { bytes: Buffer.from(buf.subarray(start, end)), value });
  return value;
}

/** The CBOR integer (major type 0 or 1, up to 32 bits) that fills buf[start, end). */
export function readSimpleInt(buf: Buffer, start: number, end: number): number {
  const initial = buf[start]!;
  const info = initial & 0x1f;
  let n: number;
  switch (end - start) {
    case 1:
      n = info;
      break;
    case 2:
      n = buf[start + 1]!;
      break;
    case 3:
      n = buf.readUInt16BE(start + 1);
      break;
    default:
      n = buf.readUInt32BE(start + 1);
  }
  return initial >> 5 === 0 ? n : -1 - n;
}
