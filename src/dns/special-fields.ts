import { readFileSync } from 'node:fs';
import { base64Bytes, hexBytes, ipv4Bytes, ipv6Bytes, ipv6Text, name, special, type Field } from './fields.js';
import { RdataError, split, uint } from './text.js';
import { ByteReader, WireError } from './wire.js';

/**
 * The fields whose shape is their own: LOC, APL, WKS, GPOS, NSAP, A6,
 * IPSECKEY and AMTRELAY gateways, HIP, CAA's tag, ATMA. Each reads and
 * writes what BIND 9 reads and writes (checked with named-checkzone -D).
 */

// ---- LOC (RFC 1876) ----

const POWERS = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000];

/** A size or precision in metres as LOC's mantissa-exponent byte (of centimetres). */
function locSize(text: string, what: string): number {
  const m = /^(\d+)(?:\.(\d{1,2}))?m?$/.exec(text);
  if (!m) throw new RdataError(`LOC ${what} "${text}" is not a size in metres`);
  const cm = Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
  if (cm > 9e9) throw new RdataError(`LOC ${what} "${text}" is too large`);
  let exp = 0;
  while (cm >= 10 * POWERS[exp]! && exp < 9) exp++;
  const mantissa = Math.floor(cm / POWERS[exp]!);
  return (mantissa << 4) | exp;
}

function locSizeText(byte: number): string {
  const mantissa = byte >> 4;
  const exp = byte & 0x0f;
  if (mantissa > 9 || exp > 9) throw new WireError('a malformed LOC size');
  if (exp >= 2) return `${mantissa * POWERS[exp - 2]!}m`;
  return `0.${String(mantissa * POWERS[exp]!).padStart(2, '0')}m`;
}

function locAngle(tokens: string[], at: { i: number }, hemispheres: string, limit: number): number {
  const degrees = uint(tokens[at.i++] ?? '', 16, 'LOC degrees');
  let minutes = 0;
  let ms = 0;
  if (/^\d+$/.test(tokens[at.i] ?? '')) {
    minutes = Number(tokens[at.i++]);
    const sec = /^(\d+)(?:\.(\d{1,3}))?$/.exec(tokens[at.i] ?? '');
    if (sec) {
      ms = Number(sec[1]) * 1000 + Number((sec[2] ?? '').padEnd(3, '0'));
      at.i++;
    }
  }
  const hemisphere = (tokens[at.i++] ?? '').toUpperCase();
  if (hemisphere.length !== 1 || !hemispheres.includes(hemisphere)) throw new RdataError(`LOC needs ${hemispheres[0]} or ${hemispheres[1]}, not "${hemisphere}"`);
  if (degrees > limit || minutes > 59 || ms > 59999 || (degrees === limit && (minutes > 0 || ms > 0))) throw new RdataError('LOC angle out of range');
  const total = ((degrees * 60 + minutes) * 60) * 1000 + ms;
  return hemisphere === hemispheres[0] ? 0x80000000 + total : 0x80000000 - total;
}

function locAngleText(value: number, hemispheres: string): string {
  let v = value - 0x80000000;
  const hemisphere = v >= 0 ? hemispheres[0] : hemispheres[1];
  v = Math.abs(v);
  const ms = v % 1000;
  v = (v - ms) / 1000;
  const s = v % 60;
  v = (v - s) / 60;
  const m = v % 60;
  const d = (v - m) / 60;
  return `${d} ${m} ${s}.${String(ms).padStart(3, '0')} ${hemisphere}`;
}

export const loc: Field = special({
  fromText(t, w) {
    const tokens = t.rest();
    const at = { i: 0 };
    const lat = locAngle(tokens, at, 'NS', 90);
    const lon = locAngle(tokens, at, 'EW', 180);
    const alt = /^(-?\d+)(?:\.(\d{1,2}))?m?$/.exec(tokens[at.i++] ?? '');
    if (!alt) throw new RdataError('LOC needs an altitude in metres');
    const negative = alt[1]!.startsWith('-');
    const cm = Math.abs(Number(alt[1])) * 100 + Number((alt[2] ?? '').padEnd(2, '0'));
    const altitude = 10000000 + (negative ? -cm : cm);
    if (altitude < 0 || altitude > 0xffffffff) throw new RdataError('LOC altitude out of range');
    const sizes = [locSize(tokens[at.i] ?? '1m', 'size'), locSize(tokens[at.i + 1] ?? '10000m', 'horizontal precision'), locSize(tokens[at.i + 2] ?? '10m', 'vertical precision')];
    if (tokens.length > at.i + 3) throw new RdataError('LOC has too many fields');
    w.u8(0);
    for (const s of sizes) w.u8(s);
    w.u32(lat);
    w.u32(lon);
    w.u32(altitude);
  },
  toText(r) {
    if (r.u8('LOC version') !== 0) throw new WireError('LOC version not 0');
    const [size, hp, vp] = [r.u8(), r.u8(), r.u8()].map(locSizeText);
    const lat = locAngleText(r.u32(), 'NS');
    const lon = locAngleText(r.u32(), 'EW');
    const cm = r.u32() - 10000000;
    const alt = `${cm < 0 ? '-' : ''}${Math.floor(Math.abs(cm) / 100)}.${String(Math.abs(cm) % 100).padStart(2, '0')}m`;
    if (r.left !== 0) throw new WireError('LOC data after its end');
    return `${lat} ${lon} ${alt} ${size} ${hp} ${vp}`;
  },
});

// ---- APL (RFC 3123) ----

export const apl: Field = special({
  fromText(t, w) {
    for (const item of t.rest()) {
      const m = /^(!?)([12]):([^/]+)\/(\d+)$/.exec(item);
      if (!m) throw new RdataError(`"${item}" is not an APL item ([!]afi:address/prefix)`);
      const family = Number(m[2]);
      const address = family === 1 ? Buffer.from(ipv4Bytes(m[3]!)) : ipv6Bytes(m[3]!);
      const prefix = Number(m[4]);
      if (prefix > address.length * 8) throw new RdataError(`APL prefix /${prefix} too long`);
      let length = address.length;
      while (length > 0 && address[length - 1] === 0) length--;
      w.u16(family);
      w.u8(prefix);
      w.u8((m[1] ? 0x80 : 0) | length);
      w.bytes(address.subarray(0, length));
    }
  },
  toText(r) {
    const out: string[] = [];
    while (r.left > 0) {
      const family = r.u16('APL family');
      const prefix = r.u8('APL prefix');
      const nl = r.u8('APL length');
      const length = nl & 0x7f;
      const size = family === 1 ? 4 : family === 2 ? 16 : 0;
      if (size === 0 || length > size || prefix > size * 8) throw new WireError('a malformed APL item');
      const address = Buffer.alloc(size);
      r.bytes(length, 'APL address').copy(address);
      const text = family === 1 ? [...address].join('.') : ipv6Text(address);
      out.push(`${nl & 0x80 ? '!' : ''}${family}:${text}/${prefix}`);
    }
    return out.join(' ');
  },
});

// ---- WKS (RFC 1035 3.4.2) ----

const PROTOCOLS: Readonly<Record<string, number>> = Object.freeze({ tcp: 6, udp: 17 });
let services: Map<string, number> | undefined;

/** A service name's port for `protocol`, from /etc/services as getservbyname reads it (BIND uses that). */
function servicePort(text: string, protocol: string): number | undefined {
  if (!services) {
    services = new Map();
    try {
      for (const line of readFileSync('/etc/services', 'utf8').split('\n')) {
        const [entry] = line.split('#');
        const [svc, portProto, ...aliases] = (entry ?? '').trim().split(/\s+/);
        const m = /^(\d+)\/(\w+)$/.exec(portProto ?? '');
        if (!svc || !m) continue;
        for (const n of [svc, ...aliases]) if (!services.has(`${n}/${m[2]}`)) services.set(`${n.toLowerCase()}/${m[2]}`, Number(m[1]));
      }
    } catch {
      // Without /etc/services only port numbers are understood.
    }
  }
  return services.get(`${text.toLowerCase()}/${protocol}`);
}

export const wks: Field = special({
  fromText(t, w) {
    w.bytes(Buffer.from(ipv4Bytes(t.word('an IPv4 address'))));
    const protoText = t.word('a protocol').toLowerCase();
    const protocol = PROTOCOLS[protoText] ?? uint(protoText, 8, 'protocol');
    w.u8(protocol);
    const protoName = Object.keys(PROTOCOLS).find((k) => PROTOCOLS[k] === protocol) ?? '';
    const bits = new Uint8Array(8192);
    let used = 0;
    for (const svc of t.rest()) {
      const port = /^\d+$/.test(svc) ? uint(svc, 16, 'port') : servicePort(svc, protoName);
      if (port === undefined) throw new RdataError(`unknown service "${svc}"`);
      bits[port >> 3]! |= 0x80 >> (port & 7);
      used = Math.max(used, (port >> 3) + 1);
    }
    w.bytes(bits.subarray(0, used));
  },
  toText(r) {
    const address = [...r.bytes(4, 'an IPv4 address')].join('.');
    const protocol = r.u8('protocol');
    const bits = r.rest();
    const ports: number[] = [];
    for (let i = 0; i < bits.length * 8; i++) if (bits[i >> 3]! & (0x80 >> (i & 7))) ports.push(i);
    return [address, protocol, ...ports].join(' ');
  },
});

// ---- NSAP (RFC 1706): 0x and hex, dots allowed between ----

export const nsap: Field = special({
  fromText(t, w) {
    const text = t.rest().join('');
    if (!/^0x/i.test(text)) throw new RdataError('NSAP must begin with 0x');
    const digits = text.slice(2).replace(/\./g, '');
    const bytes = hexBytes(digits);
    if (bytes.length === 0) throw new RdataError('NSAP needs data');
    w.bytes(bytes);
  },
  toText: (r) => `0x${r.rest().toString('hex')}`,
});

// ---- ATMA (ATM Forum): format 0 hex (AESA), format 1 "+" and digits (E.164) ----

export const atma: Field = special({
  fromText(t, w) {
    const text = t.word('an ATM address');
    if (text.startsWith('+')) {
      if (!/^\+\d+$/.test(text.replace(/\./g, ''))) throw new RdataError('an E.164 ATM address is "+" and digits');
      w.u8(1);
      w.bytes(Buffer.from(text.slice(1).replace(/\./g, ''), 'latin1'));
    } else {
      w.u8(0);
      w.bytes(hexBytes(text.replace(/\./g, '')));
    }
  },
  toText(r) {
    const format = r.u8('ATMA format');
    const data = r.rest();
    if (format === 1) return `+${data.toString('latin1')}`;
    if (format !== 0) throw new WireError(`ATMA format ${format} is not 0 or 1`);
    return data.toString('hex');
  },
});

// ---- A6 (RFC 2874): prefix length, the address bits below it, the prefix's name ----

const prefixName = name();

export const a6: Field = special({
  fromText(t, w) {
    const prefix = uint(t.word('A6 prefix length'), 8, 'A6 prefix length');
    if (prefix > 128) throw new RdataError('A6 prefix length over 128');
    w.u8(prefix);
    const octets = 16 - Math.floor(prefix / 8);
    if (prefix < 128) {
      const address = ipv6Bytes(t.word('an IPv6 address'));
      // The bits above the prefix length are not sent.
      if (prefix % 8 !== 0) address[16 - octets]! &= 0xff >> prefix % 8;
      w.bytes(address.subarray(16 - octets));
    }
    if (prefix > 0) prefixName.fromText(t, w);
  },
  toText(r) {
    const prefix = r.u8('A6 prefix length');
    if (prefix > 128) throw new WireError('A6 prefix length over 128');
    const octets = 16 - Math.floor(prefix / 8);
    const parts = [String(prefix)];
    const address = Buffer.alloc(16);
    if (prefix < 128) {
      r.bytes(octets, 'A6 address').copy(address, 16 - octets);
      parts.push(ipv6Text(address));
    } else parts.push('');
    if (prefix > 0) parts.push(prefixName.toText(r));
    return parts.join(' ');
  },
});

// ---- IPSECKEY (RFC 4025) and AMTRELAY (RFC 8777) gateways: by their type, none, IPv4, IPv6 or a name ----

const gatewayName = name();

function gatewayFromText(type: number, t: import('./text.js').TextIn, w: import('./wire.js').ByteWriter): void {
  switch (type) {
    case 0:
      if (t.word('a gateway') !== '.') throw new RdataError('gateway type 0 takes "." as its gateway');
      return;
    case 1:
      return w.bytes(Buffer.from(ipv4Bytes(t.word('an IPv4 gateway'))));
    case 2:
      return w.bytes(ipv6Bytes(t.word('an IPv6 gateway')));
    case 3:
      return gatewayName.fromText(t, w);
    default:
      throw new RdataError(`gateway type ${type} is not 0 to 3`);
  }
}

function gatewayToText(type: number, r: ByteReader): string {
  switch (type) {
    case 0:
      return '.';
    case 1:
      return [...r.bytes(4, 'an IPv4 gateway')].join('.');
    case 2:
      return ipv6Text(r.bytes(16, 'an IPv6 gateway'));
    case 3:
      return gatewayName.toText(r);
    default:
      throw new WireError(`gateway type ${type} is not 0 to 3`);
  }
}

export const ipseckey: Field = special({
  fromText(t, w) {
    w.u8(uint(t.word('precedence'), 8, 'precedence'));
    const type = uint(t.word('gateway type'), 8, 'gateway type');
    w.u8(type);
    w.u8(uint(t.word('algorithm'), 8, 'algorithm'));
    gatewayFromText(type, t, w);
    const key = t.rest().join('');
    if (key !== '') w.bytes(base64Bytes(key));
  },
  toText(r) {
    const precedence = r.u8('precedence');
    const type = r.u8('gateway type');
    const algorithm = r.u8('algorithm');
    const gateway = gatewayToText(type, r);
    const key = r.rest();
    return [precedence, type, algorithm, gateway, ...(key.length > 0 ? [split(key.toString('base64'))] : [])].join(' ');
  },
});

export const amtrelay: Field = special({
  fromText(t, w) {
    w.u8(uint(t.word('precedence'), 8, 'precedence'));
    const discovery = uint(t.word('discovery optional'), 8, 'discovery optional');
    if (discovery > 1) throw new RdataError('the discovery optional bit is 0 or 1');
    const type = uint(t.word('relay type'), 8, 'relay type');
    if (type > 127) throw new RdataError('relay type over 127');
    w.u8((discovery << 7) | type);
    if (type === 0) {
      if (!t.done && t.word('relay') !== '.') throw new RdataError('relay type 0 takes "." as its relay');
      return;
    }
    gatewayFromText(type, t, w);
  },
  toText(r) {
    const precedence = r.u8('precedence');
    const byte = r.u8('relay type');
    const type = byte & 0x7f;
    const relay = type === 0 ? '.' : gatewayToText(type, r);
    return `${precedence} ${byte >> 7} ${type} ${relay}`;
  },
});

// ---- HIP (RFC 8005): HIT and key lengths up front, then HIT, key, rendezvous servers ----

const rendezvous = name();

export const hip: Field = special({
  fromText(t, w) {
    const algorithm = uint(t.word('algorithm'), 8, 'algorithm');
    const hit = hexBytes(t.word('a HIT'));
    const key = base64Bytes(t.word('a public key'));
    if (hit.length === 0 || hit.length > 255) throw new RdataError('a HIT of 1 to 255 bytes is needed');
    if (key.length === 0) throw new RdataError('a public key is needed');
    w.u8(hit.length);
    w.u8(algorithm);
    w.u16(key.length);
    w.bytes(hit);
    w.bytes(key);
    while (!t.done) rendezvous.fromText(t, w);
  },
  toText(r) {
    const hitLength = r.u8('HIT length');
    const algorithm = r.u8('algorithm');
    const keyLength = r.u16('key length');
    const hit = r.bytes(hitLength, 'HIT').toString('hex').toUpperCase();
    const key = r.bytes(keyLength, 'public key').toString('base64');
    const servers: string[] = [];
    while (r.left > 0) servers.push(rendezvous.toText(r));
    return [algorithm, hit, key, ...servers].join(' ');
  },
});

// ---- CAA's tag (RFC 8659): letters and digits after a length byte ----

export const caaTag: Field = special({
  fromText(t, w) {
    const tag = t.word('a tag');
    if (!/^[a-zA-Z0-9]{1,255}$/.test(tag)) throw new RdataError(`CAA tag "${tag}" must be letters and digits`);
    w.u8(tag.length);
    w.bytes(Buffer.from(tag, 'latin1'));
  },
  toText(r) {
    const tag = r.bytes(r.u8('tag length'), 'tag');
    if (tag.length === 0) throw new WireError('an empty CAA tag');
    return tag.toString('latin1');
  },
});
