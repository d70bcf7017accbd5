/**
 * The small pieces of presentation form every RDATA field uses: tokens,
 * escapes, character-strings, time values. Pure; a problem throws RdataError
 * with what is wrong, and the caller adds file and line.
 */

export class RdataError extends Error {}

/** A token of the master file: its text (escapes kept) and whether it was quoted. */
export interface Token {
  text: string;
  quoted: boolean;
}

/** The tokens of one record's RDATA, read in order; names relative to `origin`. */
export class TextIn {
  i = 0;

  constructor(
    readonly tokens: readonly Token[],
    readonly origin: string,
  ) {}

  get done(): boolean {
    return this.i >= this.tokens.length;
  }

  next(what: string): Token {
    const token = this.tokens[this.i++];
    if (!token) throw new RdataError(`missing ${what}`);
    return token;
  }

  /** The text of the next token, which must not be quoted (numbers, names, keywords). */
  word(what: string): string {
    const token = this.next(what);
    if (token.quoted) throw new RdataError(`${what} cannot be a quoted string`);
    return token.text;
  }

  /** Every token left, each as its text. */
  rest(): string[] {
    const out = this.tokens.slice(this.i).map((t) => t.text);
    this.i = this.tokens.length;
    return out;
  }
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

/** An unsigned decimal number of at most `bits` bits. */
export function uint(token: string, bits: 8 | 16 | 32, what: string): number {
  if (!/^\d+$/.test(token)) throw new RdataError(`${what} "${token}" is not a number`);
  const n = Number(token);
  if (n >= 2 ** bits) throw new RdataError(`${what} ${token} does not fit in ${bits} bits`);
  return n;
}

/** The bytes a presentation string stands for (\X and \DDD escapes resolved). */
export function unescape(text: string): Buffer {
  if (!text.includes('\\')) return Buffer.from(text, 'utf8');
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

/** Bytes as BIND prints a character-string, without the quotes: `"` and `\` escaped, non-printables as \DDD. */
export function escapeBytes(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) {
    if (b === 0x22 || b === 0x5c) s += `\\${String.fromCharCode(b)}`;
    else if (b < 0x20 || b > 0x7e) s += `\\${String(b).padStart(3, '0')}`;
    else s += String.fromCharCode(b);
  }
  return s;
}

/** A character-string as BIND prints it: quoted; `"` and `\` escaped, bytes outside printable ASCII as \DDD. */
export function quote(bytes: Uint8Array): string {
  return `"${escapeBytes(bytes)}"`;
}

/** Text in groups of `width` characters, as named-checkzone -D splits long base64 and hex. */
export function split(text: string, width = 56): string {
  if (text.length <= width) return text;
  const parts: string[] = [];
  for (let i = 0; i < text.length; i += width) parts.push(text.slice(i, i + width));
  return parts.join(' ');
}
