import { createHmac, timingSafeEqual } from 'node:crypto';
import { absolute, decompressName, nameToWire, wireToName } from './name.js';
import { ByteReader, ByteWriter, WireError } from './wire.js';

/**
 * TSIG (RFC 8945): shared-secret signatures on DNS messages. The record,
 * the MAC over a request, a response and each later message of a
 * multi-message response (4.3), the server's checks of a request with the
 * answers 5.2 prescribes (BADKEY, BADSIG, BADTIME), and the client's side:
 * a signed request and the check of every message answering it. Pure, but
 * for the clock, which every caller may pass.
 */

export const TSIG = 250;
const CLASS_ANY = 255;
const HEADER = 12;
const ARCOUNT = 10;
/** Seconds a signature's time may differ from ours (RFC 8945 10: 300 recommended). */
export const FUDGE = 300;

/** The TSIG error field (RFC 8945 3). */
export const TSIG_ERROR = { NOERROR: 0, BADSIG: 16, BADKEY: 17, BADTIME: 18, BADTRUNC: 22 } as const;
const ERROR_NAMES: Record<number, string> = { 16: 'BADSIG', 17: 'BADKEY', 18: 'BADTIME', 22: 'BADTRUNC' };
const RCODE_NOTAUTH = 9;
const RCODE_FORMERR = 1;

/** The algorithms b10 signs with: BIND 9's names, the wire name, the hash. */
export const TSIG_ALGORITHMS = {
  'hmac-md5': { wire: 'hmac-md5.sig-alg.reg.int.', hash: 'md5', size: 16 },
  'hmac-sha1': { wire: 'hmac-sha1.', hash: 'sha1', size: 20 },
  'hmac-sha224': { wire: 'hmac-sha224.', hash: 'sha224', size: 28 },
  'hmac-sha256': { wire: 'hmac-sha256.', hash: 'sha256', size: 32 },
  'hmac-sha384': { wire: 'hmac-sha384.', hash: 'sha384', size: 48 },
  'hmac-sha512': { wire: 'hmac-sha512.', hash: 'sha512', size: 64 },
} as const;
export type TsigAlgorithm = keyof typeof TSIG_ALGORITHMS;
export const DEFAULT_ALGORITHM: TsigAlgorithm = 'hmac-sha256';

export function isTsigAlgorithm(value: string): value is TsigAlgorithm {
  return Object.hasOwn(TSIG_ALGORITHMS, value);
}

/** The algorithm a wire name stands for (case aside), or undefined for one b10 does not know. */
function algorithmOfWireName(name: string): TsigAlgorithm | undefined {
  const lower = name.toLowerCase();
  return (Object.keys(TSIG_ALGORITHMS) as TsigAlgorithm[]).find((a) => TSIG_ALGORITHMS[a].wire === lower);
}

export interface TsigKey {
  /** Absolute, lowercase. */
  name: string;
  algorithm: TsigAlgorithm;
  secret: Buffer;
}

export class TsigKeyError extends Error {}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A key from BIND 10's "name:secret[:algorithm]" (secret in base64); TsigKeyError saying what is wrong. */
/**
 * A key name as keyrings hold it and ACLs compare it: absolute, lowercase,
 * in presentation form (a space as \032); TsigKeyError for one that is no
 * domain name.
 */
export function keyNameOf(text: string): string {
  try {
    if (text === '') throw new Error('empty');
    const name = absolute(text.toLowerCase(), '.');
    nameToWire(name);
    return name;
  } catch (err) {
    throw new TsigKeyError(`key name "${text}" is not a domain name (${(err as Error).message})`);
  }
}

export function parseKeyEntry(entry: string): TsigKey {
  const parts = entry.split(':');
  if (parts.length < 2 || parts.length > 3) throw new TsigKeyError('not of the form name:secret:algorithm');
  const [nameText, secretText, algorithmText = DEFAULT_ALGORITHM] = parts as [string, string, string?];
  const name = keyNameOf(nameText);
  // Shown by name only: the entry holds a secret.
  if (secretText === '' || !BASE64.test(secretText)) throw new TsigKeyError(`key ${name}: the secret is not base64`);
  const algorithm = algorithmText.toLowerCase();
  if (!isTsigAlgorithm(algorithm)) {
    throw new TsigKeyError(`key ${name}: unknown algorithm "${algorithmText}" (known: ${Object.keys(TSIG_ALGORITHMS).join(', ')})`);
  }
  return { name, algorithm, secret: Buffer.from(secretText, 'base64') };
}

/** The entry for a key, as tsig_keys/keys holds it. */
export function formatKeyEntry(key: TsigKey): string {
  return `${key.name.replace(/\.$/, '')}:${key.secret.toString('base64')}:${key.algorithm}`;
}

/** What `config show` and the console print for an entry: the secret replaced, the rest as it is. */
export function maskKeyEntry(entry: unknown): unknown {
  if (typeof entry !== 'string') return entry;
  const parts = entry.split(':');
  if (parts.length < 2) return entry.length > 0 ? '****' : entry;
  parts[1] = '****';
  return parts.join(':');
}

/** The keys by name. */
export class Keyring {
  private readonly keys = new Map<string, TsigKey>();

  /** From tsig_keys/keys; TsigKeyError naming the first bad entry (by index, never with its secret). */
  static fromEntries(entries: readonly string[]): Keyring {
    const [problem] = keyEntriesProblems(entries);
    if (problem !== undefined) throw new TsigKeyError(problem);
    const ring = new Keyring();
    for (const entry of entries) {
      const key = parseKeyEntry(entry);
      ring.keys.set(key.name, key);
    }
    return ring;
  }

  get(name: string): TsigKey | undefined {
    return this.keys.get(absolute(name.toLowerCase(), '.'));
  }

  get size(): number {
    return this.keys.size;
  }

  list(): TsigKey[] {
    return [...this.keys.values()];
  }
}

/** The problems of a tsig_keys configuration's keys (none: it is good). */
export function keyEntriesProblems(entries: unknown): string[] {
  if (!Array.isArray(entries)) return ['keys must be a list of "name:secret:algorithm" strings'];
  const problems: string[] = [];
  const seen = new Set<string>();
  entries.forEach((entry, i) => {
    if (typeof entry !== 'string') {
      problems.push(`keys[${i}]: must be a string "name:secret:algorithm"`);
      return;
    }
    try {
      const { name } = parseKeyEntry(entry);
      if (seen.has(name)) problems.push(`keys[${i}]: a second key named ${name}`);
      seen.add(name);
    } catch (err) {
      problems.push(`keys[${i}]: ${(err as Error).message}`);
    }
  });
  return problems;
}

/** The TSIG record's fields (RFC 8945 4.2). */
export interface TsigRecord {
  /** Absolute, lowercase. */
  keyName: string;
  /** The algorithm's wire name, lowercase. */
  algorithm: string;
  /** Seconds since the epoch. */
  timeSigned: number;
  fudge: number;
  mac: Buffer;
  originalId: number;
  error: number;
  otherData: Buffer;
}

export class TsigFormatError extends Error {}

/** A message's TSIG, and the message as it was before the TSIG was added (its original id, one additional record less). */
export interface Found {
  record: TsigRecord;
  unsigned: Buffer;
}

/** Where each record of a message begins, and where the last one ends. */
function recordStarts(msg: Buffer): { starts: number[]; end: number } {
  if (msg.length < HEADER) throw new TsigFormatError('shorter than a DNS header');
  const qd = msg.readUInt16BE(4);
  const rrs = msg.readUInt16BE(6) + msg.readUInt16BE(8) + msg.readUInt16BE(10);
  let pos = HEADER;
  try {
    for (let i = 0; i < qd; i++) pos = decompressName(msg, pos, msg.length).end + 4;
    const starts: number[] = [];
    for (let i = 0; i < rrs; i++) {
      starts.push(pos);
      pos = decompressName(msg, pos, msg.length).end;
      if (pos + 10 > msg.length) throw new TsigFormatError('a record runs past the end');
      pos += 10 + msg.readUInt16BE(pos + 8);
    }
    if (pos > msg.length) throw new TsigFormatError('a record runs past the end');
    return { starts, end: pos };
  } catch (err) {
    if (err instanceof WireError) throw new TsigFormatError(err.message);
    throw err;
  }
}

/**
 * The TSIG of a message, or undefined when it has none. TsigFormatError
 * when one is anywhere but last in the additional section, or malformed:
 * such a message is answered FORMERR (RFC 8945 5.1).
 */
export function findTsig(msg: Buffer): Found | undefined {
  const { starts, end } = recordStarts(msg);
  const arcount = msg.readUInt16BE(ARCOUNT);
  const typeAt = (start: number): number => msg.readUInt16BE(decompressName(msg, start, msg.length).end);
  const last = starts.length - 1;
  for (let i = 0; i < last; i++) if (typeAt(starts[i]!) === TSIG) throw new TsigFormatError('a TSIG record that is not the last record');
  if (last < 0 || typeAt(starts[last]!) !== TSIG) return undefined;
  if (arcount === 0) throw new TsigFormatError('a TSIG record outside the additional section');
  const start = starts[last]!;
  const owner = decompressName(msg, start, msg.length);
  const r = new ByteReader(msg, owner.end, end);
  try {
    r.u16();
    if (r.u16() !== CLASS_ANY) throw new TsigFormatError('a TSIG record not of class ANY');
    r.u32();
    const rdlength = r.u16();
    const rd = new ByteReader(msg, r.pos, r.pos + rdlength);
    const algo = decompressName(msg, rd.pos, rd.end);
    rd.pos = algo.end;
    const timeSigned = rd.u16('the time signed') * 2 ** 32 + rd.u32('the time signed');
    const fudge = rd.u16('the fudge');
    const mac = Buffer.from(rd.bytes(rd.u16('the MAC size'), 'the MAC'));
    const originalId = rd.u16('the original id');
    const error = rd.u16('the error');
    const otherData = Buffer.from(rd.bytes(rd.u16('the other length'), 'the other data'));
    if (rd.left !== 0) throw new TsigFormatError('bytes after the TSIG record\'s other data');
    const unsigned = Buffer.from(msg.subarray(0, start));
    unsigned.writeUInt16BE(originalId, 0);
    unsigned.writeUInt16BE(arcount - 1, ARCOUNT);
    const record = {
      keyName: wireToName(owner.wire, 0, true),
      algorithm: wireToName(algo.wire, 0, true),
      timeSigned,
      fudge,
      mac,
      originalId,
      error,
      otherData,
    };
    return { record, unsigned };
  } catch (err) {
    if (err instanceof WireError) throw new TsigFormatError(err.message);
    throw err;
  }
}

function u48(w: ByteWriter, value: number): void {
  w.u16(Math.floor(value / 2 ** 32));
  w.u32(value % 2 ** 32);
}

/** The TSIG variables (RFC 8945 4.3.3), or only its timers for a later message of a response (4.3.2). */
function variables(record: TsigRecord, timersOnly: boolean): Buffer {
  const w = new ByteWriter(128);
  if (!timersOnly) {
    w.bytes(nameToWire(record.keyName));
    w.u16(CLASS_ANY);
    w.u32(0);
    w.bytes(nameToWire(record.algorithm));
  }
  u48(w, record.timeSigned);
  w.u16(record.fudge);
  if (!timersOnly) {
    w.u16(record.error);
    w.u16(record.otherData.length);
    w.bytes(record.otherData);
  }
  return w.result();
}

function sizedMac(mac: Buffer): Buffer {
  const out = Buffer.allocUnsafe(2 + mac.length);
  out.writeUInt16BE(mac.length, 0);
  mac.copy(out, 2);
  return out;
}

/** The MAC of `parts` with `key`. */
function hmac(key: TsigKey, parts: readonly Uint8Array[]): Buffer {
  const h = createHmac(TSIG_ALGORITHMS[key.algorithm].hash, key.secret);
  for (const part of parts) h.update(part);
  return h.digest();
}

/** The TSIG record's wire form, owner and algorithm uncompressed. */
function encodeRecord(record: TsigRecord): Buffer {
  const rdata = new ByteWriter(128);
  rdata.bytes(nameToWire(record.algorithm));
  u48(rdata, record.timeSigned);
  rdata.u16(record.fudge);
  rdata.u16(record.mac.length);
  rdata.bytes(record.mac);
  rdata.u16(record.originalId);
  rdata.u16(record.error);
  rdata.u16(record.otherData.length);
  rdata.bytes(record.otherData);
  const body = rdata.result();
  const w = new ByteWriter(body.length + 300);
  w.bytes(nameToWire(record.keyName));
  w.u16(TSIG);
  w.u16(CLASS_ANY);
  w.u32(0);
  w.u16(body.length);
  w.bytes(body);
  return w.result();
}

/** `message` with `record` added last to its additional section. */
function withRecord(message: Buffer, record: TsigRecord): Buffer {
  const out = Buffer.concat([message, encodeRecord(record)]);
  out.writeUInt16BE(message.readUInt16BE(ARCOUNT) + 1, ARCOUNT);
  return out;
}

/** Bytes a TSIG with `key` adds to a message: what a response must leave room for. */
export function tsigSize(key: TsigKey): number {
  return nameToWire(key.name).length + 10 + nameToWire(TSIG_ALGORITHMS[key.algorithm].wire).length + 16 + TSIG_ALGORITHMS[key.algorithm].size;
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

function newRecord(key: TsigKey, message: Buffer, time: number, error = 0, otherData: Buffer = Buffer.alloc(0)): TsigRecord {
  return { keyName: key.name, algorithm: TSIG_ALGORITHMS[key.algorithm].wire, timeSigned: time, fudge: FUDGE, mac: Buffer.alloc(0), originalId: message.readUInt16BE(0), error, otherData };
}

/**
 * Signs the messages of one response in turn (RFC 8945 4.3.1, 4.3.2): the
 * first MAC covers the request's MAC, each later one the MAC before it,
 * and only the timers. Every message is signed, as named signs them.
 */
export class ResponseSigner {
  private prior: Buffer<ArrayBufferLike>;
  private first = true;

  constructor(
    readonly key: TsigKey,
    requestMac: Buffer,
    /** The response's time signed and the BADTIME data, for an error of the request's time. */
    private readonly badtime?: { timeSigned: number; now: number },
  ) {
    this.prior = requestMac;
  }

  sign(message: Buffer, now = nowSeconds()): Buffer {
    const record = this.badtime
      ? newRecord(this.key, message, this.badtime.timeSigned, TSIG_ERROR.BADTIME, time48(this.badtime.now))
      : newRecord(this.key, message, now);
    record.mac = hmac(this.key, [sizedMac(this.prior), message, variables(record, !this.first)]);
    this.prior = record.mac;
    this.first = false;
    return withRecord(message, record);
  }
}

function time48(seconds: number): Buffer {
  const w = new ByteWriter(6);
  u48(w, seconds);
  return w.result();
}

/** What the server makes of a request's TSIG (RFC 8945 5.2). */
export type RequestCheck =
  | { status: 'unsigned' }
  /** Good: the response is signed with `signer`. */
  | { status: 'signed'; key: TsigKey; signer: ResponseSigner }
  /**
   * Bad: the rcode to answer (NOTAUTH, or FORMERR for a malformed TSIG),
   * why, for the log, and what turns the bare error response into the
   * one 5.2 says (a TSIG without a MAC; BADTIME signed).
   */
  | { status: 'bad'; rcode: number; error: number; keyName?: string; why: string; finish: (response: Buffer) => Buffer };

const asIs = (response: Buffer): Buffer => response;

/** Checks the TSIG of a request against `keyring` (5.2.1 key, 5.2.2 MAC, 5.2.3 time, in this order). */
export function checkRequest(message: Buffer, keyring: Keyring, now = nowSeconds()): RequestCheck {
  let found: Found | undefined;
  try {
    found = findTsig(message);
  } catch (err) {
    return { status: 'bad', rcode: RCODE_FORMERR, error: 0, why: `malformed TSIG: ${(err as Error).message}`, finish: asIs };
  }
  if (!found) return { status: 'unsigned' };
  const { record, unsigned } = found;
  const unsignedError = (error: number, why: string): RequestCheck => ({
    status: 'bad',
    rcode: RCODE_NOTAUTH,
    error,
    keyName: record.keyName,
    why,
    finish: (response) => withRecord(response, { ...record, timeSigned: now, mac: Buffer.alloc(0), originalId: response.readUInt16BE(0), error, otherData: Buffer.alloc(0) }),
  });
  const key = keyring.get(record.keyName);
  const algorithm = algorithmOfWireName(record.algorithm);
  if (!key || algorithm !== key.algorithm) return unsignedError(TSIG_ERROR.BADKEY, key ? `key ${record.keyName} is not of algorithm ${record.algorithm}` : `no key ${record.keyName}`);
  const size = TSIG_ALGORITHMS[key.algorithm].size;
  if (record.mac.length > size || record.mac.length < Math.max(10, size / 2)) {
    return { status: 'bad', rcode: RCODE_FORMERR, error: 0, keyName: key.name, why: `a MAC of ${record.mac.length} bytes`, finish: asIs };
  }
  if (record.mac.length < size) return unsignedError(TSIG_ERROR.BADTRUNC, `a MAC truncated to ${record.mac.length} bytes (not accepted)`);
  const expected = hmac(key, [unsigned, variables(record, false)]);
  if (!timingSafeEqual(expected, record.mac)) return unsignedError(TSIG_ERROR.BADSIG, `the MAC of key ${key.name} does not match`);
  if (Math.abs(now - record.timeSigned) > record.fudge) {
    const signer = new ResponseSigner(key, record.mac, { timeSigned: record.timeSigned, now });
    return {
      status: 'bad',
      rcode: RCODE_NOTAUTH,
      error: TSIG_ERROR.BADTIME,
      keyName: key.name,
      why: `signed at ${record.timeSigned}, ${now - record.timeSigned} s from our time (fudge ${record.fudge} s)`,
      finish: (response) => signer.sign(response, now),
    };
  }
  return { status: 'signed', key, signer: new ResponseSigner(key, record.mac) };
}

export class TsigVerifyError extends Error {
  readonly code = 'ERR_TSIG';
}

/** Unsigned messages a response may have in a row between signed ones (RFC 8945 5.3.1). */
const MAX_UNSIGNED = 99;

/**
 * The client's side of one exchange: signs the request, then checks each
 * message of the response in turn (RFC 8945 5.3): the first must be
 * signed, later ones may skip up to 99, the last must be signed (`done`).
 */
export class TsigClient {
  private prior: Buffer = Buffer.alloc(0);
  private pending: Buffer[] = [];
  private signedOnce = false;

  constructor(
    readonly key: TsigKey,
    private readonly now: () => number = nowSeconds,
  ) {}

  /** The request, signed. */
  sign(request: Buffer): Buffer {
    const record = newRecord(this.key, request, this.now());
    record.mac = hmac(this.key, [request, variables(record, false)]);
    this.prior = record.mac;
    return withRecord(request, record);
  }

  /** Checks one message of the response; TsigVerifyError saying why it is refused. */
  verify(message: Buffer): void {
    let found: Found | undefined;
    try {
      found = findTsig(message);
    } catch (err) {
      throw new TsigVerifyError(`malformed TSIG: ${(err as Error).message}`);
    }
    if (!found) {
      if (!this.signedOnce) throw new TsigVerifyError(`an unsigned answer to a request signed with key ${this.key.name}`);
      if (this.pending.length >= MAX_UNSIGNED) throw new TsigVerifyError(`more than ${MAX_UNSIGNED} unsigned messages in a row`);
      this.pending.push(message);
      return;
    }
    const { record, unsigned } = found;
    if (record.keyName !== this.key.name || algorithmOfWireName(record.algorithm) !== this.key.algorithm) {
      throw new TsigVerifyError(`signed with key ${record.keyName} (${record.algorithm}), not ${this.key.name}`);
    }
    if (record.error !== 0 && record.mac.length === 0) {
      throw new TsigVerifyError(`the server answered ${ERROR_NAMES[record.error] ?? `TSIG error ${record.error}`} for key ${this.key.name}`);
    }
    if (record.mac.length !== TSIG_ALGORITHMS[this.key.algorithm].size) throw new TsigVerifyError(`a MAC of ${record.mac.length} bytes`);
    const expected = hmac(this.key, [sizedMac(this.prior), ...this.pending, unsigned, variables(record, this.signedOnce)]);
    if (!timingSafeEqual(expected, record.mac)) throw new TsigVerifyError(`the answer's MAC does not match key ${this.key.name}`);
    if (record.error !== 0) throw new TsigVerifyError(`the server answered ${ERROR_NAMES[record.error] ?? `TSIG error ${record.error}`} for key ${this.key.name}`);
    const now = this.now();
    if (Math.abs(now - record.timeSigned) > record.fudge) throw new TsigVerifyError(`the answer was signed ${now - record.timeSigned} s from our time`);
    this.prior = record.mac;
    this.pending = [];
    this.signedOnce = true;
  }

  /** Whether the last message checked was signed: a response must end on one. */
  get complete(): boolean {
    return this.signedOnce && this.pending.length === 0;
  }
}

/** A TSIG error's name, for logs. */
export function tsigErrorName(error: number): string {
  return ERROR_NAMES[error] ?? String(error);
}
