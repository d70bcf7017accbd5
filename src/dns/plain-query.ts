/**
 * The common query read in one pass, allocating nothing: a QUERY with one
 * question of class IN, no AXFR or IXFR, nothing after the question but at
 * most one OPT record of EDNS version 0 (no TSIG). Any other message, and
 * anything malformed, is not one: parseQuery reads it and says exactly what
 * is wrong with it. auth answers these from its prepared responses without
 * parsing the message into objects.
 */

const HEADER = 12;
const OPT = 41;
const CLASS_IN = 1;
const AXFR = 252;
const IXFR = 251;
const QR = 0x80;
const OPCODE = 0x78;
const RD = 0x01;
/** The CD bit in the second byte of the flags. */
const CD = 0x10;
const DO = 0x8000;

export const EDNS_NONE = 0;
export const EDNS_PLAIN = 1;
export const EDNS_DO = 2;

/** What auth needs of a plain query to find its prepared response; read into one object, again and again. */
export interface PlainQuery {
  /** The offset just past the question (its qtype and qclass). */
  questionEnd: number;
  qtype: number;
  rd: boolean;
  cd: boolean;
  /** EDNS_NONE, EDNS_PLAIN, or EDNS_DO (EDNS with the DO bit). */
  edns: number;
  /** The EDNS payload size offered; 0 without EDNS. */
  payload: number;
}

export function plainQuery(): PlainQuery {
  return { questionEnd: 0, qtype: 0, rd: false, cd: false, edns: EDNS_NONE, payload: 0 };
}

/** Fills `out` from `buf` and says true when `buf` is a plain query; false (and `out` meaningless) when it is anything else. */
export function readPlainQuery(buf: Buffer, out: PlainQuery): boolean {
  const length = buf.length;
  // No QR, opcode QUERY; one question and nothing but the additional section.
  if (length < HEADER + 5 || (buf[2]! & (QR | OPCODE)) !== 0) return false;
  if (buf[4] !== 0 || buf[5] !== 1 || buf[6] !== 0 || buf[7] !== 0 || buf[8] !== 0 || buf[9] !== 0 || buf[10] !== 0 || buf[11]! > 1) return false;
  let pos = HEADER;
  for (;;) {
    const len = buf[pos]!;
    if (len === 0) break;
    // Labels only (no pointer in a question), and within 255 bytes of name.
    if (len > 63 || pos + len + 1 >= length || pos + len + 1 - HEADER >= 255) return false;
    pos += len + 1;
  }
  const end = pos + 5;
  if (end > length) return false;
  const qtype = (buf[pos + 1]! << 8) | buf[pos + 2]!;
  if (qtype === AXFR || qtype === IXFR || ((buf[pos + 3]! << 8) | buf[pos + 4]!) !== CLASS_IN) return false;
  out.questionEnd = end;
  out.qtype = qtype;
  out.rd = (buf[2]! & RD) !== 0;
  out.cd = (buf[3]! & CD) !== 0;
  if (buf[11] === 0) {
    out.edns = EDNS_NONE;
    out.payload = 0;
    return end === length;
  }
  // The OPT record: root owner, type, payload (its class), extended rcode, version, flags, options.
  if (end + 11 > length || buf[end] !== 0 || buf.readUInt16BE(end + 1) !== OPT || buf[end + 6] !== 0) return false;
  if (end + 11 + buf.readUInt16BE(end + 9) !== length) return false;
  out.payload = buf.readUInt16BE(end + 3);
  out.edns = buf.readUInt16BE(end + 7) & DO ? EDNS_DO : EDNS_PLAIN;
  return true;
}

/**
 * Copies the question at `start`..`end` of `buf` (name, qtype, qclass) into
 * `into` from its start, the name's ASCII letters lowercased: questions that
 * differ only in case have one answer. Its length.
 */
export function lowerQuestion(buf: Buffer, start: number, end: number, into: Buffer): number {
  let label = start;
  let i = start;
  for (; i < end; i++) {
    const b = buf[i]!;
    into[i - start] = i !== label ? (b >= 0x41 && b <= 0x5a ? b + 32 : b) : b;
    if (i === label) {
      if (b === 0) break;
      label += b + 1;
    }
  }
  // The root label is done: qtype and qclass as they are.
  for (i++; i < end; i++) into[i - start] = buf[i]!;
  return end - start;
}
