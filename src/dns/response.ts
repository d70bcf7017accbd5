import type { ZoneRecord } from './master-file.js';
import { decompressName, readName, type PointedNames } from './name.js';
import { rdataFromMessage } from './rdata.js';
import { WireError } from './wire.js';

/**
 * Responses b10 receives as a client (a transfer, an SOA query): the
 * header, and the answer section's records with their RDATA decompressed
 * and checked, every type alike. Pure; WireError (or RdataError) says what
 * is malformed.
 */

export interface Response {
  id: number;
  flags: number;
  rcode: number;
  answers: ZoneRecord[];
  /** The authority section's records (an IXFR query carries the client's SOA there, RFC 1995 3). */
  authority: ZoneRecord[];
}

const HEADER = 12;
const OPT = 41;

export function readResponse(msg: Buffer): Response {
  if (msg.length < HEADER) throw new WireError('shorter than a DNS header');
  const id = msg.readUInt16BE(0);
  const flags = msg.readUInt16BE(2);
  const qdcount = msg.readUInt16BE(4);
  const ancount = msg.readUInt16BE(6);
  const nscount = msg.readUInt16BE(8);
  let pos = HEADER;
  for (let i = 0; i < qdcount; i++) {
    pos = decompressName(msg, pos, msg.length).end + 4;
    if (pos > msg.length) throw new WireError('the question runs past the end');
  }
  const answers: ZoneRecord[] = [];
  const authority: ZoneRecord[] = [];
  const pointed: PointedNames = new Map();
  for (let i = 0; i < ancount + nscount; i++) {
    const owner = readName(msg, pos, msg.length, pointed);
    pos = owner.end;
    if (pos + 10 > msg.length) throw new WireError('a record runs past the end');
    const type = msg.readUInt16BE(pos);
    const ttl = msg.readUInt32BE(pos + 4);
    const rdlength = msg.readUInt16BE(pos + 8);
    pos += 10;
    if (pos + rdlength > msg.length) throw new WireError('record data runs past the end');
    if (type !== OPT) (i < ancount ? answers : authority).push({ name: owner.name, ttl, type, rdata: rdataFromMessage(msg, pos, rdlength, type) });
    pos += rdlength;
  }
  return { id, flags, rcode: flags & 0xf, answers, authority };
}
