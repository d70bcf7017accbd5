import dnsPacket from 'dns-packet';
import type { Answer } from './lookup.js';
import { knownTypeName, unescape } from './rdata.js';
import type { RRset } from './zone.js';

/**
 * DNS messages on the wire. Queries are read by hand, so every way a packet
 * can be malformed is found exactly (FORMERR for a truncated question,
 * trailing bytes, a second OPT; silence for a response or a runt). Responses
 * are encoded with dns-packet.
 */

export const OPCODE_QUERY = 0;
export const OPCODE_NOTIFY = 4;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, YXDOMAIN: 6, NOTAUTH: 9 } as const;
/** RFC 6891: version not understood (the extended rcode 16: 1 in the OPT, 0 in the header). */
const BADVERS = 16;
const OPT = 41;
/** What auth offers EDNS clients: the size BIND 9.18 and the DNS flag day settled on. */
export const EDNS_PAYLOAD = 1232;
const HEADER = 12;

export interface Edns {
  payload: number;
  version: number;
  dnssecOk: boolean;
}

export interface Query {
  id: number;
  opcode: number;
  rd: boolean;
  /** Absolute, lowercase, for lookups. */
  qname: string;
  qtype: number;
  qclass: number;
  /** The question as sent (its case kept), to echo. */
  question: Buffer;
  edns: Edns | undefined;
  /** Count of the query's answer section (a NOTIFY may carry the new SOA there). */
  ancount: number;
}

export type Parsed =
  | { kind: 'query'; query: Query }
  | { kind: 'formerr'; id: number; opcode: number; rd: boolean; why: string }
  | { kind: 'drop'; why: string };

class Malformed extends Error {}

/**
 * Compression pointers one name may follow. Labels need no count of their own:
 * the 255-byte limit stops them at 127. A name may end in a pointer to a name
 * that ends in a pointer, and so on, at most once per label; more is a loop.
 */
const MAX_POINTER_HOPS = 127;

/** A name at `pos` in presentation form (lowercase, absolute) and where it ends; pointers followed when `pointers`. */
function readName(buf: Buffer, pos: number, pointers: boolean): { name: string; end: number } {
  const parts: string[] = [];
  let end = -1;
  let wire = 1;
  let hops = 0;
  for (;;) {
    if (pos >= buf.length) throw new Malformed('name runs past the end');
    const len = buf[pos]!;
    if (len === 0) {
      if (end < 0) end = pos + 1;
      return { name: parts.length === 0 ? '.' : `${parts.join('.')}.`, end };
    }
    if ((len & 0xc0) === 0xc0) {
      if (!pointers) throw new Malformed('compression pointer in the question');
      if (pos + 1 >= buf.length) throw new Malformed('pointer runs past the end');
      if (++hops > MAX_POINTER_HOPS) throw new Malformed('too many compression pointers');
      if (end < 0) end = pos + 2;
      pos = ((len & 0x3f) << 8) | buf[pos + 1]!;
      continue;
    }
    if (len > 63) throw new Malformed('label longer than 63 bytes');
    if (pos + 1 + len > buf.length) throw new Malformed('label runs past the end');
    wire += len + 1;
    if (wire > 255) throw new Malformed('name longer than 255 bytes');
    let label = '';
    for (let i = pos + 1; i <= pos + len; i++) {
      const b = buf[i]!;
      if (b >= 0x41 && b <= 0x5a) label += String.fromCharCode(b + 32);
      else if (b === 0x2e || b === 0x5c) label += `\\${String.fromCharCode(b)}`;
      else if (b <= 0x20 || b >= 0x7f) label += `\\${String(b).padStart(3, '0')}`;
      else label += String.fromCharCode(b);
    }
    parts.push(label);
    pos += 1 + len;
  }
}

/** Reads a query; decides whether it is answerable, deserves FORMERR, or is dropped. */
export function parseQuery(buf: Buffer): Parsed {
  if (buf.length < HEADER) return { kind: 'drop', why: 'shorter than a DNS header' };
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  if (flags & 0x8000) return { kind: 'drop', why: 'a response, not a query' };
  const opcode = (flags >> 11) & 0xf;
  const rd = (flags & 0x0100) !== 0;
  const formerr = (why: string): Parsed => ({ kind: 'formerr', id, opcode, rd, why });
  const qdcount = buf.readUInt16BE(4);
  const ancount = buf.readUInt16BE(6);
  const nscount = buf.readUInt16BE(8);
  const arcount = buf.readUInt16BE(10);
  if (qdcount !== 1) return formerr(`${qdcount} questions`);
  try {
    const { name: qname, end } = readName(buf, HEADER, false);
    if (end + 4 > buf.length) throw new Malformed('question runs past the end');
    const qtype = buf.readUInt16BE(end);
    const qclass = buf.readUInt16BE(end + 2);
    const question = buf.subarray(HEADER, end + 4);
    let pos = end + 4;
    let edns: Edns | undefined;
    for (let i = 0; i < ancount + nscount + arcount; i++) {
      const rrName = readName(buf, pos, true);
      pos = rrName.end;
      if (pos + 10 > buf.length) throw new Malformed('record runs past the end');
      const type = buf.readUInt16BE(pos);
      const rdlength = buf.readUInt16BE(pos + 8);
      if (pos + 10 + rdlength > buf.length) throw new Malformed('record data runs past the end');
      if (type === OPT) {
        if (i < ancount + nscount || rrName.name !== '.') throw new Malformed('OPT outside the additional section or not at the root');
        if (edns) throw new Malformed('two OPT records');
        const ttl = buf.readUInt32BE(pos + 4);
        edns = { payload: buf.readUInt16BE(pos + 2), version: (ttl >>> 16) & 0xff, dnssecOk: (ttl & 0x8000) !== 0 };
      }
      pos += 10 + rdlength;
    }
    if (pos !== buf.length) throw new Malformed(`${buf.length - pos} bytes after the last record`);
    return { kind: 'query', query: { id, opcode, rd, qname, qtype, qclass, question, edns, ancount } };
  } catch (err) {
    if (err instanceof Malformed) return formerr(err.message);
    throw err;
  }
}

/** dns-packet's shape of our presentation RDATA. */
function packetData(type: number, rdata: string): unknown {
  const f = rdata.split(' ');
  const name = (n: string): string => (n === '.' ? '.' : n.slice(0, -1));
  if (f[0] === '\\#') return Buffer.from(f.slice(2).join(''), 'hex');
  switch (type) {
    case 1:
    case 28:
      return rdata;
    case 2:
    case 5:
    case 12:
    case 39:
      return name(rdata);
    case 15:
      return { preference: Number(f[0]), exchange: name(f[1]!) };
    case 6:
      return { mname: name(f[0]!), rname: name(f[1]!), serial: Number(f[2]), refresh: Number(f[3]), retry: Number(f[4]), expire: Number(f[5]), minimum: Number(f[6]) };
    case 16:
      return [...rdata.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => unescape(m[1]!));
    case 33:
      return { priority: Number(f[0]), weight: Number(f[1]), port: Number(f[2]), target: name(f[3]!) };
    case 257: {
      const value = /"((?:[^"\\]|\\.)*)"$/.exec(rdata)![1]!;
      return { flags: Number(f[0]), tag: f[1], value: unescape(value).toString('latin1') };
    }
    default:
      throw new Error(`no wire form for type ${type}`);
  }
}

export function packetRecords(rrsets: RRset[]): dnsPacket.Answer[] {
  const out: dnsPacket.Answer[] = [];
  for (const rrset of rrsets) {
    const type = knownTypeName(rrset.type) ?? `UNKNOWN_${rrset.type}`;
    for (const rdata of rrset.rdatas) {
      out.push({
        name: rrset.name === '.' ? '.' : rrset.name.slice(0, -1),
        type: type as 'A',
        class: 'IN',
        ttl: rrset.ttl,
        data: packetData(rrset.type, rdata) as string,
      });
    }
  }
  return out;
}

function optRecord(rcode: number): dnsPacket.Answer {
  return { name: '.', type: 'OPT', udpPayloadSize: EDNS_PAYLOAD, extendedRcode: rcode >> 4, ednsVersion: 0, flags: 0 } as unknown as dnsPacket.Answer;
}

function flags(query: { opcode: number; rd: boolean }, rcode: number, aa: boolean, tc: boolean): number {
  return (query.opcode << 11) | (aa ? 0x0400 : 0) | (tc ? 0x0200 : 0) | (query.rd ? 0x0100 : 0) | (rcode & 0xf);
}

/** Puts the query's own question (its case, as sent) in place of the encoded one: same length, same offsets. */
function echoQuestion(response: Buffer, query: Query): Buffer {
  // Only where the encoded question has the very length of the sent one (names dns-packet cannot spell differ).
  if (readName(response, HEADER, false).end + 4 - HEADER === query.question.length) query.question.copy(response, HEADER);
  return response;
}

/** A message as DNS over TCP carries it: its length in two bytes, then the message. */
export function lengthPrefixed(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(2 + message.length);
  out.writeUInt16BE(message.length, 0);
  message.copy(out, 2);
  return out;
}

/** A response with nothing but the question (and OPT): errors, and truncated answers. */
export function bareResponse(query: Query, rcode: number, options: { aa?: boolean; tc?: boolean } = {}): Buffer {
  const out = dnsPacket.encode({
    id: query.id,
    type: 'response',
    flags: flags(query, rcode, options.aa ?? false, options.tc ?? false),
    questions: [{ name: query.qname === '.' ? '.' : query.qname.slice(0, -1), type: `UNKNOWN_${query.qtype}` as 'A', class: 'IN' }],
    additionals: query.edns ? [optRecord(rcode)] : [],
  });
  return echoQuestion(out, query);
}

/** FORMERR for a query that could not be read: the header only, with its id, opcode and RD. */
export function formerr(parsed: { id: number; opcode: number; rd: boolean }): Buffer {
  const out = Buffer.alloc(HEADER);
  out.writeUInt16BE(parsed.id, 0);
  out.writeUInt16BE(0x8000 | flags(parsed, RCODE.FORMERR, false, false), 2);
  return out;
}

/** BADVERS (RFC 6891 6.1.3): an EDNS version auth does not speak. */
export function badvers(query: Query): Buffer {
  return bareResponse(query, BADVERS);
}

/**
 * The full response to a query, from a lookup's answer. `maxSize` is what
 * the transport allows (UDP: 512, or the EDNS payload); past it the response
 * is sent truncated (TC, question only) so the client asks again over TCP.
 */
export function answerResponse(query: Query, answer: Answer, maxSize: number): Buffer {
  const rcode = RCODE[answer.rcode];
  const out = dnsPacket.encode({
    id: query.id,
    type: 'response',
    flags: flags(query, rcode, answer.aa, false),
    questions: [{ name: query.qname === '.' ? '.' : query.qname.slice(0, -1), type: `UNKNOWN_${query.qtype}` as 'A', class: 'IN' }],
    answers: packetRecords(answer.answer),
    authorities: packetRecords(answer.authority),
    additionals: [...packetRecords(answer.additional), ...(query.edns ? [optRecord(rcode)] : [])],
  });
  if (out.length > maxSize) return bareResponse(query, rcode, { aa: answer.aa, tc: true });
  return echoQuestion(out, query);
}
