import { isIPv4, isIPv6 } from 'node:net';
import { absolute } from './name.js';

/**
 * RDATA in presentation form: tokens from a master file in, the canonical
 * text out (names absolute and lowercase, numbers plain, TXT strings quoted
 * with only what must be escaped escaped, IPv6 as RFC 5952 writes it), so two
 * spellings of one record compare equal. Pure functions; a problem throws
 * RdataError with what is wrong, and the caller adds file and line.
 */

export class RdataError extends Error {}

/** A token of the master file: its text (escapes kept) and whether it was quoted. */
export interface Token {
  text: string;
  quoted: boolean;
}

export const TYPE_CODES: Readonly<Record<string, number>> = Object.freeze({
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  DNAME: 39,
  CAA: 257,
});

const TYPE_NAMES: Readonly<Record<number, string>> = Object.freeze(
  Object.fromEntries(Object.entries(TYPE_CODES).map(([name, code]) => [code, name])),
);

/** The type's code from its mnemonic or RFC 3597 TYPEnnn; undefined when neither. */
export function typeCode(token: string): number | undefined {
  const upper = token.toUpperCase();
  if (upper in TYPE_CODES) return TYPE_CODES[upper];
  const m = /^TYPE(\d{1,5})$/.exec(upper);
  if (!m) return undefined;
  const code = Number(m[1]);
  return code <= 65535 ? code : undefined;
}

/** The mnemonic of a type b10 spells out; undefined for any other (kept as RFC 3597 data). */
export function knownTypeName(code: number): string | undefined {
  return TYPE_NAMES[code];
}

/** The type as a master file names it: its mnemonic when b10 knows it, else TYPEnnn. */
export function typeName(code: number): string {
  return TYPE_NAMES[code] ?? `TYPE${code}`;
}

/** A TTL or SOA timer: seconds, or BIND's units (1w2d3h4m5s). */
export function parseTtl(text: string): number {
  let value: number;
  if (/^\d+$/.test(text)) value = Number(text);
  else {
    const m = /^(?:(\d+)[wW])?(?:(\d+)[dD])?(?:(\d+)[hH])?(?:(\d+)[mM])?(?:(\d+)[sS])?$/.exec(text);
    if (!m || text === '') throw new RdataError(`"${text}" is not a time value`);
    const [w, d, h, mi, s] = m.slice(1).map((x) => Number(x ?? 0)) as [number, number, number, number, number];
    value = (((w * 7 + d) * 24 + h) * 60 + mi) * 60 + s;
  }
  if (value > 0xffffffff) throw new RdataError(`"${text}" is larger than 2^32-1`);
  return value;
}

function uint(token: string, bits: 8 | 16 | 32, what: string): number {
  if (!/^\d+$/.test(token)) throw new RdataError(`${what} "${token}" is not a number`);
  const n = Number(token);
  if (n >= 2 ** bits) throw new RdataError(`${what} ${token} does not fit in ${bits} bits`);
  return n;
}

/** The bytes a presentation string stands for (\X and \DDD escapes resolved). */
export function unescape(text: string): Buffer {
  const out: number[] = [];
  const raw = Buffer.from(text, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i]!;
    if (b !== 0x5c) {
      out.push(b);
      continue;
    }
    const digits = /^\d{3}/.exec(raw.subarray(i + 1, i + 4).toString('latin1'));
    if (digits) {
      const v = Number(digits[0]);
      if (v > 255) throw new RdataError(`escape \\${digits[0]} is not a byte`);
      out.push(v);
      i += 3;
    } else if (i + 1 < raw.length) {
      out.push(raw[++i]!);
    } else {
      throw new RdataError('a lone backslash at the end');
    }
  }
  return Buffer.from(out);
}

/** A character-string as BIND prints it: quoted; `"` and `\` escaped, bytes outside printable ASCII as \DDD. */
export function quote(bytes: Buffer): string {
  let s = '"';
  for (const b of bytes) {
    if (b === 0x22 || b === 0x5c) s += `\\${String.fromCharCode(b)}`;
    else if (b < 0x20 || b > 0x7e) s += `\\${String(b).padStart(3, '0')}`;
    else s += String.fromCharCode(b);
  }
  return `${s}"`;
}

function characterString(token: Token): string {
  const bytes = unescape(token.text);
  if (bytes.length > 255) throw new RdataError(`a character-string of ${bytes.length} bytes (at most 255)`);
  return quote(bytes);
}

/** An IPv6 address as RFC 5952 (and BIND) write it: lowercase, no leading zeros, the longest run of 2+ zero groups as ::. */
export function canonicalIpv6(text: string): string {
  if (!isIPv6(text)) throw new RdataError(`"${text}" is not an IPv6 address`);
  // An embedded IPv4 tail becomes the two groups it stands for.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  const hexText = v4
    ? `${text.slice(0, v4.index)}${((Number(v4[1]) << 8) | Number(v4[2])).toString(16)}:${((Number(v4[3]) << 8) | Number(v4[4])).toString(16)}`
    : text;
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((h) => parseInt(h, 16)));
  const [left, right] = hexText.split('::') as [string, string | undefined];
  const l = parse(left);
  const r = right === undefined ? [] : parse(right);
  const groups = right === undefined ? l : [...l, ...new Array<number>(8 - l.length - r.length).fill(0), ...r];
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  // As inet_ntop (and so BIND) writes them: IPv4-mapped and -compatible addresses end in dotted form.
  if (best === 0 && (bestLen === 6 || (bestLen === 5 && groups[5] === 0xffff))) {
    const [g6, g7] = [groups[6]!, groups[7]!];
    return `::${bestLen === 5 ? 'ffff:' : ''}${g6 >> 8}.${g6 & 0xff}.${g7 >> 8}.${g7 & 0xff}`;
  }
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

function expect(tokens: Token[], n: number, what: string): void {
  if (tokens.length !== n) throw new RdataError(`${what} takes ${n} field${n === 1 ? '' : 's'}, got ${tokens.length}`);
}

function plain(tokens: Token[]): string[] {
  return tokens.map((t) => t.text);
}

/** RFC 3597's `\# len hex`: the bytes it gives. */
function genericBytes(tokens: Token[]): Buffer {
  const [, lengthText, ...hexParts] = plain(tokens);
  const length = uint(lengthText ?? '', 16, 'length');
  const hex = hexParts.join('');
  if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw new RdataError('\\# data must be pairs of hex digits');
  const bytes = Buffer.from(hex, 'hex');
  if (bytes.length !== length) throw new RdataError(`\\# says ${length} bytes but gives ${bytes.length}`);
  return bytes;
}

/** Known types given in RFC 3597's generic form, as their own presentation tokens. */
function fromGeneric(type: number, bytes: Buffer): string | undefined {
  switch (type) {
    case 1:
      if (bytes.length !== 4) throw new RdataError(`an A record has 4 bytes, not ${bytes.length}`);
      return [...bytes].join('.');
    case 28: {
      if (bytes.length !== 16) throw new RdataError(`an AAAA record has 16 bytes, not ${bytes.length}`);
      const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2).toString(16));
      return canonicalIpv6(groups.join(':'));
    }
    case 16: {
      const strings: string[] = [];
      for (let i = 0; i < bytes.length; ) {
        const n = bytes[i]!;
        if (i + 1 + n > bytes.length) throw new RdataError('TXT data runs past its end');
        strings.push(quote(bytes.subarray(i + 1, i + 1 + n)));
        i += 1 + n;
      }
      return strings.join(' ');
    }
    default:
      return undefined;
  }
}

/** The canonical presentation of `tokens` as RDATA of `type`, names made absolute against `origin`. */
export function canonicalRdata(type: number, tokens: Token[], origin: string): string {
  if (tokens[0]?.text === '\\#' && !tokens[0].quoted) {
    const bytes = genericBytes(tokens);
    return fromGeneric(type, bytes) ?? `\\# ${bytes.length}${bytes.length > 0 ? ` ${bytes.toString('hex').toUpperCase()}` : ''}`;
  }
  const t = plain(tokens);
  const name = (text: string): string => absolute(text, origin);
  switch (type) {
    case 1:
      expect(tokens, 1, 'A');
      if (!isIPv4(t[0]!)) throw new RdataError(`"${t[0]}" is not an IPv4 address`);
      return t[0]!;
    case 28:
      expect(tokens, 1, 'AAAA');
      return canonicalIpv6(t[0]!);
    case 2:
    case 5:
    case 12:
    case 39:
      expect(tokens, 1, typeName(type));
      return name(t[0]!);
    case 15:
      expect(tokens, 2, 'MX');
      return `${uint(t[0]!, 16, 'preference')} ${name(t[1]!)}`;
    case 6: {
      expect(tokens, 7, 'SOA');
      const [mname, rname, serial, ...timers] = t as [string, string, string, string, string, string, string];
      return [name(mname), name(rname), uint(serial, 32, 'serial'), ...timers.map((x) => parseTtl(x))].join(' ');
    }
    case 16:
      if (tokens.length === 0) throw new RdataError('TXT needs at least one string');
      return tokens.map(characterString).join(' ');
    case 33: {
      expect(tokens, 4, 'SRV');
      const [priority, weight, port, target] = t as [string, string, string, string];
      return `${uint(priority, 16, 'priority')} ${uint(weight, 16, 'weight')} ${uint(port, 16, 'port')} ${name(target)}`;
    }
    case 257: {
      expect(tokens, 3, 'CAA');
      const tag = t[1]!;
      if (!/^[a-zA-Z0-9]{1,255}$/.test(tag)) throw new RdataError(`CAA tag "${tag}" must be letters and digits`);
      return `${uint(t[0]!, 8, 'flags')} ${tag.toLowerCase()} ${quote(unescape(t[2]!))}`;
    }
    default:
      throw new RdataError(`type ${typeName(type)} is not known: give its data as \\# length hex (RFC 3597)`);
  }
}
