import dnsPacket from 'dns-packet';
import type { ZoneRecord } from './master-file.js';
import { packetRecords, type Query } from './message.js';
import type { RRset } from './zone.js';

const IXFR = 251;

/** Records per AXFR message: well under 64 KiB for ordinary records, few messages for large zones. */
export const RECORDS_PER_MESSAGE = 100;

/**
 * The messages of an AXFR (RFC 5936) of a zone: the SOA first, every other
 * record, the SOA again last, RECORDS_PER_MESSAGE to a message, the question
 * in the first only. Records are taken from `records` as they come, so a
 * large zone is never held whole.
 */
export function* axfrMessages(query: Query, soa: ZoneRecord, records: Iterable<ZoneRecord>): Generator<Buffer> {
  let batch: RRset[] = [toRRset(soa)];
  let first = true;
  const flush = (): Buffer => {
    const out = dnsPacket.encode({
      id: query.id,
      type: 'response',
      flags: dnsPacket.AUTHORITATIVE_ANSWER,
      // An IXFR is answered with the whole zone, AXFR-style (RFC 1995 4), its question echoed as asked.
      questions: first ? [{ name: query.qname === '.' ? '.' : query.qname.slice(0, -1), type: query.qtype === IXFR ? 'IXFR' : 'AXFR', class: 'IN' }] : [],
      answers: packetRecords(batch),
    });
    first = false;
    batch = [];
    return out;
  };
  for (const record of records) {
    if (record.type === 6 && record.name === soa.name) continue;
    batch.push(toRRset(record));
    if (batch.length >= RECORDS_PER_MESSAGE) yield flush();
  }
  batch.push(toRRset(soa));
  yield flush();
}

function toRRset(r: ZoneRecord): RRset {
  return { name: r.name, type: r.type, ttl: r.ttl, rdatas: [r.rdata] };
}
