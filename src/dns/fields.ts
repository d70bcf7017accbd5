import { isIPv4, isIPv6 } from 'node:net';
import { absoluteAsWritten, nameToWire, NameError, wireNameEnd, wireToName } from './name.js';
import { parseTtl, quote, RdataError, split, TextIn, uint, unescape } from './text.js';
import { ByteReader, ByteWriter, WireError } from './wire.js';

/**
 * The kinds of field RDATA is made of. A record type is declared as its
 * list of fields (types.ts); each field reads its text into wire form,
 * writes its wire form as the canonical text named-checkzone -D prints, and
 * skips over itself on the wire. Name fields are marked, so the names
 * inside RDATA (to compress, to decompress, to follow) come from the same
 * declaration. Pure.
 */

export interface Field {
  /** Text to wire: reads its tokens from `t`, writes to `w`. */
  fromText(t: TextIn, w: ByteWriter): void;
  /** Wire to text; '' for an optional field that is absent. Throws WireError on malformed data. */
  toText(r: ByteReader): string;
  /** Moves past the field on the wire (checking it); names are handled by the caller. */
  skip(r: ByteReader): void;
  /** Set on a domain name; `target` when lookups follow it (additional data, chains). */
  name?: { target: boolean };
}

/** Type mnemonics are the table's (types.ts), handed in here so this file needs no list of its own. */
export interface TypeNames {
  code(text: string): number | undefined;
  name(code: number): string;
}

let typeNames: TypeNames = { code: () => undefined, name: (c) => `TYPE${c}` };

export function useTypeNames(names: TypeNames): void {
  typeNames = names;
}

const skipByText = (f: Pick<Field, 'toText'>) => (r: ByteReader): void => void f.toText(r);

function field(f: Omit<Field, 'skip'> & { skip?: Field['skip'] }): Field {
  return { ...f, skip: f.skip ?? skipByText(f) };
}

/** A domain name, its case kept; relative names made absolute against the origin. */
export function name(target = false): Field {
  return {
    name: { target },
    fromText(t, w) {
      const text = t.word('a domain name');
      try {
        w.bytes(nameToWire(absoluteAsWritten(text, t.origin)));
      } catch (err) {
        if (err instanceof NameError) throw new RdataError(err.message);
        throw err;
      }
    },
    toText(r) {
      const end = checkedName(r);
      const text = wireToName(r.buf, r.pos);
      r.pos = end;
      return text;
    },
    skip(r) {
      r.pos = checkedName(r);
    },
  };
}

function checkedName(r: ByteReader): number {
  try {
    return wireNameEnd(r.buf, r.pos, r.end);
  } catch (err) {
    if (err instanceof NameError) throw new WireError(err.message);
    throw err;
  }
}

/** A mnemonic table: names to numbers, and (when `print`) numbers back to names. */
export interface Mnemonics {
  byName: Readonly<Record<string, number>>;
  print: boolean;
}

function numberOrMnemonic(text: string, bits: 8 | 16, what: string, mnemonics?: Mnemonics): number {
  const known = mnemonics?.byName[text.toUpperCase()];
  if (known !== undefined) return known;
  return uint(text, bits, what);
}

function mnemonicOf(v: number, mnemonics?: Mnemonics): string {
  if (!mnemonics?.print) return String(v);
  for (const [k, n] of Object.entries(mnemonics.byName)) if (n === v) return k;
  return String(v);
}

export function u8(what: string, mnemonics?: Mnemonics): Field {
  return {
    fromText: (t, w) => w.u8(numberOrMnemonic(t.word(what), 8, what, mnemonics)),
    toText: (r) => mnemonicOf(r.u8(what), mnemonics),
    skip: (r) => void r.u8(what),
  };
}

export function u16(what: string, mnemonics?: Mnemonics): Field {
  return {
    fromText: (t, w) => w.u16(numberOrMnemonic(t.word(what), 16, what, mnemonics)),
    toText: (r) => mnemonicOf(r.u16(what), mnemonics),
    skip: (r) => void r.u16(what),
  };
}

export function u32(what: string): Field {
  return {
    fromText: (t, w) => w.u32(uint(t.word(what), 32, what)),
    toText: (r) => String(r.u32(what)),
    skip: (r) => void r.u32(what),
  };
}

/** A 32-bit number of seconds that may be written with BIND's units (SOA timers, original TTL). */
export function ttl(what: string): Field {
  return { ...u32(what), fromText: (t, w) => w.u32(parseTtl(t.word(what))) };
}

/** A record type, by mnemonic or TYPEnnn. */
export function rrtype(what: string): Field {
  return {
    fromText(t, w) {
      const text = t.word(what);
      const code = typeNames.code(text);
      if (code === undefined) throw new RdataError(`${what} "${text}" is not a record type`);
      w.u16(code);
    },
    toText: (r) => typeNames.name(r.u16(what)),
    skip: (r) => void r.u16(what),
  };
}

/** RRSIG and SIG times: YYYYMMDDHHmmSS (UTC) or seconds since 1970, printed as the former. */
export function time(what: string): Field {
  return {
    fromText(t, w) {
      const text = t.word(what);
      const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(text);
      if (!m) return w.u32(uint(text, 32, what));
      const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
      if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) throw new RdataError(`${what} "${text}" is not a date`);
      w.u32(Date.UTC(y, mo - 1, d, h, mi, s) / 1000);
    },
    toText(r) {
      const iso = new Date(r.u32(what) * 1000).toISOString();
      return iso.slice(0, 19).replace(/[-T:]/g, '');
    },
    skip: (r) => void r.u32(what),
  };
}

export function ipv4Bytes(text: string): number[] {
  if (!isIPv4(text)) throw new RdataError(`"${text}" is not an IPv4 address`);
  return text.split('.').map(Number);
}

export const ipv4: Field = {
  fromText: (t, w) => w.bytes(Buffer.from(ipv4Bytes(t.word('an IPv4 address')))),
  toText: (r) => [...r.bytes(4, 'an IPv4 address')].join('.'),
  skip: (r) => void r.bytes(4, 'an IPv4 address'),
};

export function ipv6Bytes(text: string): Buffer {
  if (!isIPv6(text) || text.includes('%')) throw new RdataError(`"${text}" is not an IPv6 address`);
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  const hexText = v4 ? `${text.slice(0, v4.index)}${((Number(v4[1]) << 8) | Number(v4[2])).toString(16)}:${((Number(v4[3]) << 8) | Number(v4[4])).toString(16)}` : text;
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((h) => parseInt(h, 16)));
  const [left, right] = hexText.split('::') as [string, string | undefined];
  const l = parse(left);
  const r = right === undefined ? [] : parse(right);
  const groups = right === undefined ? l : [...l, ...new Array<number>(8 - l.length - r.length).fill(0), ...r];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/** An IPv6 address as RFC 5952 (and BIND, through inet_ntop) writes it. */
export function ipv6Text(bytes: Uint8Array): string {
  const groups = Array.from({ length: 8 }, (_, i) => (bytes[i * 2]! << 8) | bytes[i * 2 + 1]!);
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
  // As inet_ntop writes them: IPv4-mapped and -compatible addresses end in dotted form.
  if (best === 0 && (bestLen === 6 || (bestLen === 5 && groups[5] === 0xffff))) {
    const [g6, g7] = [groups[6]!, groups[7]!];
    return `::${bestLen === 5 ? 'ffff:' : ''}${g6 >> 8}.${g6 & 0xff}.${g7 >> 8}.${g7 & 0xff}`;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

export const ipv6: Field = {
  fromText: (t, w) => w.bytes(ipv6Bytes(t.word('an IPv6 address'))),
  toText: (r) => ipv6Text(r.bytes(16, 'an IPv6 address')),
  skip: (r) => void r.bytes(16, 'an IPv6 address'),
};

function characterString(text: string): Buffer {
  const bytes = unescape(text);
  if (bytes.length > 255) throw new RdataError(`a character-string of ${bytes.length} bytes (at most 255)`);
  return bytes;
}

function writeString(w: ByteWriter, bytes: Buffer): void {
  w.u8(bytes.length);
  w.bytes(bytes);
}

function readString(r: ByteReader): Buffer {
  return r.bytes(r.u8('a character-string length'), 'a character-string');
}

/** One <character-string>. */
export function string(what: string): Field {
  return {
    fromText: (t, w) => writeString(w, characterString(t.next(what).text)),
    toText: (r) => quote(readString(r)),
    skip: (r) => void readString(r),
  };
}

/** A <character-string> that may be left out (ISDN's subaddress): only as the last field. */
export const optionalString: Field = {
  fromText: (t, w) => {
    if (!t.done) writeString(w, characterString(t.next('a string').text));
  },
  toText: (r) => (r.left > 0 ? quote(readString(r)) : ''),
  skip: (r) => {
    if (r.left > 0) readString(r);
  },
};

/** One or more <character-string>s to the end (TXT and its kin). */
export const strings: Field = {
  fromText(t, w) {
    if (t.done) throw new RdataError('at least one string is needed');
    while (!t.done) writeString(w, characterString(t.next('a string').text));
  },
  toText(r) {
    const out: string[] = [];
    while (r.left > 0) out.push(quote(readString(r)));
    return out.join(' ');
  },
  skip(r) {
    while (r.left > 0) readString(r);
  },
};

/** The rest of the RDATA as one string without a length byte (CAA's value, URI's target), printed quoted. */
export const restString: Field = {
  fromText: (t, w) => w.bytes(unescape(t.next('a string').text)),
  toText: (r) => quote(r.rest()),
  skip: (r) => void r.rest(),
};

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function base64Bytes(text: string): Buffer {
  if (text.length % 4 !== 0 || !BASE64.test(text)) throw new RdataError('bad base64 encoding');
  return Buffer.from(text, 'base64');
}

/** Base64 to the end of the RDATA, possibly over several tokens; `-` for nothing when `dash`; split at 56 when `wrap`. */
export function base64(options: { wrap: boolean; dash?: boolean; optional?: boolean }): Field {
  return {
    fromText(t, w) {
      const text = t.rest().join('');
      if (options.dash && text === '-') return;
      if (text === '' && !options.optional) throw new RdataError('missing base64 data');
      w.bytes(base64Bytes(text));
    },
    toText(r) {
      const bytes = r.rest();
      if (options.dash && bytes.length === 0) return '-';
      const text = bytes.toString('base64');
      return options.wrap ? split(text) : text;
    },
    skip: (r) => void r.rest(),
  };
}

function hexBytes(text: string): Buffer {
  if (!/^([0-9a-fA-F]{2})*$/.test(text)) throw new RdataError('bad hex encoding');
  return Buffer.from(text, 'hex');
}

/** Hex to the end of the RDATA, possibly over several tokens. */
export function hex(options: { wrap: boolean }): Field {
  return {
    fromText(t, w) {
      const text = t.rest().join('');
      if (text === '') throw new RdataError('missing hex data');
      w.bytes(hexBytes(text));
    },
    toText(r) {
      const text = r.rest().toString('hex').toUpperCase();
      return options.wrap ? split(text) : text;
    },
    skip: (r) => void r.rest(),
  };
}

/** A hex string after a length byte, `-` when empty (NSEC3 salt). */
export const salt: Field = {
  fromText(t, w) {
    const text = t.word('a salt');
    const bytes = text === '-' ? Buffer.alloc(0) : hexBytes(text);
    if (bytes.length > 255) throw new RdataError('a salt longer than 255 bytes');
    writeString(w, bytes);
  },
  toText(r) {
    const bytes = readString(r);
    return bytes.length === 0 ? '-' : bytes.toString('hex').toUpperCase();
  },
  skip: (r) => void readString(r),
};

const BASE32HEX = '0123456789ABCDEFGHIJKLMNOPQRSTUV';

/** RFC 4648 base32hex, uppercase as named prints it, without padding. */
export function base32hexText(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32HEX[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32HEX[(value << (5 - bits)) & 31];
  return out;
}

function base32hexBytes(text: string): Buffer {
  const upper = text.toUpperCase();
  if (!/^[0-9A-V]*$/.test(upper)) throw new RdataError(`"${text}" is not base32hex`);
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const c of upper) {
    value = ((value << 5) | BASE32HEX.indexOf(c)) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  if (bits >= 5 || (value & ((1 << bits) - 1)) !== 0) throw new RdataError(`"${text}" is not base32hex of whole bytes`);
  return Buffer.from(out);
}

/** NSEC3's next hashed owner: base32hex after a length byte. */
export const nextHashed: Field = {
  fromText(t, w) {
    const bytes = base32hexBytes(t.word('the next hashed owner name'));
    if (bytes.length === 0 || bytes.length > 255) throw new RdataError('a next hashed owner name of 1 to 255 bytes is needed');
    writeString(w, bytes);
  },
  toText: (r) => base32hexText(readString(r)),
  skip: (r) => void readString(r),
};

/** The type bitmap of NSEC, NSEC3 and CSYNC (RFC 4034 4.1.2): the types to the end of the text. */
export const typeBitmap: Field = {
  fromText(t, w) {
    const codes = new Set<number>();
    for (const text of t.rest()) {
      const code = typeNames.code(text);
      if (code === undefined) throw new RdataError(`"${text}" is not a record type`);
      codes.add(code);
    }
    const sorted = [...codes].sort((a, b) => a - b);
    for (let i = 0; i < sorted.length; ) {
      const window = sorted[i]! >> 8;
      const bits = new Uint8Array(32);
      let used = 0;
      for (; i < sorted.length && sorted[i]! >> 8 === window; i++) {
        const low = sorted[i]! & 0xff;
        bits[low >> 3]! |= 0x80 >> (low & 7);
        used = (low >> 3) + 1;
      }
      w.u8(window);
      w.u8(used);
      w.bytes(bits.subarray(0, used));
    }
  },
  toText(r) {
    const out: string[] = [];
    let last = -1;
    while (r.left > 0) {
      const window = r.u8('a bitmap window');
      const length = r.u8('a bitmap length');
      if (window <= last || length < 1 || length > 32) throw new WireError('a malformed type bitmap');
      last = window;
      const bits = r.bytes(length, 'a bitmap');
      for (let i = 0; i < length * 8; i++) if (bits[i >> 3]! & (0x80 >> (i & 7))) out.push(typeNames.name(window * 256 + i));
    }
    return out.join(' ');
  },
  skip(r) {
    this.toText(r);
  },
};

/** NXT's bitmap (RFC 2535 5.2): one bit per type 0-127, no windows. */
export const nxtBitmap: Field = {
  fromText(t, w) {
    const bits = new Uint8Array(16);
    let used = 0;
    for (const text of t.rest()) {
      const code = typeNames.code(text);
      if (code === undefined || code > 127) throw new RdataError(`"${text}" is not a record type NXT can list`);
      bits[code >> 3]! |= 0x80 >> (code & 7);
      used = Math.max(used, (code >> 3) + 1);
    }
    w.bytes(bits.subarray(0, used));
  },
  toText(r) {
    const bits = r.rest();
    const out: string[] = [];
    for (let i = 0; i < bits.length * 8; i++) if (bits[i >> 3]! & (0x80 >> (i & 7))) out.push(typeNames.name(i));
    return out.join(' ');
  },
  skip: (r) => void r.rest(),
};

/** EUI48 and EUI64: bytes as hex pairs joined by dashes. */
export function eui(bytes: 6 | 8): Field {
  const pattern = new RegExp(`^[0-9a-fA-F]{2}(-[0-9a-fA-F]{2}){${bytes - 1}}$`);
  return {
    fromText(t, w) {
      const text = t.word('an EUI');
      if (!pattern.test(text)) throw new RdataError(`"${text}" is not ${bytes} hex pairs joined by "-"`);
      w.bytes(Buffer.from(text.replace(/-/g, ''), 'hex'));
    },
    toText: (r) => [...r.bytes(bytes, 'an EUI')].map((b) => b.toString(16).padStart(2, '0')).join('-'),
    skip: (r) => void r.bytes(bytes, 'an EUI'),
  };
}

/** NID and L64's 64-bit locator: four groups of up to four hex digits, printed without leading zeros. */
export const locator64: Field = {
  fromText(t, w) {
    const text = t.word('a locator');
    if (!/^[0-9a-fA-F]{1,4}(:[0-9a-fA-F]{1,4}){3}$/.test(text)) throw new RdataError(`"${text}" is not four hex groups joined by ":"`);
    for (const g of text.split(':')) w.u16(parseInt(g, 16));
  },
  toText(r) {
    const b = r.bytes(8, 'a locator');
    return [0, 2, 4, 6].map((i) => b.readUInt16BE(i).toString(16)).join(':');
  },
  skip: (r) => void r.bytes(8, 'a locator'),
};

/** Fields with a shape of their own, read and written whole. */
export function special(f: Omit<Field, 'skip'> & { skip?: Field['skip'] }): Field {
  return field(f);
}

export { hexBytes, base64Bytes };

/** Errors from reading wire data: checked lengths, names that run on. */
export function isWireProblem(err: unknown): err is Error {
  return err instanceof WireError || err instanceof RdataError;
}
