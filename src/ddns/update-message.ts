import { OPCODE_UPDATE, parseQuery, type Query } from '../dns/message.js';
import { decompressName, wireToName } from '../dns/name.js';
import { rdataFromMessage } from '../dns/rdata.js';

/**
 * An UPDATE message (RFC 2136 2) read off the wire: the header and zone
 * section as parseQuery reads a query's (one "question", FORMERR for
 * anything malformed), then the prerequisite and update sections' records
 * with their RDATA decompressed and checked. Pure.
 */

export const CLASS_IN = 1;
export const CLASS_NONE = 254;
export const CLASS_ANY = 255;
export const TYPE_ANY = 255;
const HEADER = 12;

/** A record of the prerequisite or update section: its class says what it means (RFC 2136 2.4, 2.5). */
export interface UpdateRR {
  /** Absolute, lowercase. */
  name: string;
  type: number;
  klass: number;
  ttl: number;
  /** Uncompressed wire form; empty when the record carries none (class ANY, most of NONE in prerequisites). */
  rdata: Buffer;
}

export interface UpdateMessage {
  /** The header and the zone section (as `question`): what the response echoes. */
  query: Query;
  prerequisites: UpdateRR[];
  updates: UpdateRR[];
}

export type ParsedUpdate =
  | { kind: 'update'; message: UpdateMessage }
  | { kind: 'formerr'; id: number; opcode: number; rd: boolean; why: string }
  | { kind: 'drop'; why: string };

/** Reads an UPDATE; FORMERR says why when it is malformed, a response or a runt is dropped. */
export function parseUpdate(packet: Buffer): ParsedUpdate {
  const parsed = parseQuery(packet);
  if (parsed.kind !== 'query') return parsed;
  const { query } = parsed;
  if (query.opcode !== OPCODE_UPDATE) return { kind: 'drop', why: `opcode ${query.opcode}, not UPDATE` };
  const formerr = (why: string): ParsedUpdate => ({ kind: 'formerr', id: query.id, opcode: query.opcode, rd: query.rd, why });
  const prerequisites: UpdateRR[] = [];
  const updates: UpdateRR[] = [];
  const counts = [packet.readUInt16BE(6), packet.readUInt16BE(8)];
  // parseQuery has checked every record's bounds and the message's end; what is left to check is each RDATA.
  let pos = HEADER + query.question.length;
  try {
    for (const [section, out] of [[0, prerequisites], [1, updates]] as const) {
      for (let i = 0; i < counts[section]!; i++) {
        const owner = decompressName(packet, pos, packet.length);
        pos = owner.end;
        const type = packet.readUInt16BE(pos);
        const klass = packet.readUInt16BE(pos + 2);
        const ttl = packet.readUInt32BE(pos + 4);
        const length = packet.readUInt16BE(pos + 8);
        pos += 10;
        const rdata = length === 0 ? Buffer.alloc(0) : rdataFromMessage(packet, pos, length, type);
        out.push({ name: wireToName(owner.wire, 0, true), type, klass, ttl, rdata });
        pos += length;
      }
    }
  } catch (err) {
    return formerr((err as Error).message);
  }
  return { kind: 'update', message: { query, prerequisites, updates } };
}
