import { readFileSync } from 'node:fs';
import path from 'node:path';
import { RRSIG, sigCovers, signatureSecondsLeft } from './dnssec.js';
import { absolute, isWithin, NameError } from './name.js';
import { parseTtl, RdataError, rdataFromText, rdataToText, soaTimers, typeCode, typeName, type Token } from './rdata.js';

/**
 * RFC 1035 master files: `$ORIGIN`, `$TTL`, `$INCLUDE`, `@`, relative and
 * absolute names, omitted owner, TTL and class, parentheses over lines,
 * comments, quoted strings and escapes. Records come out with absolute
 * lowercase owner names and RDATA in wire form. Records outside the zone
 * are left out with a warning naming file and line, as named leaves them
 * out; any other problem throws ZoneFileError naming file and line, and
 * nothing is returned: a zone loads whole or not at all.
 */

export interface ZoneRecord {
  /** Absolute, lowercase. */
  name: string;
  ttl: number;
  type: number;
  /** Uncompressed wire form; names inside keep the case they were written in. */
  rdata: Buffer;
}

/** Something named loads past with a warning, as b10 does. */
export interface ZoneFileWarning {
  /** Data outside the zone (left out), or a signature expired or about to (loaded). */
  kind: 'out-of-zone' | 'signature';
  file: string;
  line: number;
  message: string;
}

/** A signature that expires within this long is warned of: a week to sign the zone again, s. */
export const SIGNATURE_WARNING_S = 7 * 24 * 3600;

export class ZoneFileError extends Error {
  readonly code = 'ERR_ZONE_FILE';

  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
  }
}

/** One logical line: its tokens, where it began, and whether it began with blank space (owner omitted). */
interface Line {
  tokens: Token[];
  line: number;
  indented: boolean;
}

/** Types a CNAME may share its name with, as named lets it: itself, what signs it or proves its types (SIG, RRSIG, NSEC; RFC 4035 2.5) and KEY (RFC 3007); not NXT. */
export const BESIDE_CNAME: ReadonlySet<number> = new Set([5, 24, 25, 46, 47]);

/** The first characters of a class token (IN, CH, HS, CS, CLASSnn), any case. */
const CLASS_START: ReadonlySet<number> = new Set([...'ICHichs'].map((c) => c.charCodeAt(0)));

/** How deep $INCLUDE may nest before it is taken for a loop. */
const MAX_INCLUDE_DEPTH = 16;

/** Splits master-file text into logical lines; parentheses join physical lines. */
export function tokenize(text: string, file: string): Line[] {
  return [...logicalLines(text, file)];
}

/** The logical lines of master-file text one at a time: a large file's lines are never all held at once. */
function* logicalLines(text: string, file: string): Generator<Line> {
  let tokens: Token[] = [];
  let lineNo = 1;
  let startLine = 1;
  let indented = false;
  let atLineStart = true;
  let depth = 0;
  let depthLine = 0;
  const fail = (why: string, at = lineNo): never => {
    throw new ZoneFileError(file, at, why);
  };

  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (atLineStart) {
      // A logical line that starts with blank space has no owner: the last one applies.
      atLineStart = false;
      indented = c === ' ' || c === '\t';
      startLine = lineNo;
    }
    if (c === '\n') {
      lineNo++;
      i++;
      if (depth === 0) {
        if (tokens.length > 0) yield { tokens, line: startLine, indented };
        tokens = [];
        atLineStart = true;
      }
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === ';') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (c === '(') {
      if (depth++ === 0) depthLine = lineNo;
      i++;
      continue;
    }
    if (c === ')') {
      if (depth === 0) fail('")" without "("');
      depth--;
      i++;
      continue;
    }
    if (c === '"') {
      let s = '';
      const opened = lineNo;
      i++;
      for (;;) {
        if (i >= text.length) fail('unterminated quoted string', opened);
        const q = text[i]!;
        if (q === '"') break;
        if (q === '\\' && i + 1 < text.length) {
          s += q + text[i + 1]!;
          i += 2;
          continue;
        }
        if (q === '\n') lineNo++;
        s += q;
        i++;
      }
      i++;
      tokens.push({ text: s, quoted: true });
      continue;
    }
    // A word is a slice of the text: an escape (a backslash and the character after it, not a newline) is kept as written.
    const wordStart = i;
    while (i < text.length) {
      const w = text.charCodeAt(i);
      if (w === 0x5c && i + 1 < text.length && text.charCodeAt(i + 1) !== 0x0a) {
        i += 2;
        continue;
      }
      if (w === 0x20 || w === 0x09 || w === 0x0d || w === 0x0a || w === 0x3b || w === 0x28 || w === 0x29 || w === 0x22) break;
      i++;
    }
    tokens.push({ text: text.slice(wordStart, i), quoted: false });
  }
  if (depth > 0) fail('"(" is never closed', depthLine);
  if (tokens.length > 0) yield { tokens, line: startLine, indented };
}

interface State {
  zone: string;
  origin: string;
  defaultTtl: number | undefined;
  lastTtl: number | undefined;
  lastOwner: string | undefined;
  /** The owner as the last line that gave one wrote it, under the same origin: lastOwner is it made absolute. */
  lastWritten: string | undefined;
  warn: (w: ZoneFileWarning) => void;
  /** When to check signatures' expiry against, seconds since the epoch; undefined: not checked. */
  now: number | undefined;
}

/** Reads a file's text; $INCLUDE goes through it too, so tests and tools can supply files. */
export type ReadFile = (file: string) => string;

const readUtf8: ReadFile = (file) => readFileSync(file, 'utf8');

/**
 * The records of a master file, for the zone `origin` (absolute). `$INCLUDE`
 * paths are relative to the including file. Given `checkSignaturesAt`, each
 * RRSIG expired by then, or expiring within SIGNATURE_WARNING_S of it, is
 * warned of (and loaded, as named loads it).
 */
export function parseMasterFile(
  file: string,
  origin: string,
  read: ReadFile = readUtf8,
  warn: (w: ZoneFileWarning) => void = () => {},
  checkSignaturesAt?: Date,
): ZoneRecord[] {
  const zone = absolute(origin, '.');
  const out: (ZoneRecord & { line: number; file: string })[] = [];
  const now = checkSignaturesAt && Math.floor(checkSignaturesAt.getTime() / 1000);
  const state: State = { zone, origin: zone, defaultTtl: undefined, lastTtl: undefined, lastOwner: undefined, lastWritten: undefined, warn, now };
  parseInto(file, read, state, out, 0);
  return checkZone(out, zone);
}

function readOrFail(file: string, read: ReadFile, from?: { file: string; line: number }): string {
  try {
    return read(file);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    if (from) throw new ZoneFileError(from.file, from.line, `$INCLUDE ${file}: ${why}`);
    throw new ZoneFileError(file, 0, why);
  }
}

function parseInto(
  file: string,
  read: ReadFile,
  state: State,
  out: (ZoneRecord & { line: number; file: string })[],
  depth: number,
  from?: { file: string; line: number },
): void {
  const text = readOrFail(file, read, from);
  for (const { tokens, line, indented } of logicalLines(text, file)) {
    const fail = (why: string): never => {
      throw new ZoneFileError(file, line, why);
    };
    try {
      const first = tokens[0]!;
      if (!indented && !first.quoted && first.text.startsWith('$')) {
        const directive = first.text.toUpperCase();
        const args = tokens.slice(1).map((t) => t.text);
        if (directive === '$ORIGIN') {
          if (args.length !== 1) fail('$ORIGIN takes one name');
          state.origin = absolute(args[0]!, state.origin);
          state.lastWritten = undefined;
        } else if (directive === '$TTL') {
          if (args.length !== 1) fail('$TTL takes one value');
          state.defaultTtl = parseTtl(args[0]!);
        } else if (directive === '$INCLUDE') {
          if (args.length < 1 || args.length > 2) fail('$INCLUDE takes a file and an optional origin');
          if (depth >= MAX_INCLUDE_DEPTH) fail(`$INCLUDE nested more than ${MAX_INCLUDE_DEPTH} deep (a loop?)`);
          const included = path.resolve(path.dirname(file), args[0]!);
          // The included file may set its own origin; ours is back after it (RFC 1035 5.1).
          const saved = state.origin;
          if (args[1] !== undefined) state.origin = absolute(args[1], state.origin);
          state.lastWritten = undefined;
          parseInto(included, read, state, out, depth + 1, { file, line });
          state.origin = saved;
          state.lastWritten = undefined;
        } else {
          fail(`unknown directive ${first.text}`);
        }
        continue;
      }
      // Where the TTL, class and type begin: the tokens are indexed, not copied, on a million lines.
      let at = 0;
      let owner: string;
      if (indented) {
        if (state.lastOwner === undefined) fail('no owner name, and no record before to take it from');
        owner = state.lastOwner!;
      } else {
        owner = first.text === state.lastWritten && state.lastOwner !== undefined ? state.lastOwner : absolute(first.text, state.origin);
        state.lastWritten = first.text;
        at = 1;
      }
      let ttl: number | undefined;
      let sawClass = false;
      while (at < tokens.length && !tokens[at]!.quoted) {
        const t = tokens[at]!.text;
        const c = t.charCodeAt(0);
        if (ttl === undefined && c >= 0x30 && c <= 0x39) {
          ttl = parseTtl(t);
        } else if (!sawClass && CLASS_START.has(c) && /^(IN|CH|HS|CS|CLASS\d+)$/i.test(t)) {
          if (t.toUpperCase() !== 'IN' && t.toUpperCase() !== 'CLASS1') fail(`class ${t}: only IN is served`);
          sawClass = true;
        } else {
          break;
        }
        at++;
      }
      const typeToken = tokens[at];
      if (!typeToken) fail('no record type');
      const type = typeCode(typeToken!.text);
      if (type === undefined) fail(`unknown record type "${typeToken!.text}"`);
      const rdata = rdataFromText(type!, tokens.slice(at + 1), state.origin);
      if (ttl !== undefined) state.lastTtl = ttl;
      else ttl = state.defaultTtl ?? state.lastTtl ?? (type === 6 ? soaTimers(rdata).minimum : undefined);
      if (ttl === undefined) fail('no TTL: set $TTL or give one');
      state.lastOwner = owner;
      if (!isWithin(owner, state.zone)) {
        state.warn({ kind: 'out-of-zone', file, line, message: `ignoring out-of-zone data (${owner === '.' ? '.' : owner.slice(0, -1)})` });
        continue;
      }
      if (type === RRSIG && state.now !== undefined) {
        const problem = expiryProblem(rdata, state.now);
        if (problem) state.warn({ kind: 'signature', file, line, message: `RRSIG ${typeName(sigCovers(rdata))} of ${owner}: ${problem}` });
      }
      out.push({ name: owner, ttl: ttl!, type: type!, rdata, file, line });
    } catch (err) {
      if (err instanceof RdataError || err instanceof NameError) fail(err.message);
      throw err;
    }
  }
}

/** What is wrong with a signature's expiry at `now` (seconds since the epoch), if anything. */
function expiryProblem(rrsig: Buffer, now: number): string | undefined {
  const secondsLeft = signatureSecondsLeft(rrsig, now);
  if (secondsLeft >= SIGNATURE_WARNING_S) return undefined;
  const when = new Date((now + secondsLeft) * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  return secondsLeft < 0 ? `the signature expired ${when}` : `the signature expires ${when}, in less than ${SIGNATURE_WARNING_S / 86400} days`;
}

/**
 * Zone-level rules, for a zone from a file or from a transfer: inside the
 * zone, one SOA at the apex, NS there, CNAME alone (but for its RRSIG, NSEC
 * and KEY); duplicates merged, an RRset's TTL its first (the RRSIGs
 * covering one type are an RRset). Errors name the record's file and line (a transfer
 * names its source instead).
 */
export function checkZone(records: (ZoneRecord & { line?: number; file?: string })[], zone: string, source = '(transfer)'): ZoneRecord[] {
  const checker = new ZoneChecker(zone, source);
  const out = checker.takeAll(records);
  checker.finish(records[0]);
  return out;
}

/**
 * checkZone's rules taken a record at a time, for a zone that arrives in
 * pieces (a transfer checked while it is received): take() each record in
 * order, then finish() once all came.
 */
export class ZoneChecker {
  // Kept lean, for zones of millions of records: one entry per owner name, found again without a
  // lookup while its records come together, as they mostly do.
  private readonly owners = new Map<string, OwnerSeen>();
  private name = '';
  private owner: OwnerSeen | undefined;

  constructor(
    private readonly zone: string,
    private readonly source = '(transfer)',
  ) {}

  /** The record as the zone keeps it (its RRset's TTL), undefined for a duplicate; ZoneFileError when it breaks a rule. */
  take(r: ZoneRecord & { line?: number; file?: string }): ZoneRecord | undefined {
    const { zone } = this;
    const at = (why: string): never => {
      throw new ZoneFileError(r.file ?? this.source, r.line ?? 0, why);
    };
    if (r.type === 6 && r.name !== zone) at(`SOA for ${r.name}: only the zone apex ${zone} has one`);
    // RRSIGs form one RRset per type they cover, each with its own TTL, as BIND keeps them.
    const key = r.type === 46 && r.rdata.length >= 2 ? 0x10000 + r.rdata.readUInt16BE(0) : r.type;
    let owner = this.owner;
    let rrset: RRsetSeen | undefined;
    if (r.name !== this.name || owner === undefined) {
      this.name = r.name;
      owner = this.owners.get(r.name);
      if (owner === undefined) {
        if (!isWithin(r.name, zone)) at(`${r.name} is outside the zone ${zone}`);
        // Most owners have one RRset of one record: it is the owner's entry itself.
        const first: OwnerSeen = { kinds: 0, key, ttl: r.ttl, seen: r.rdata, next: undefined };
        this.owners.set(r.name, (owner = rrset = first));
      }
      this.owner = owner;
    }
    if (rrset === undefined) {
      rrset = owner;
      while (rrset !== undefined && rrset.key !== key) rrset = rrset.next;
      if (rrset === undefined) {
        owner.next = rrset = { key, ttl: r.ttl, seen: r.rdata, next: owner.next };
      } else {
        const { seen } = rrset;
        if (Buffer.isBuffer(seen) ? seen.equals(r.rdata) : seen.has(r.rdata.toString('latin1'))) return undefined;
        if (r.type === 6) at(`a second SOA for ${zone}`);
        if (Buffer.isBuffer(seen)) rrset.seen = new Set([seen.toString('latin1'), r.rdata.toString('latin1')]);
        else seen.add(r.rdata.toString('latin1'));
      }
    }
    owner.kinds |= r.type === 5 ? CNAME_SEEN : BESIDE_CNAME.has(r.type) ? 0 : OTHER_SEEN;
    if (owner.kinds === (CNAME_SEEN | OTHER_SEEN)) at(`${r.name} has a CNAME and other data`);
    // A record from a transfer (no file, no line) that keeps its TTL goes out as it came: no copy.
    return r.ttl === rrset.ttl && r.file === undefined && r.line === undefined ? r : { name: r.name, ttl: rrset.ttl, type: r.type, rdata: r.rdata };
  }

  /** take() of each, those kept. */
  takeAll(records: readonly (ZoneRecord & { line?: number; file?: string })[]): ZoneRecord[] {
    const kept: ZoneRecord[] = [];
    for (const r of records) {
      const k = this.take(r);
      if (k) kept.push(k);
    }
    return kept;
  }

  /** The rules of the whole zone: SOA and NS at the apex. `first` is the zone's first record, whose file and line an error names. */
  finish(first?: { line?: number; file?: string }): void {
    const has = (key: number): boolean => {
      for (let s: RRsetSeen | undefined = this.owners.get(this.zone); s !== undefined; s = s.next) if (s.key === key) return true;
      return false;
    };
    const file = first?.file ?? this.source;
    const line = first?.line ?? 0;
    if (!has(6)) throw new ZoneFileError(file, line, `no SOA record at the zone apex ${this.zone}`);
    if (!has(2)) throw new ZoneFileError(file, line, `no NS records at the zone apex ${this.zone}`);
  }
}

/**
 * What ZoneChecker keeps of an RRset: its type (an RRSIG's: 0x10000 and
 * the type it covers), its TTL, and its RDATAs seen: the first alone, as
 * most RRsets have one; a set of them (as latin1 strings) once there are
 * more. The owner's RRsets are a list.
 */
interface RRsetSeen {
  key: number;
  ttl: number;
  seen: Buffer | Set<string>;
  next: RRsetSeen | undefined;
}

/** An owner name's first RRset, and whether it has a CNAME, or a type that may not stand beside one. */
interface OwnerSeen extends RRsetSeen {
  kinds: number;
}
const CNAME_SEEN = 1;
const OTHER_SEEN = 2;

/** A record as one master-file line: name, TTL, class, type, data in its canonical text. */
export function formatRecord(r: ZoneRecord): string {
  return `${r.name}\t${r.ttl}\tIN\t${typeName(r.type)}\t${rdataToText(r.type, r.rdata)}`;
}

/** RDATA of `type` from its presentation text (as a master file gives it), in wire form. */
export function rdataOfText(type: number, text: string, origin = '.'): Buffer {
  return rdataFromText(type, tokenize(text, '(rdata)').flatMap((l) => l.tokens), absolute(origin, '.'));
}
