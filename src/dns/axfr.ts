import type { ZoneRecord } from './master-file.js';
import { MessageWriter } from './message-writer.js';
import { nameToWire } from './name.js';
import type { Query } from './message.js';

const IXFR = 251;
const AXFR = 252;
const AA = 0x0400;
const QR = 0x8000;

/**
 * A transfer's message is closed once it holds this many bytes: large
 * messages, as named sends (its transfer-message-size is 20480), cost
 * both sides less per record than many small ones; and compression
 * pointers reach only the first 16 KiB of a message, so a larger one would
 * compress the names past it no more.
 */
export const MESSAGE_BYTES = 16_384;

/** The header flags of a transfer's every message: a response, authoritative, the query's opcode. */
export function transferFlags(query: Query): number {
  return QR | (query.opcode << 11) | AA;
}

/** The type a transfer's question echoes: IXFR when asked (even when answered with the whole zone), else AXFR. */
export function transferType(query: Query): number {
  return query.qtype === IXFR ? IXFR : AXFR;
}

/**
 * The messages of an AXFR (RFC 5936) of a zone: the SOA first, every other
 * record, the SOA again last. Records are taken from `records` as they
 * come, so a large zone is never held whole. `room`: bytes each message
 * leaves free below 64 KiB (for a TSIG).
 */
export function axfrMessages(query: Query, soa: ZoneRecord, records: Iterable<ZoneRecord>, room = 0): Generator<Buffer> {
  return transferMessages(query, axfrSequence(soa, records), room);
}

function* axfrSequence(soa: ZoneRecord, records: Iterable<ZoneRecord>): Generator<ZoneRecord> {
  yield soa;
  for (const record of records) {
    if (record.type === 6 && record.name === soa.name) continue;
    yield record;
  }
  yield soa;
}

/**
 * A transfer's records (AXFR's, or IXFR's: RFC 1995 4) in messages of
 * about MESSAGE_BYTES (one with a record larger than that holds it alone,
 * within 64 KiB), names compressed within each message, the question in
 * the first only, echoed as asked (an IXFR answered with the whole zone is
 * still an IXFR's answer, RFC 1995 4). `room` as for axfrMessages.
 */
export function* transferMessages(query: Query, sequence: Iterable<ZoneRecord>, room = 0): Generator<Buffer> {
  const flags = transferFlags(query);
  let first = true;
  let message = start();
  let inMessage = 0;

  function start(): MessageWriter {
    const w = new MessageWriter(query.id, flags, 65_535 - room);
    if (first) w.questionOf(nameToWire(query.qname), transferType(query));
    first = false;
    return w;
  }

  // An owner's records mostly come one after another: its wire form is made once for them.
  let name = '';
  let owner: Buffer = EMPTY;
  for (const r of sequence) {
    if (r.name !== name) owner = nameToWire((name = r.name));
    if (inMessage > 0 && message.size >= MESSAGE_BYTES - room) {
      yield message.finish();
      message = start();
      inMessage = 0;
    }
    if (!message.record('answer', owner, r.type, r.ttl, r.rdata)) {
      yield message.finish();
      message = start();
      message.record('answer', owner, r.type, r.ttl, r.rdata);
    }
    inMessage++;
  }
  yield message.finish();
}

const EMPTY: Buffer = Buffer.alloc(0);
