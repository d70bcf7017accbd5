import { isWireProblem, type Field } from './fields.js';
import { decompressName, wireToName } from './name.js';
import { RdataError, split, TextIn, uint, type Token } from './text.js';
import { rrType, typeName, type RRType } from './types.js';
import { ByteReader, ByteWriter, WireError } from './wire.js';

/**
 * RDATA, whatever its type: master-file text to wire form, wire form to
 * the canonical text named-checkzone -D prints, and the names inside it
 * (to compress, decompress, follow), all driven by the one table of types
 * (types.ts). In memory, in the store and on the wire RDATA is its
 * uncompressed wire form; text exists only at the edges. Pure.
 */

export { parseTtl, quote, RdataError, unescape, type Token } from './text.js';
export { typeCode, typeName } from './types.js';

/** RFC 3597's `\# len hex`: the bytes it gives. */
function genericBytes(tokens: readonly Token[]): Buffer {
  const [, lengthToken, ...hexParts] = tokens;
  const length = uint(lengthToken?.text ?? '', 16, 'length');
  const hex = hexParts.map((t) => t.text).join('');
  if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw new RdataError('\\# data must be pairs of hex digits');
  const bytes = Buffer.from(hex, 'hex');
  if (bytes.length !== length) throw new RdataError(`\\# says ${length} bytes but gives ${bytes.length}`);
  return bytes;
}

function genericText(rdata: Buffer): string {
  return rdata.length === 0 ? '\\# 0' : `\\# ${rdata.length} ${split(rdata.toString('hex').toUpperCase())}`;
}

/** Checks that `rdata` is well formed for a known type; RdataError saying what is wrong when not. */
export function checkRdata(type: number, rdata: Buffer): void {
  const known = rrType(type);
  if (!known || known.opaque) return;
  try {
    const r = new ByteReader(rdata, 0, rdata.length);
    for (const f of known.fields) f.skip(r);
    if (r.left > 0) throw new WireError(`${r.left} bytes after the last field`);
  } catch (err) {
    if (isWireProblem(err)) throw new RdataError(`malformed ${known.name} data: ${err.message}`);
    throw err;
  }
  const problem = known.check?.(rdata);
  if (problem) throw new RdataError(`${known.name}: ${problem}`);
}

/** The wire form of `tokens` as RDATA of `type`, names made absolute against `origin` (their case kept). */
export function rdataFromText(type: number, tokens: readonly Token[], origin: string): Buffer {
  const known = rrType(type);
  if (known?.refused) throw new RdataError(`type '${known.name}': ${known.refused}`);
  if (tokens[0]?.text === '\\#' && !tokens[0].quoted) {
    const bytes = genericBytes(tokens);
    checkRdata(type, bytes);
    return bytes;
  }
  if (!known) throw new RdataError(`type ${typeName(type)} is not known: give its data as \\# length hex (RFC 3597)`);
  if (known.opaque) throw new RdataError(`${known.name} data is given only as \\# length hex (RFC 3597)`);
  const t = new TextIn(tokens, origin);
  const w = new ByteWriter(64);
  for (const f of known.fields) f.fromText(t, w);
  if (!t.done) throw new RdataError(`${known.name} takes ${known.fields.length} field${known.fields.length === 1 ? '' : 's'}: "${tokens[t.i]!.text}" is one too many`);
  if (w.pos > 65535) throw new RdataError(`${known.name} data longer than 65535 bytes`);
  const rdata = w.result();
  const problem = known.check?.(rdata);
  if (problem) throw new RdataError(`${known.name}: ${problem}`);
  return rdata;
}

/** The canonical presentation of `rdata` (named-checkzone -D's); RFC 3597 form for types not known. */
export function rdataToText(type: number, rdata: Buffer): string {
  const known = rrType(type);
  if (!known || known.opaque || known.printCode) return genericText(rdata);
  try {
    const r = new ByteReader(rdata, 0, rdata.length);
    const parts: string[] = [];
    for (const f of known.fields) {
      const text = f.toText(r);
      if (text !== '') parts.push(text);
    }
    if (r.left > 0) throw new WireError(`${r.left} bytes after the last field`);
    return parts.join(' ');
  } catch (err) {
    if (isWireProblem(err)) throw new RdataError(`malformed ${known.name} data: ${err.message}`);
    throw err;
  }
}

/** Per type: its fields up to the last name, or none when it has no name (computed once from the table). */
const nameFieldsCache = new Map<number, readonly Field[]>();

function nameFields(known: RRType): readonly Field[] {
  let fields = nameFieldsCache.get(known.code);
  if (!fields) {
    let last = -1;
    known.fields.forEach((f, i) => {
      if (f.name) last = i;
    });
    fields = known.fields.slice(0, last + 1);
    nameFieldsCache.set(known.code, fields);
  }
  return fields;
}

/** Where the names in `rdata` start, with whether each is a target lookups follow. */
export function rdataNames(type: number, rdata: Buffer): { at: number; target: boolean }[] {
  const known = rrType(type);
  if (!known) return [];
  const fields = nameFields(known);
  if (fields.length === 0) return [];
  const out: { at: number; target: boolean }[] = [];
  const r = new ByteReader(rdata, 0, rdata.length);
  for (const f of fields) {
    if (f.name) out.push({ at: r.pos, target: f.name.target });
    f.skip(r);
  }
  return out;
}

/** Whether RDATA of this type holds names lookups follow. */
export function hasTargets(type: number): boolean {
  let has = targetTypes.get(type);
  if (has === undefined) {
    const known = rrType(type);
    targetTypes.set(type, (has = known !== undefined && nameFields(known).some((f) => f.name?.target)));
  }
  return has;
}
const targetTypes = new Map<number, boolean>();

/** The names lookups follow from this RDATA (NS, MX, SRV and CNAME targets...), lowercase; [] when none. */
export function rdataTargets(type: number, rdata: Buffer): string[] {
  const out: string[] = [];
  for (const n of rdataNames(type, rdata)) if (n.target) out.push(wireToName(rdata, n.at, true));
  return out;
}

/** Whether names in this type's RDATA are compressed in messages. */
export function compressible(type: number): boolean {
  return rrType(type)?.compress === true;
}

/**
 * RDATA of `length` bytes at `pos` in a received message, as uncompressed
 * wire form: names inside it decompressed (senders compress the RFC 1035
 * types, RFC 3597 4), then checked. RdataError when malformed.
 */
export function rdataFromMessage(msg: Buffer, pos: number, length: number, type: number): Buffer {
  const end = pos + length;
  const known = rrType(type);
  const fields = known ? nameFields(known) : [];
  let rdata: Buffer;
  if (fields.length === 0) {
    rdata = Buffer.from(msg.subarray(pos, end));
  } else {
    const w = new ByteWriter(length + 64);
    const r = new ByteReader(msg, pos, end);
    try {
      for (const f of fields) {
        if (f.name) {
          const { wire, end: after } = decompressName(msg, r.pos, end);
          w.bytes(wire);
          r.pos = after;
        } else {
          const start = r.pos;
          f.skip(r);
          w.bytes(msg.subarray(start, r.pos));
        }
      }
    } catch (err) {
      if (isWireProblem(err)) throw new RdataError(`malformed ${known!.name} data: ${err.message}`);
      throw err;
    }
    w.bytes(msg.subarray(r.pos, end));
    rdata = w.result();
  }
  checkRdata(type, rdata);
  return rdata;
}

/** The SOA fields lookups and transfers need, from its RDATA. */
export function soaTimers(rdata: Buffer): { serial: number; refresh: number; retry: number; expire: number; minimum: number } {
  const end = rdata.length;
  return {
    serial: rdata.readUInt32BE(end - 20),
    refresh: rdata.readUInt32BE(end - 16),
    retry: rdata.readUInt32BE(end - 12),
    expire: rdata.readUInt32BE(end - 8),
    minimum: rdata.readUInt32BE(end - 4),
  };
}
