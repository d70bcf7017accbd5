import type { Answer } from './lookup.js';
import { MessageWriter } from './message-writer.js';
import { nameToWire, presentLabel } from './name.js';
import { TSIG } from './tsig.js';

/**
 * DNS messages on the wire. Queries are read by hand, so every way a packet
 * can be malformed is found exactly (FORMERR for a truncated question,
 * trailing bytes, a second OPT; silence for a response or a runt). Responses
 * are written by MessageWriter, names compressed, the question echoed byte
 * for byte as it was sent.
 */

export const OPCODE_QUERY = 0;
export const OPCODE_NOTIFY = 4;
export const OPCODE_UPDATE = 5;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, YXDOMAIN: 6, YXRRSET: 7, NXRRSET: 8, NOTAUTH: 9, NOTZONE: 10 } as const;
/** RFC 6891: version not understood (the extended rcode 16: 1 in the OPT, 0 in the header). */
const BADVERS = 16;
const OPT = 41;
/** What auth offers EDNS clients: the size BIND 9.18 and the DNS flag day settled on. */
export const EDNS_PAYLOAD = 1232;
const HEADER = 12;
/** The Checking Disabled bit of the header's flags. */
export const CD = 0x0010;

export interface Edns {
  payload: number;
  version: number;
  dnssecOk: boolean;
}

export interface Query {
  id: number;
  opcode: number;
  rd: boolean;
  /** Checking Disabled (RFC 4035 3.2.2): echoed, as named echoes it; auth validates nothing either way. */
  cd: boolean;
  /** Absolute, lowercase, for lookups. */
  qname: string;
  qtype: number;
  qclass: number;
  /** The question as sent (its case kept), to echo. */
  question: Buffer;
  edns: Edns | undefined;
  /** Count of the query's answer section (a NOTIFY may carry the new SOA there). */
  ancount: number;
  /** Count of its authority section (an IXFR carries the client's SOA there, RFC 1995 3). */
  nscount: number;
  /** It carries a TSIG record (RFC 8945): tsig.ts checks it, and signs the answer. */
  signed: boolean;
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
    parts.push(presentLabel(buf, pos + 1, pos + 1 + len, true));
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
    let signed = false;
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
      if (type === TSIG) signed = true;
      pos += 10 + rdlength;
    }
    if (pos !== buf.length) throw new Malformed(`${buf.length - pos} bytes after the last record`);
    const cd = (flags & CD) !== 0;
    return { kind: 'query', query: { id, opcode, rd, cd, qname, qtype, qclass, question, edns, ancount, nscount, signed } };
  } catch (err) {
    if (err instanceof Malformed) return formerr(err.message);
    throw err;
  }
}

/** The header bits of a response: QR, the query's opcode, AA and TC as given, RD and CD echoed (as named's replies keep them), the rcode. */
function flags(query: { opcode: number; rd: boolean; cd?: boolean }, rcode: number, aa: boolean, tc: boolean): number {
  return 0x8000 | (query.opcode << 11) | (aa ? 0x0400 : 0) | (tc ? 0x0200 : 0) | (query.rd ? 0x0100 : 0) | (query.cd ? CD : 0) | (rcode & 0xf);
}

const TC = 0x0200;
/** What the OPT record takes: root name, type, class, TTL, length. */
const OPT_SIZE = 11;
/** The EDNS option code of an Extended DNS Error (RFC 8914). */
const EDE = 15;

/** A query of our own (NOTIFY, SOA, AXFR): one question, nothing else. */
export function encodeQuery(id: number, flagBits: number, name: string, type: number): Buffer {
  const w = new MessageWriter(id, flagBits);
  w.questionOf(nameToWire(name), type);
  return w.finish();
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
  const w = new MessageWriter(query.id, flags(query, rcode, options.aa ?? false, options.tc ?? false));
  w.question(query.question);
  if (query.edns) w.opt(EDNS_PAYLOAD, rcode >> 4, query.edns.dnssecOk);
  return w.finish();
}

/** FORMERR for a query that could not be read: the header only, with its id, opcode and RD. */
export function formerr(parsed: { id: number; opcode: number; rd: boolean }): Buffer {
  const out = Buffer.alloc(HEADER);
  out.writeUInt16BE(parsed.id, 0);
  out.writeUInt16BE(flags(parsed, RCODE.FORMERR, false, false), 2);
  return out;
}

/** BADVERS (RFC 6891 6.1.3): an EDNS version auth does not speak. */
export function badvers(query: Query): Buffer {
  return bareResponse(query, BADVERS);
}

/**
 * The full response to a query, from a lookup's answer, names compressed.
 * `maxSize` is what the transport allows (UDP: 512, or the EDNS payload).
 * As named does: the answer and authority sections take every record that
 * fits, and when one does not the response is sent as far as it got with
 * TC set, so the client asks again over TCP; additional data that does not
 * fit is left out, whole RRsets at a time, without TC (RFC 2181 9). The OPT
 * record always has its room, and echoes the query's DO bit (RFC 3225).
 */
export function answerResponse(query: Query, answer: Answer, maxSize: number): Buffer {
  const rcode = RCODE[answer.rcode];
  const w = new MessageWriter(query.id, flags(query, rcode, answer.aa, false), maxSize);
  w.question(query.question);
  const options = query.edns && answer.ede ? edeOption(answer.ede.code, answer.ede.text) : undefined;
  const reserve = query.edns ? OPT_SIZE + (options?.length ?? 0) : 0;
  const truncated = ((): boolean => {
    for (const [section, rrsets] of [['answer', answer.answer], ['authority', answer.authority]] as const) {
      for (const rrset of rrsets) if (w.rrset(section, rrset, reserve) < rrset.count) return true;
    }
    return false;
  })();
  if (truncated) {
    w.setFlags(TC);
  } else {
    for (const rrset of answer.additional) {
      const size = w.size;
      const written = w.rrset('additional', rrset, reserve);
      if (written < rrset.count) {
        w.rollback('additional', size, written);
        break;
      }
    }
  }
  if (query.edns) w.opt(EDNS_PAYLOAD, rcode >> 4, query.edns.dnssecOk, options);
  return w.finish();
}

/** An Extended DNS Error option (RFC 8914): what went wrong, as a code and a text for people. */
function edeOption(code: number, text: string): Buffer {
  const extra = Buffer.from(text, 'utf8');
  const out = Buffer.allocUnsafe(6 + extra.length);
  out.writeUInt16BE(EDE, 0);
  out.writeUInt16BE(2 + extra.length, 2);
  out.writeUInt16BE(code, 4);
  extra.copy(out, 6);
  return out;
}
