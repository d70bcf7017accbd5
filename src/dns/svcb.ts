import { base64Bytes, ipv4Bytes, ipv6Bytes, ipv6Text, type Field } from './fields.js';
import { escapeBytes, quote, RdataError, uint, unescape } from './text.js';
import { WireError } from './wire.js';

/**
 * The SvcParams of SVCB and HTTPS (RFC 9460 2.1): `key=value` pairs, sorted
 * by key on the wire. Known keys by name (dohpath is printed key7, as BIND
 * 9.18 prints it); any other as keyNNNNN with its raw value. Pure.
 */

const KEYS: Readonly<Record<string, number>> = Object.freeze({
  mandatory: 0,
  alpn: 1,
  'no-default-alpn': 2,
  port: 3,
  ipv4hint: 4,
  ech: 5,
  ipv6hint: 6,
  dohpath: 7,
});
const PRINTED: Readonly<Record<number, string>> = Object.freeze({ 0: 'mandatory', 1: 'alpn', 2: 'no-default-alpn', 3: 'port', 4: 'ipv4hint', 5: 'ech', 6: 'ipv6hint' });

function keyCode(text: string): number {
  const known = KEYS[text.toLowerCase()];
  if (known !== undefined) return known;
  const m = /^key(\d{1,5})$/i.exec(text);
  if (!m || Number(m[1]) > 65535) throw new RdataError(`"${text}" is not a SvcParamKey`);
  return Number(m[1]);
}

const keyText = (code: number): string => PRINTED[code] ?? `key${code}`;

/**
 * A value list (RFC 9460 A.1): the value's character-string escapes resolved
 * first, then items split at commas, `\\,` and `\\\\` standing for a comma and a
 * backslash inside an item (as named reads it).
 */
function valueList(text: string): Buffer[] {
  const bytes = unescape(text);
  const items: number[][] = [[]];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x5c && i + 1 < bytes.length) items.at(-1)!.push(bytes[++i]!);
    else if (b === 0x2c) items.push([]);
    else items.at(-1)!.push(b);
  }
  return items.map((item) => Buffer.from(item));
}

/** An item of a value list as named prints it: `,` and `\\` escaped for the list, then as a character-string. */
function listItemText(item: Buffer): string {
  const out: number[] = [];
  for (const b of item) {
    if (b === 0x2c || b === 0x5c) out.push(0x5c);
    out.push(b);
  }
  return escapeBytes(Buffer.from(out));
}

function valueBytes(code: number, text: string | undefined): Buffer {
  const need = (): string => {
    if (text === undefined || text === '') throw new RdataError(`${keyText(code)} needs a value`);
    return text;
  };
  switch (code) {
    case 0: {
      const codes = need()
        .split(',')
        .map(keyCode)
        .sort((a, b) => a - b);
      if (codes.includes(0)) throw new RdataError('mandatory cannot list itself');
      const out = Buffer.alloc(codes.length * 2);
      codes.forEach((c, i) => out.writeUInt16BE(c, i * 2));
      return out;
    }
    case 1:
      return Buffer.concat(
        valueList(need()).map((id) => {
          if (id.length === 0 || id.length > 255) throw new RdataError('an alpn id of 1 to 255 bytes is needed');
          return Buffer.concat([Buffer.from([id.length]), id]);
        }),
      );
    case 2:
      if (text !== undefined && text !== '') throw new RdataError('no-default-alpn takes no value');
      return Buffer.alloc(0);
    case 3: {
      const out = Buffer.alloc(2);
      out.writeUInt16BE(uint(need(), 16, 'port'));
      return out;
    }
    case 4:
      return Buffer.from(need().split(',').flatMap(ipv4Bytes));
    case 5:
      return base64Bytes(need());
    case 6:
      return Buffer.concat(need().split(',').map(ipv6Bytes));
    default:
      return unescape(text ?? '');
  }
}

/** Checks a value's wire form as BIND does (FORMERR for a malformed known key); its text. */
function valueText(code: number, v: Buffer): string | undefined {
  const bad = (): never => {
    throw new WireError(`a malformed ${keyText(code)} value`);
  };
  switch (code) {
    case 0: {
      if (v.length === 0 || v.length % 2 !== 0) bad();
      const codes: string[] = [];
      for (let i = 0; i < v.length; i += 2) codes.push(keyText(v.readUInt16BE(i)));
      return codes.join(',');
    }
    case 1: {
      const ids: string[] = [];
      for (let i = 0; i < v.length; ) {
        const n = v[i]!;
        if (n === 0 || i + 1 + n > v.length) bad();
        ids.push(listItemText(v.subarray(i + 1, i + 1 + n)));
        i += 1 + n;
      }
      if (ids.length === 0) bad();
      return `"${ids.join(',')}"`;
    }
    case 2:
      if (v.length !== 0) bad();
      return undefined;
    case 3:
      if (v.length !== 2) bad();
      return String(v.readUInt16BE(0));
    case 4:
      if (v.length === 0 || v.length % 4 !== 0) bad();
      return Array.from({ length: v.length / 4 }, (_, i) => [...v.subarray(i * 4, i * 4 + 4)].join('.')).join(',');
    case 5:
      return v.toString('base64');
    case 6:
      if (v.length === 0 || v.length % 16 !== 0) bad();
      return Array.from({ length: v.length / 16 }, (_, i) => ipv6Text(v.subarray(i * 16, i * 16 + 16))).join(',');
    default:
      return v.length === 0 ? undefined : quote(v);
  }
}

/** The SvcParams, to the end of the RDATA. */
export const svcParams: Field = {
  fromText(t, w) {
    const params = new Map<number, Buffer>();
    while (!t.done) {
      const token = t.next('a SvcParam');
      if (token.quoted) throw new RdataError('a SvcParam must start with its key');
      const eq = token.text.indexOf('=');
      const key = eq < 0 ? token.text : token.text.slice(0, eq);
      let value = eq < 0 ? undefined : token.text.slice(eq + 1);
      // key="value" comes as two tokens: the key with its "=", then the quoted value.
      if (value === '' && t.tokens[t.i]?.quoted) value = t.next('a value').text;
      const code = keyCode(key);
      if (params.has(code)) throw new RdataError(`${keyText(code)} given twice`);
      // keyNNNNN takes raw octets, also for a key known by name, whose value must then still be well formed.
      const generic = /^key\d+$/i.test(key);
      const bytes = generic ? unescape(value ?? '') : valueBytes(code, value);
      if (generic) {
        try {
          valueText(code, bytes);
        } catch (err) {
          throw new RdataError((err as Error).message);
        }
      }
      params.set(code, bytes);
    }
    const mandatory = params.get(0);
    if (mandatory) {
      for (let i = 0; i < mandatory.length; i += 2) {
        if (!params.has(mandatory.readUInt16BE(i))) throw new RdataError(`mandatory lists ${keyText(mandatory.readUInt16BE(i))}, which is not given`);
      }
    }
    for (const code of [...params.keys()].sort((a, b) => a - b)) {
      const v = params.get(code)!;
      if (v.length > 65535) throw new RdataError(`${keyText(code)} value too long`);
      w.u16(code);
      w.u16(v.length);
      w.bytes(v);
    }
  },
  toText(r) {
    const out: string[] = [];
    let last = -1;
    while (r.left > 0) {
      const code = r.u16('a SvcParamKey');
      if (code <= last) throw new WireError('SvcParams out of order');
      last = code;
      const value = valueText(code, r.bytes(r.u16('a SvcParam length'), 'a SvcParam value'));
      out.push(value === undefined ? keyText(code) : `${keyText(code)}=${value}`);
    }
    return out.join(' ');
  },
  skip(r) {
    this.toText(r);
  },
};
