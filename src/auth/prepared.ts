import { lowerQuestion } from '../dns/plain-query.js';
import type { ZoneCounts } from './counters.js';
import type { ResponseKind } from './rrl.js';

/** How rate limiting counts a response: its class, and what tells identical ones apart. */
export interface Counted {
  kind: ResponseKind;
  name: string;
  qtype: number;
}

/** What besides the question makes a response of its own: EDNS (none, plain, DO), the size limit, RD. */
export interface Shape {
  edns: number;
  maxSize: number;
  rd: boolean;
}

/** What a prepared response is made of, as answering computes it once. */
export interface Made {
  bytes: Buffer;
  counted: Counted;
  rcode: number;
  aa: boolean;
  /** The counts of the zone it is answered from. */
  zone: ZoneCounts | undefined;
}

const HEADER = 12;
const TC = 0x02;

/**
 * A response prepared once, sent again with the id, RD and CD bits and
 * question of each query. The question is echoed byte for byte; names that
 * differ only in case have one length, so the next query's question fits
 * where the first one's was (and pointers to it stay right). A class, so
 * that every entry has one hidden class and reading one stays fast.
 */
export class Prepared implements Shape, Made {
  readonly edns: number;
  readonly maxSize: number;
  readonly rd: boolean;
  readonly bytes: Buffer;
  readonly counted: Counted;
  readonly rcode: number;
  readonly aa: boolean;
  readonly zone: ZoneCounts | undefined;
  /** The bytes after the question: what follows any query's own header and question. */
  readonly tail: Buffer;
  /** Sent with TC set. */
  readonly tc: boolean;
  /** The same truncated (TC, question only), made when rate limiting first slips it. */
  truncated: Buffer | undefined = undefined;

  /** `made.bytes` with the question it answers at its place, its name lowercased. */
  constructor(shape: Shape, made: Made, questionLength: number) {
    this.edns = shape.edns;
    this.maxSize = shape.maxSize;
    this.rd = shape.rd;
    this.bytes = made.bytes;
    this.counted = made.counted;
    this.rcode = made.rcode;
    this.aa = made.aa;
    this.zone = made.zone;
    this.tail = made.bytes.subarray(HEADER + questionLength);
    this.tc = (made.bytes[2]! & TC) !== 0;
  }
}

/** A name of 255 bytes, its type and class. */
const MAX_QUESTION = 259;

/** FNV-1a of the question and the shape, within a small integer (the map's fastest keys). */
function keyOf(question: Buffer, length: number, edns: number, maxSize: number, rd: boolean): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < length; i++) hash = Math.imul(hash ^ question[i]!, 0x01000193);
  hash = Math.imul(hash ^ edns, 0x01000193);
  hash = Math.imul(hash ^ (maxSize & 0xff), 0x01000193);
  hash = Math.imul(hash ^ (maxSize >> 8), 0x01000193);
  hash = Math.imul(hash ^ (rd ? 1 : 0), 0x01000193);
  return hash & 0x3fffffff;
}

/** Whether `question` (lowercased, `length` bytes) is the one `bytes` holds: lengths differ by where the tail begins. */
function answers(bytes: Buffer, tail: Buffer, question: Buffer, length: number): boolean {
  if (bytes.length - tail.length !== HEADER + length) return false;
  for (let i = 0; i < length; i++) if (bytes[HEADER + i] !== question[i]) return false;
  return true;
}

/**
 * The prepared responses, by question (case aside) and shape. Keys are
 * hashes of the bytes, so a query is looked up without making a string;
 * an entry is checked against the question it answers, and two questions
 * of one hash take turns in its place. Bounded: it starts over when full.
 */
export class PreparedResponses {
  private readonly entries = new Map<number, Prepared>();
  private readonly lowered = Buffer.allocUnsafe(MAX_QUESTION);

  constructor(private readonly max: number) {}

  /** The response prepared for the question at `start`..`end` of `buf` in that shape (see Shape), if any. */
  find(buf: Buffer, start: number, end: number, edns: number, maxSize: number, rd: boolean): Prepared | undefined {
    const length = lowerQuestion(buf, start, end, this.lowered);
    const entry = this.entries.get(keyOf(this.lowered, length, edns, maxSize, rd));
    if (entry === undefined || entry.edns !== edns || entry.maxSize !== maxSize || entry.rd !== rd) return undefined;
    // The entry's own bytes hold its question: read them, not another buffer, is one cache miss the fewer.
    return answers(entry.bytes, entry.tail, this.lowered, length) ? entry : undefined;
  }

  /** Keeps `made` as the response to `question` (as sent) in `shape`. */
  add(question: Buffer, shape: Shape, made: Made): Prepared {
    const length = lowerQuestion(question, 0, question.length, this.lowered);
    this.lowered.copy(made.bytes, HEADER, 0, length);
    const entry = new Prepared(shape, made, length);
    if (this.entries.size >= this.max) this.entries.clear();
    this.entries.set(keyOf(this.lowered, length, shape.edns, shape.maxSize, shape.rd), entry);
    return entry;
  }

  clear(): void {
    this.entries.clear();
  }
}
