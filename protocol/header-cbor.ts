/**
 * A fast path for decoding routing headers, which msgq does for every
 * message. Headers are small CBOR maps of text keys to text, integers and
 * booleans; this reads exactly that subset in one pass without the general
 * decoder's machinery. Anything outside the subset returns NOT_SIMPLE, and the
 * caller falls back to the general CBOR decoder, so the result is always the
 * same as cbor-x's: this is a shortcut, not a second definition of the format.
 * A header whose envelope fields have values of the wrong kind is left to the
 * general path too, so what this returns needs only parseTypedEnvelope.
 */

export const NOT_SIMPLE = Symbol('not a simple header');

/** Thrown for input that is not valid CBOR at all (truncated, trailing bytes). */
export class HeaderSyntaxError extends Error {}

const MAX_KEYS = 64;

/** Where the `seq` and `from` values' bytes (head included) lie in the buffer; -1 when absent. */
export interface SeqSpan {
  seqStart: number;
  seqEnd: number;
  fromStart?: number;
  fromEnd?: number;
  /** Where `reply`'s value lies; -1 when absent. */
  replyStart?: number;
  replyEnd?: number;
}

export function decodeSimpleHeader(
  buf: Buffer,
  start: number,
  end: number,
  span?: SeqSpan,
): Record<string, unknown> | typeof NOT_SIMPLE {
  if (span) span.seqStart = span.seqEnd = span.fromStart = span.fromEnd = span.replyStart = span.replyEnd = -1;
  const reader = new Reader(buf, start, end);
  const initial = reader.byte('map');
  if (initial >> 5 !== 5) return NOT_SIMPLE;
  const count = reader.argument(initial & 0x1f, 'map length');
  if (count < 0 || count > MAX_KEYS) return NOT_SIMPLE;
  const out: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    // key: a text string
    const keyHead = reader.byte('key');
    if (keyHead >> 5 !== 3) return NOT_SIMPLE;
    const key = reader.key(keyHead & 0x1f);
    if (key === undefined || key === '__proto__') return NOT_SIMPLE;

    // value: text, integer or boolean
    const valueAt = reader.pos;
    const head = reader.byte('value');
    const major = head >> 5;
    if (major === 0 || major === 1) {
      const n = reader.argument(head & 0x1f, 'integer');
      if (n < 0) return NOT_SIMPLE;
      if (!store(out, key, major === 0 ? n : -1 - n, INTEGER)) return NOT_SIMPLE;
      if (span && key === 'seq') {
        span.seqStart = valueAt;
        span.seqEnd = reader.pos;
      } else if (span && key === 'reply') {
        span.replyStart = valueAt;
        span.replyEnd = reader.pos;
      }
    } else if (major === 3) {
      const value = reader.text(head & 0x1f);
      if (value === undefined) return NOT_SIMPLE;
      if (!store(out, key, value, TEXT)) return NOT_SIMPLE;
      if (span && key === 'from') {
        span.fromStart = valueAt;
        span.fromEnd = reader.pos;
      }
    } else if (head === 0xf4) {
      if (!store(out, key, false, BOOLEAN)) return NOT_SIMPLE;
    } else if (head === 0xf5) {
      if (!store(out, key, true, BOOLEAN)) return NOT_SIMPLE;
    } else {
      return NOT_SIMPLE;
    }
  }
  const pos = reader.pos;
  if (pos !== end) throw new HeaderSyntaxError('trailing bytes after the header map');
  return out;
}

const TEXT = 0;
const INTEGER = 1;
const BOOLEAN = 2;

/**
 * out[key] = value, with each envelope field stored at a site of its own:
 * one keyed store seeing every field name is megamorphic in V8 and cost
 * most of a header's decode. False when a field of the envelope has a value
 * of the wrong kind: the caller then takes the general path, whose
 * validation names the field, so a header this returns is already typed
 * right (see parseTypedEnvelope).
 */
function store(out: Record<string, unknown>, key: string, value: unknown, kind: number): boolean {
  switch (key) {
    case 'type':
      out.type = value;
      return kind === TEXT;
    case 'from':
      out.from = value;
      return kind === TEXT;
    case 'to':
      out.to = value;
      return kind === TEXT;
    case 'group':
      out.group = value;
      return kind === TEXT;
    case 'instance':
      out.instance = value;
      return kind === TEXT;
    case 'seq':
      out.seq = value;
      return kind === INTEGER;
    case 'reply':
      out.reply = value;
      return kind === INTEGER;
    case 'want_answer':
      out.want_answer = value;
      return kind === BOOLEAN;
    default:
      out[key] = value;
      return true;
  }
}

/** A position in the header bytes; every read checks it stays inside them. */
class Reader {
  constructor(
    private readonly buf: Buffer,
    public pos: number,
    private readonly end: number,
  ) {}

  byte(what: string): number {
    if (this.pos >= this.end) throw new HeaderSyntaxError(`truncated ${what}`);
    return this.buf[this.pos++]!;
  }

  /** The argument of a CBOR head (a length or an unsigned value, up to 32 bits); -1 for wider forms. */
  argument(info: number, what: string): number {
    if (info < 24) return info;
    const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : 0;
    if (size === 0) return -1;
    if (this.pos + size > this.end) throw new HeaderSyntaxError(`truncated ${what}`);
    const value = size === 1 ? this.buf[this.pos]! : size === 2 ? this.buf.readUInt16BE(this.pos) : this.buf.readUInt32BE(this.pos);
    this.pos += size;
    return value;
  }

  /** A map key: one of the envelope's own field names without making a string, else as text(). */
  key(info: number): string | undefined {
    if (info < 24 && this.pos + info <= this.end) {
      const known = envelopeKey(this.buf, this.pos, info);
      if (known !== undefined) {
        this.pos += info;
        return known;
      }
    }
    return this.text(info);
  }

  /** A text string's content after its head; undefined for indefinite lengths. */
  text(info: number): string | undefined {
    const length = this.argument(info, 'text length');
    if (length < 0) return undefined;
    if (this.pos + length > this.end) throw new HeaderSyntaxError('truncated text');
    const value = internedText(this.buf, this.pos, this.pos + length);
    this.pos += length;
    return value;
  }
}

const KEYS = ['type', 'from', 'to', 'group', 'instance', 'seq', 'reply', 'want_answer'];
/** The envelope's field names by length, as bytes to compare against. */
const KEYS_BY_LENGTH: { name: string; bytes: Buffer }[][] = [];
for (const name of KEYS) (KEYS_BY_LENGTH[name.length] ??= []).push({ name, bytes: Buffer.from(name) });

/** The envelope field name spelled by buf[pos, pos + len), if it is one. */
function envelopeKey(buf: Buffer, pos: number, len: number): string | undefined {
  const candidates = KEYS_BY_LENGTH[len];
  if (candidates === undefined) return undefined;
  for (const { name, bytes } of candidates) {
    let i = 0;
    while (i < len && bytes[i] === buf[pos + i]) i++;
    if (i === len) return name;
  }
  return undefined;
}

/**
 * Header strings repeat endlessly (keys, types, group names, lnames), so short
 * ones are interned: hashing a few bytes and comparing them is much cheaper
 * than making a new string for every message. The table is direct-mapped and
 * holds only the strings: a hit needs every character to equal its byte, which
 * only an ASCII string decoded from those very bytes does. A stream of strings
 * that never repeat costs one slot write each and no memory beyond the table.
 */
const INTERN_MAX_LEN = 64;
const INTERN_SLOTS = 4096;
const interned: (string | undefined)[] = new Array<string | undefined>(INTERN_SLOTS).fill(undefined);

export function internedText(buf: Buffer, start: number, end: number): string {
  const len = end - start;
  if (len > INTERN_MAX_LEN) return buf.toString('utf8', start, end);
  let hash = 0x811c9dc5 ^ len;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ buf[i]!, 0x01000193);
  const slot = (hash ^ (hash >>> 15)) & (INTERN_SLOTS - 1);
  const hit = interned[slot];
  if (hit !== undefined && hit.length === len) {
    let i = 0;
    while (i < len && hit.charCodeAt(i) === buf[start + i]) i++;
    if (i === len) return hit;
  }
  const value = buf.toString('utf8', start, end);
  interned[slot] = value;
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
