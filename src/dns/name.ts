import { WireError } from './wire.js';

/**
 * Domain names in presentation form: absolute, lowercase (DNS names compare
 * without case), escapes kept as RFC 1035 writes them (`\.` inside a label,
 * `\DDD` for any byte). Pure functions.
 */

export class NameError extends Error {}

/** The labels of a presentation name (escapes kept), without the root's empty label. */
export function labels(name: string): string[] {
  if (name === '.' || name === '') return [];
  const out: string[] = [];
  let label = '';
  for (let i = 0; i < name.length; i++) {
    const c = name[i]!;
    if (c === '\\') {
      const digits = /^\d{3}/.exec(name.slice(i + 1));
      const esc = digits ? `\\${digits[0]}` : `\\${name[i + 1] ?? ''}`;
      if (!digits && i + 1 >= name.length) throw new NameError(`"${name}": a name cannot end in a lone backslash`);
      label += esc;
      i += esc.length - 1;
    } else if (c === '.') {
      if (label === '') throw new NameError(`"${name}": empty label`);
      out.push(label);
      label = '';
    } else {
      label += c;
    }
  }
  if (label !== '') out.push(label);
  return out;
}

/** Wire length of one presentation label (escapes count as the one byte they stand for). */
function labelBytes(label: string): number {
  let n = 0;
  for (let i = 0; i < label.length; i++) {
    if (label[i] === '\\') i += /^\d{3}/.test(label.slice(i + 1)) ? 3 : 1;
    n++;
  }
  return n;
}

/**
 * `name` made absolute against `origin` (itself absolute), lowercased and
 * checked: labels of at most 63 bytes, the name at most 255 on the wire.
 */
export function absolute(name: string, origin: string): string {
  return canonicalName(absoluteAsWritten(name, origin));
}

/**
 * `name` made absolute against `origin`, its case kept (names in RDATA keep
 * the case they were written in, as BIND keeps it), checked as absolute() does.
 */
export function absoluteAsWritten(name: string, origin: string): string {
  if (name === '@') return origin;
  const plain = plainAbsolute(name, origin);
  if (plain !== undefined) return plain;
  const isAbsolute = name.endsWith('.') && !name.endsWith('\\.');
  const own = labels(name);
  const all = isAbsolute ? own : [...own, ...labels(origin)];
  let wire = 1;
  for (const label of all) {
    const bytes = labelBytes(label);
    if (bytes > 63) throw new NameError(`"${name}": label "${label}" is longer than 63 bytes`);
    wire += bytes + 1;
  }
  if (wire > 255) throw new NameError(`"${name}": longer than 255 bytes`);
  return all.length === 0 ? '.' : `${all.join('.')}.`;
}

/**
 * absoluteAsWritten() for the names master files are mostly made of, with
 * no escapes (a million-record file has a million owners): its labels are
 * what lies between the dots. Undefined for any other name, and for one
 * that breaks a rule, which the general path then names.
 */
function plainAbsolute(name: string, origin: string): string | undefined {
  if (name === '' || name.includes('\\') || origin.includes('\\')) return undefined;
  const full = name.endsWith('.') ? name : origin === '.' ? `${name}.` : `${name}.${origin}`;
  if (full === '.') return full;
  // On the wire: a length byte per label, its bytes, the root's zero: the text's length and one.
  if (full.length + 1 > 255) return undefined;
  let start = 0;
  for (let i = 0; i < full.length; i++) {
    if (full.charCodeAt(i) !== 0x2e) continue;
    if (i === start || i - start > 63) return undefined;
    start = i + 1;
  }
  return full;
}

/** One spelling per name, the key lookups use: lowercase, escapes as BIND writes them (so `\\065` and `a` are one name). */
function canonicalName(name: string): string {
  if (!name.includes('\\') && !/[^\x21-\x7e]|[A-Z"$();@]/.test(name)) return name;
  return wireToName(nameToWire(name), 0, true);
}

/** True when `name` is `zone` or below it (both absolute, lowercase). */
export function isWithin(name: string, zone: string): boolean {
  if (zone === '.') return true;
  return name === zone || name.endsWith(`.${zone}`);
}

/**
 * A key that sorts names in DNSSEC canonical order (RFC 4034 6.1) closely
 * enough for a zone listing: labels reversed, so a name follows its parent.
 */
export function sortKey(name: string): string {
  // Most names have no escape and no empty label: their labels are taken from the end as they are (a
  // zone's every record has its key made, and this takes 40% less time than labels()'s way).
  if (name.length < 2 || name.startsWith('.') || name.includes('\\') || name.includes('..')) return labels(name).reverse().join('\u0000');
  let end = name.endsWith('.') ? name.length - 1 : name.length;
  let key = '';
  for (let i = end - 1; i >= 0; i--) {
    if (name.charCodeAt(i) !== 0x2e) continue;
    key += `${name.slice(i + 1, end)}\u0000`;
    end = i;
  }
  return key + name.slice(0, end);
}

/** Bytes BIND escapes with a backslash in a presentation label. */
const SPECIAL = new Set([0x22, 0x24, 0x28, 0x29, 0x2e, 0x3b, 0x40, 0x5c]);

/** One wire label in presentation form, as BIND writes it: specials after `\`, other non-printables as \DDD. */
export function presentLabel(buf: Buffer, start: number, end: number, lower = false): string {
  if (plainBytes(buf, start, end)) {
    const label = buf.toString('latin1', start, end);
    return lower ? label.toLowerCase() : label;
  }
  let label = '';
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (b >= 0x41 && b <= 0x5a) label += String.fromCharCode(lower ? b + 32 : b);
    else if (SPECIAL.has(b)) label += `\\${String.fromCharCode(b)}`;
    else if (b <= 0x20 || b >= 0x7f) label += `\\${String(b).padStart(3, '0')}`;
    else label += String.fromCharCode(b);
  }
  return label;
}

/** Whether the bytes from `start` to `end` are all printable ASCII BIND writes as they are (no escape needed). */
function plainBytes(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (b <= 0x20 || b >= 0x7f || SPECIAL.has(b)) return false;
  }
  return true;
}

/** The uncompressed wire form of an absolute presentation name, its case kept. */
export function nameToWire(name: string): Buffer {
  const plain = plainNameToWire(name);
  if (plain !== undefined) return plain;
  const parts: number[] = [];
  for (const label of labels(name)) {
    const bytes: number[] = [];
    for (let i = 0; i < label.length; i++) {
      const c = label.charCodeAt(i);
      if (c !== 0x5c) {
        if (c > 0x7f) bytes.push(...Buffer.from(label[i]!, 'utf8'));
        else bytes.push(c);
        continue;
      }
      const digits = /^\d{3}/.exec(label.slice(i + 1, i + 4));
      if (digits) {
        const v = Number(digits[0]);
        if (v > 255) throw new NameError(`"${name}": escape \\${digits[0]} is not a byte`);
        bytes.push(v);
        i += 3;
      } else {
        bytes.push(label.charCodeAt(++i));
      }
    }
    if (bytes.length > 63) throw new NameError(`"${name}": label "${label}" is longer than 63 bytes`);
    parts.push(bytes.length, ...bytes);
  }
  parts.push(0);
  if (parts.length > 255) throw new NameError(`"${name}": longer than 255 bytes`);
  return Buffer.from(parts);
}

/**
 * nameToWire() for a name of printable ASCII without escapes, as most are
 * (xfrout makes one per record it sends), straight into its buffer;
 * undefined for any other name, or one that breaks a rule: the general
 * path then names the problem.
 */
function plainNameToWire(name: string): Buffer | undefined {
  if (name === '.') return Buffer.from([0]);
  const n = name.length;
  if (n + 1 > 255 || n < 2 || name.charCodeAt(n - 1) !== 0x2e) return undefined;
  const out = Buffer.allocUnsafe(n + 1);
  let lengthAt = 0;
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x2e) {
      const length = i - lengthAt;
      if (length === 0 || length > 63) return undefined;
      out[lengthAt] = length;
      lengthAt = i + 1;
    } else if (c === 0x5c || c < 0x20 || c > 0x7e) {
      return undefined;
    } else {
      out[i + 1] = c;
    }
  }
  out[n] = 0;
  return out;
}

/**
 * The names a message's compression pointers led to, by where they begin:
 * their text (lowercase, no final dot), wire length, where their own bytes
 * end (a pointer there must come after them) and how many pointers they
 * follow.
 */
export type PointedNames = Map<number, { text: string; length: number; end: number; pointers: number }>;

/**
 * The name at `pos` in a message in presentation form, lowercase, as
 * wireToName(decompressName(...).wire, 0, true) gives it, and where it
 * ends in the message, with the same checks, without the wire form
 * between. `pointed` (one per message) keeps each name a pointer led to,
 * so the next pointer there costs a lookup: a transfer's owners mostly
 * end in a pointer to the zone's name.
 */
export function readName(msg: Buffer, pos: number, limit: number, pointed: PointedNames): { name: string; end: number } {
  const { text, end } = readLabels(msg, pos, limit, pointed, 0);
  return { name: `${text}.`, end };
}

function readLabels(msg: Buffer, pos: number, bound: number, pointed: PointedNames, hops: number): { text: string; length: number; end: number; pointers: number } {
  let text = '';
  let length = 0;
  for (;;) {
    if (pos >= bound) throw new WireError('a name runs past the end');
    const len = msg[pos]!;
    if (len === 0) return { text, length: length + 1, end: pos + 1, pointers: 0 };
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= bound) throw new WireError('a pointer runs past the end');
      if (hops + 1 > MAX_POINTER_HOPS) throw new WireError('too many compression pointers');
      const target = ((len & 0x3f) << 8) | msg[pos + 1]!;
      if (target >= pos) throw new WireError('a compression pointer forward');
      let rest = pointed.get(target);
      // A name known already was read with room up to the pointer that led to it first; this pointer
      // may lie among its bytes (inside one of its labels), where decompressName() refuses it.
      if (rest === undefined || rest.end > pos) {
        rest = readLabels(msg, target, pos, pointed, hops + 1);
        pointed.set(target, rest);
      }
      // Its pointers count towards this name's, known or not: a chain of names each ending in a pointer is one name.
      if (hops + 1 + rest.pointers > MAX_POINTER_HOPS) throw new WireError('too many compression pointers');
      if (length + rest.length > 255) throw new WireError('a name longer than 255 bytes');
      return { text: text === '' ? rest.text : rest.text === '' ? text : `${text}.${rest.text}`, length: length + rest.length, end: pos + 2, pointers: rest.pointers + 1 };
    }
    if (len > 63) throw new WireError('a label longer than 63 bytes');
    if (pos + 1 + len > bound) throw new WireError('a label runs past the end');
    if (length + len + 2 > 255) throw new WireError('a name longer than 255 bytes');
    const label = presentLabel(msg, pos + 1, pos + 1 + len, true);
    text = text === '' ? label : `${text}.${label}`;
    length += 1 + len;
    pos += 1 + len;
  }
}

/** The length of the uncompressed name at `pos`, checked to lie within `end`; NameError when it does not. */
export function wireNameEnd(buf: Buffer, pos: number, end: number): number {
  const start = pos;
  for (;;) {
    if (pos >= end) throw new NameError('a name runs past the end of its data');
    const len = buf[pos]!;
    if (len === 0) return pos + 1;
    if (len > 63) throw new NameError('a compressed or malformed name where an uncompressed one belongs');
    pos += len + 1;
    if (pos - start > 254) throw new NameError('a name longer than 255 bytes');
  }
}

/** The uncompressed name at `pos` in presentation form (absolute, its case kept unless `lower`). */
export function wireToName(buf: Buffer, pos: number, lower = false): string {
  const parts: string[] = [];
  for (;;) {
    const len = buf[pos]!;
    if (len === 0) return parts.length === 0 ? '.' : `${parts.join('.')}.`;
    parts.push(presentLabel(buf, pos + 1, pos + 1 + len, lower));
    pos += len + 1;
  }
}

/**
 * Compression pointers one name may follow. Labels need no count of their own:
 * the 255-byte limit stops them at 127. A name may end in a pointer to a name
 * that ends in a pointer, and so on, at most once per label; more is a loop.
 */
const MAX_POINTER_HOPS = 127;

/** Where decompressName() puts a name together before copying it out (there is one thread). */
const nameScratch = Buffer.allocUnsafe(256);

/**
 * The name at `pos` in a message, compression pointers followed (each to an
 * earlier place), as uncompressed wire form, and where it ends in the
 * message; its own bytes must lie before `limit`. WireError when malformed.
 */
export function decompressName(msg: Buffer, pos: number, limit: number): { wire: Buffer; end: number } {
  const out = nameScratch;
  let length = 0;
  let end = -1;
  let hops = 0;
  let bound = limit;
  for (;;) {
    if (pos >= bound) throw new WireError('a name runs past the end');
    const len = msg[pos]!;
    if (len === 0) {
      out[length++] = 0;
      return { wire: Buffer.from(out.subarray(0, length)), end: end < 0 ? pos + 1 : end };
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= bound) throw new WireError('a pointer runs past the end');
      if (++hops > MAX_POINTER_HOPS) throw new WireError('too many compression pointers');
      if (end < 0) end = pos + 2;
      const target = ((len & 0x3f) << 8) | msg[pos + 1]!;
      if (target >= pos) throw new WireError('a compression pointer forward');
      bound = pos;
      pos = target;
      continue;
    }
    if (len > 63) throw new WireError('a label longer than 63 bytes');
    if (pos + 1 + len > bound) throw new WireError('a label runs past the end');
    if (length + len + 2 > 255) throw new WireError('a name longer than 255 bytes');
    msg.copy(out, length, pos, pos + 1 + len);
    length += 1 + len;
    pos += 1 + len;
  }
}
