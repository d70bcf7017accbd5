import { Decoder, Encoder, setSizeLimits } from 'cbor-x';
import { ProtocolError } from './errors.js';
import { decodeSimpleHeader, NOT_SIMPLE, type SeqSpan } from './header-cbor.js';
import { DEFAULT_LIMITS } from './limits.js';

/**
 * Value encodings spoken on the bus. CBOR is b10's own; JSON is what the
 * original BIND 10 Python clients sent from mid-2010 on. A connection's
 * encoding is fixed by the first byte of its first header.
 */
export type Encoding = 'cbor' | 'json';

export interface Codec {
  readonly encoding: Encoding;
  encode(value: unknown): Buffer;
  /** Throws ProtocolError(ERR_DECODE) on truncated, malformed or trailing input. */
  decode(bytes: Uint8Array): unknown;
  /**
   * decode() of buf[start, end), tuned for routing headers. With `span`, a
   * CBOR codec notes where seq lies (-1 when it did not see it).
   */
  decodeHeader(buf: Buffer, start: number, end: number, span?: SeqSpan): unknown;
}

// Plain CBOR only: no records, no typed-array or Map tags, so that any CBOR
// library can speak the protocol.
const cborOptions = {
  useRecords: false,
  tagUint8Array: false,
  useTag259ForMaps: false,
  mapsAsObjects: true,
  variableMapSize: true,
  pack: false,
  structuredClone: false,
} as const;

// cbor-x's defaults allow millions of entries; nothing legitimate can hold
// more entries than a frame has bytes.
setSizeLimits({
  maxArraySize: DEFAULT_LIMITS.maxFrame,
  maxMapSize: DEFAULT_LIMITS.maxFrame / 2,
  maxObjectSize: DEFAULT_LIMITS.maxFrame / 2,
});

const cborEncoder = new Encoder(cborOptions);
const cborDecoder = new Decoder(cborOptions);
/**
 * Values up to this size are decoded from a copy in one buffer kept for it:
 * cbor-x makes a DataView for every buffer it is given and stores it on the
 * buffer as a new property, which cost a message body's decode a quarter of
 * its time. Byte strings in such a value are copied out of it, not views.
 */
const SCRATCH_BYTES = 4096;
const scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
const scratchDecoder = new Decoder({ ...cborOptions, copyBuffers: true });
/** cbor-x's decode reads only source[0, end) when given an end; its typings leave the argument out. */
const decodeScratch = scratchDecoder.decode.bind(scratchDecoder) as (source: Uint8Array, end: number) => unknown;

function decodeError(encoding: Encoding, err: unknown): ProtocolError {
  const why = err instanceof Error ? err.message : String(err);
  return new ProtocolError('ERR_DECODE', `undecodable ${encoding}: ${why}`, { cause: err });
}

function decodeCbor(bytes: Uint8Array): unknown {
  try {
    if (bytes.length <= SCRATCH_BYTES) {
      scratch.set(bytes);
      return decodeScratch(scratch, bytes.length);
    }
    return cborDecoder.decode(bytes);
  } catch (err) {
    throw decodeError('cbor', err);
  }
}

export const cbor: Codec = {
  encoding: 'cbor',
  encode: (value) => cborEncoder.encode(value),
  decode: decodeCbor,
  decodeHeader(buf, start, end, span) {
    let header;
    try {
      header = decodeSimpleHeader(buf, start, end, span);
    } catch (err) {
      throw decodeError('cbor', err);
    }
    return header === NOT_SIMPLE ? decodeCbor(buf.subarray(start, end)) : header;
  },
};

/** JSON has no byte strings: they travel as base64 text. */
function jsonReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value && typeof value === 'object' && (value as { type?: unknown }).type === 'Buffer') {
    const data = (value as { data?: unknown }).data;
    if (Array.isArray(data)) return Buffer.from(data as number[]).toString('base64');
  }
  return value;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(utf8.decode(bytes));
  } catch (err) {
    throw decodeError('json', err);
  }
}

export const json: Codec = {
  encoding: 'json',
  encode: (value) => Buffer.from(JSON.stringify(value, jsonReplacer) ?? 'null', 'utf8'),
  decode: decodeJson,
  decodeHeader: (buf, start, end) => decodeJson(buf.subarray(start, end)),
};

const OPEN_BRACE = 0x7b;

/** The codec a connection speaks, judged by its first header's first byte. */
export function detectCodec(firstHeader: Uint8Array): Codec {
  // 0x7b as a CBOR initial byte is a text string with a 64-bit length, never a
  // map, so a JSON object cannot be mistaken for a valid CBOR header.
  return firstHeader[0] === OPEN_BRACE ? json : cbor;
}

export function codecFor(encoding: Encoding): Codec {
  return encoding === 'json' ? json : cbor;
}
