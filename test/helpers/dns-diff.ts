import { spawn } from 'node:child_process';
import { requireTool } from './debian.js';

/**
 * Differential testing of DNS servers: the same questions asked of two
 * servers (b10-auth and BIND 9's named serving one zone file), the answers
 * compared as a resolver would see them. dig asks (in batch mode: two
 * processes, UDP and TCP, for hundreds of questions) and prints what came
 * back; this module reads dig's text into a Reply and compares two Replies.
 *
 * Compared: the rcode and opcode, the header flags (as a set), the OPT
 * record (present or not, version, DO and its other flags, the UDP payload
 * size), the EDNS options, the question section, and the answer, authority
 * and additional sections as multisets of records, each record exactly as
 * dig prints it: owner (case kept), TTL, class, type and RDATA. RRSIGs are
 * compared too: both servers serve the same signed file, so the signatures
 * are the same bytes.
 *
 * Left out, as they differ between any two servers or runs and say nothing
 * of the answer:
 * - the message ID, query time, server address and port, message size and
 *   date: dig prints none of them here (+nostats), the ID is not read;
 * - the order of records within a section: servers rotate RRsets
 *   (named's rrset-order), so sections compare as sorted lists;
 * - the records of a reply both servers truncated (TC): which ones fit
 *   depends on that rotation, and a resolver throws them away to ask again
 *   over TCP; the header, OPT and question of such replies are compared;
 * - EDNS COOKIE and NSID options: a server cookie is a per-server secret and
 *   NSID a server's name. dig sends no cookie (+nocookie) and asks no NSID,
 *   so none should come; should one come, it is dropped;
 * - the free text of an Extended DNS Error (RFC 8914 leaves it to each
 *   implementation): only its info-code is compared ("EDE: 0");
 * - the AD flag of a reply both servers truncated: named echoes the query's
 *   AD there, b10 never sets AD (it is an authoritative server, it
 *   validates nothing);
 * - in a reply over UDP that neither server truncated, either to a
 *   question without EDNS (512 bytes at most) or a referral (no AA; with
 *   DO, its NSEC3 proofs can bring it to the 1232 bytes of EDNS),
 *   additional records one server fitted beyond all that the other sent:
 *   named writes a referral's first name server name uncompressed, 19
 *   bytes that b10 spends on one more glue record (additional data left
 *   out for room is optional, RFC 2181 9). What both sent, and everything
 *   else, is compared.
 * The OPT's UDP payload size is compared: named 9.18 and b10 both offer 1232.
 *
 * One thing is made alike before the comparison rather than in it: the
 * zones test/helpers/sign.ts signs have their owner names written in
 * lowercase before both servers load them. dnssec-signzone writes NSEC3
 * owner names in uppercase, which named serves as written and b10 in
 * lowercase (it keeps owner names so, a difference of case documented in
 * docs/dns.md that no other fixture shows either, being written in
 * lowercase); the signatures hold either way (RFC 4034 6.2).
 */

export interface DiffQuery {
  /** Absolute or relative to the root, in presentation form (escapes as a master file writes them). */
  name: string;
  /** A type mnemonic dig knows, or TYPEnnn. */
  type: string;
  /** Over TCP; else UDP, where a truncated answer is shown as it came (+ignore), not retried. */
  tcp?: boolean;
  /** DO bit set (+dnssec). */
  dnssec?: boolean;
  /** The UDP payload size offered in the OPT (dig's default is 1232). */
  bufsize?: number;
  /** false: no OPT record in the query at all. */
  edns?: boolean;
  /** RD set (dig's +rec); the default is clear, as a resolver asks an authoritative server. */
  rd?: boolean;
  /** CD set (dig's +cdflag). */
  cd?: boolean;
}

export interface Opt {
  version: number;
  do: boolean;
  udp: number;
  /** EDNS flags other than DO, as dig prints them (an "MBZ: 0x..." for bits no flag names). */
  otherFlags: string[];
  /** EDNS options but COOKIE and NSID, one line each as dig prints them (EDE by info-code only). */
  options: string[];
}

export interface Reply {
  /** What dig said instead of a response: no response at all, or one it could not take. */
  error?: string;
  opcode?: string;
  rcode?: string;
  /** Header flags (qr aa tc rd ra ad cd), sorted. */
  flags: string[];
  opt: Opt | null;
  question: string[];
  answer: string[];
  authority: string[];
  additional: string[];
  /** dig's warnings about the message (malformed, extra bytes, recursion not available...). */
  notes: string[];
}

export interface DnsServer {
  port: number;
  /** 127.0.0.1 when not given. */
  address?: string;
}

const SECTIONS = ['question', 'answer', 'authority', 'additional'] as const;
type Section = (typeof SECTIONS)[number];

/** What dig is told for every question: RD clear, one try of 2 s, truncated answers kept as they came, no cookie. */
const COMMON = ['+norec', '+nostats', '+nocookie', '+ignore', '+nomultiline', '+time=2', '+tries=1'];
/** A batch of questions that takes longer than this is stopped: a server that never answers costs a bounded time. */
const DEFAULT_TIMEOUT_MS = 120_000;

/** The question as one line of dig's batch file. */
export function queryLine(q: DiffQuery): string {
  const options = [
    q.tcp ? '+tcp' : '',
    q.dnssec ? '+dnssec' : '',
    q.bufsize !== undefined ? `+bufsize=${q.bufsize}` : '',
    q.edns === false ? '+noedns' : '',
    q.rd ? '+rec' : '',
    q.cd ? '+cdflag' : '',
  ].filter((o) => o !== '');
  return [q.name, q.type, ...options].join(' ');
}

function emptyReply(): Reply {
  return { flags: [], opt: null, question: [], answer: [], authority: [], additional: [], notes: [] };
}

/** One EDNS option line of dig's OPT pseudosection, as compared; undefined for those left out. */
function optionLine(text: string): string | undefined {
  if (/^(COOKIE|NSID):/.test(text)) return undefined;
  const ede = /^EDE: (\d+)/.exec(text);
  return ede ? `EDE: ${ede[1]}` : text;
}

function parseEdns(line: string): Opt {
  // "; EDNS: version: 0, flags: do; udp: 1232" (an "; MBZ: 0x0010" before udp when unknown bits are set)
  const version = Number(/version: (\d+)/.exec(line)?.[1] ?? -1);
  const udp = Number(/udp: (\d+)/.exec(line)?.[1] ?? -1);
  const flagText = /flags:([^;]*);/.exec(line)?.[1] ?? '';
  const flags = flagText.trim().split(/\s+/).filter((f) => f !== '');
  const mbz = /MBZ: (0x[0-9a-f]+)/i.exec(line);
  return {
    version,
    udp,
    do: flags.includes('do'),
    otherFlags: [...flags.filter((f) => f !== 'do'), ...(mbz ? [`MBZ: ${mbz[1]}`] : [])].sort(),
    options: [],
  };
}

/** A record as compared: dig's fields, its runs of tabs (column alignment) made one space. */
const record = (line: string): string => line.replace(/\t+/g, ' ').trim();

/** The lines dig prints for one question, after its "; <<>> DiG ... <<>>" line, read into a Reply. */
export function parseBlock(lines: string[]): Reply {
  const reply = emptyReply();
  let section: Section | 'opt' | undefined;
  let answered = false;
  const errors: string[] = [];
  for (const raw of lines) {
    const line = raw.trimEnd();
    if (line === '') continue;
    const header = /^;; ->>HEADER<<- opcode: (\S+), status: (\S+), id: \d+/.exec(line);
    if (header) {
      answered = true;
      reply.opcode = header[1];
      reply.rcode = header[2];
      continue;
    }
    const flags = /^;; flags:([^;]*);/.exec(line);
    if (flags) {
      reply.flags = flags[1]!.trim().split(/\s+/).filter((f) => f !== '').sort();
      continue;
    }
    const sectionHead = /^;; (QUESTION|ANSWER|AUTHORITY|ADDITIONAL) SECTION:$/.exec(line);
    if (sectionHead) {
      section = sectionHead[1]!.toLowerCase() as Section;
      continue;
    }
    if (line === ';; OPT PSEUDOSECTION:') {
      section = 'opt';
      continue;
    }
    if (/^; \(\d+ servers? found\)$|^;; global options:|^;; Got answer:$/.test(line)) continue;
    // The server's address and port are in these; the same failure from two servers reads the same without them.
    const said = line.replace(/^(;;\s*)+/, '').replace(/\S+#\d+(\(\S+\))?/g, 'the server');
    if (/^(no servers could be reached|connection timed out|Connection to .* failed|communications error)/.test(said)) {
      errors.push(said);
      continue;
    }
    if (line.startsWith(';;')) {
      reply.notes.push(said);
      continue;
    }
    if (section === 'opt' && line.startsWith('; ')) {
      const text = line.slice(2);
      if (text.startsWith('EDNS:')) reply.opt = parseEdns(text);
      else {
        const option = optionLine(text);
        if (option !== undefined && reply.opt) reply.opt.options.push(option);
      }
      continue;
    }
    if (section === 'question' && line.startsWith(';')) {
      reply.question.push(record(line.slice(1)));
      continue;
    }
    if (section && section !== 'opt' && !line.startsWith(';')) {
      reply[section].push(record(line));
      continue;
    }
    reply.notes.push(line);
  }
  if (!answered) {
    reply.error = [...reply.notes, ...new Set(errors)].join('; ') || `no response (${lines.join(' | ')})`;
    reply.notes = [];
  }
  for (const s of SECTIONS) reply[s].sort();
  reply.opt?.options.sort();
  return reply;
}

const DIG_HEAD = /^; <<>> DiG [^<]*<<>> (.*)$/;
/**
 * What dig says while it waits for an answer (a timeout, a TCP connection
 * refused, a reply it threw away) it prints before the "; <<>> DiG" line of
 * that question, after the previous question's output: from the first such
 * line on, a block's lines belong to the next question.
 */
const SAID_BEFORE = /^;; (;; )?(communications error|Connection to .* failed|Question section mismatch|Warning: ID mismatch|Got bad packet)/;

/** dig's output for a batch of questions, one Reply per question in order; each block is matched to its question. */
export function parseDig(output: string, queries: DiffQuery[]): Reply[] {
  // Each block: what dig said before its "; <<>> DiG" line, and after it.
  const blocks: { line: string; early: string[]; lines: string[] }[] = [];
  let early: string[] = [];
  const cutTail = (): void => {
    const last = blocks.at(-1);
    const from = last?.lines.findIndex((l) => SAID_BEFORE.test(l)) ?? -1;
    if (from >= 0) early = [...last!.lines.splice(from), ...early];
  };
  for (const line of output.split('\n')) {
    const head = DIG_HEAD.exec(line);
    if (head) {
      cutTail();
      blocks.push({ line: head[1]!.trim(), early, lines: [] });
      early = [];
    } else if (blocks.length === 0) early.push(line);
    else blocks.at(-1)!.lines.push(line);
  }
  cutTail();
  // Each question has its block, in order. For some failures (a TCP connection refused, a reply on a kept-open
  // TCP connection that is not for the question) dig prints no block, only what it said before the next one.
  const replies: Reply[] = [];
  let next = 0;
  for (const q of queries) {
    const block = blocks[next];
    if (block?.line === queryLine(q)) {
      replies.push(parseBlock([...block.early, ...block.lines]));
      next++;
      continue;
    }
    const said = (block?.early ?? early).splice(0).filter((l) => l.trim() !== '');
    replies.push(said.length > 0 ? parseBlock(said) : { ...emptyReply(), error: 'no response: dig printed nothing for this question' });
  }
  if (next !== blocks.length) throw new Error(`dig printed answers to questions not asked, from "${blocks[next]!.line}" on`);
  return replies;
}

/** One dig for `queries`, with `extra` arguments for all of them; the Replies in order. */
function digBatch(server: DnsServer, queries: DiffQuery[], extra: string[], timeoutMs: number): Promise<Reply[]> {
  if (queries.length === 0) return Promise.resolve([]);
  const dig = requireTool('dig', 'dnsutils');
  const args = [`@${server.address ?? '127.0.0.1'}`, '-p', String(server.port), ...COMMON, ...extra, '-f', '-'];
  return new Promise((resolve, reject) => {
    const child = spawn(dig, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`dig did not get through ${queries.length} questions to port ${server.port} within ${timeoutMs} ms`));
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', () => {
      clearTimeout(timer);
      try {
        resolve(parseDig(stdout, queries));
      } catch (err) {
        reject(new Error(`${(err as Error).message}\n${stderr}`));
      }
    });
    child.stdin.end(`${queries.map(queryLine).join('\n')}\n`);
  });
}

/**
 * Asks `server` every question; the Replies in the same order. Two digs at
 * once, one for the UDP questions and one for the TCP ones: in a batch file
 * dig takes +tcp only from its command line (on a line of the file it is
 * ignored, and the question goes over UDP). The TCP questions share one
 * connection (+keepopen), as a resolver's do. A server that does not answer
 * costs dig's wait (2 s) a question, and a batch at most `timeoutMs`.
 */
export async function ask(server: DnsServer, queries: DiffQuery[], timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Reply[]> {
  const [byUdp, byTcp] = await Promise.all([
    digBatch(server, queries.filter((q) => !q.tcp), [], timeoutMs),
    digBatch(server, queries.filter((q) => q.tcp), ['+tcp', '+keepopen'], timeoutMs),
  ]);
  let u = 0;
  let t = 0;
  return queries.map((q) => (q.tcp ? byTcp[t++]! : byUdp[u++]!));
}

/** Lines in `a` but not in `b`, counted (a record twice in one section is a difference). */
function minus(a: string[], b: string[]): string[] {
  const left = [...b];
  return a.filter((line) => {
    const i = left.indexOf(line);
    if (i < 0) return true;
    left.splice(i, 1);
    return false;
  });
}

const optText = (opt: Opt | null): string =>
  opt === null ? 'no OPT' : `version ${opt.version}, do ${opt.do}, udp ${opt.udp}${opt.otherFlags.length > 0 ? `, flags ${opt.otherFlags.join(' ')}` : ''}`;

/**
 * How two Replies to one question differ, one line per difference, each
 * saying which server has what; empty when they do not. `names` labels the
 * servers (first, second) in the text.
 */
export function replyDifferences(a: Reply, b: Reply, names: [string, string] = ['first', 'second'], cutForRoom = false): string[] {
  const [na, nb] = names;
  const out: string[] = [];
  if (a.error !== undefined || b.error !== undefined) {
    if (a.error !== b.error) out.push(`response: ${na} ${a.error ?? 'answered'}; ${nb} ${b.error ?? 'answered'}`);
    return out;
  }
  if (a.opcode !== b.opcode) out.push(`opcode: ${na} ${a.opcode}, ${nb} ${b.opcode}`);
  if (a.rcode !== b.rcode) out.push(`rcode: ${na} ${a.rcode}, ${nb} ${b.rcode}`);
  const setDiff = (what: string, x: string[], y: string[]): void => {
    for (const line of minus(x, y)) out.push(`${what} only from ${na}: ${line}`);
    for (const line of minus(y, x)) out.push(`${what} only from ${nb}: ${line}`);
  };
  // Both truncated: the records are not compared, nor AD (see the top of this file).
  const truncated = a.flags.includes('tc') && b.flags.includes('tc');
  const flags = (r: Reply): string[] => (truncated ? r.flags.filter((f) => f !== 'ad') : r.flags);
  setDiff('flag', flags(a), flags(b));
  if (optText(a.opt) !== optText(b.opt)) out.push(`OPT: ${na} ${optText(a.opt)}; ${nb} ${optText(b.opt)}`);
  setDiff('EDNS option', a.opt?.options ?? [], b.opt?.options ?? []);
  // Additional data cut for room (see the top of this file): the larger cut only adds to the smaller one.
  const cutShort = cutForRoom && !truncated && (minus(a.additional, b.additional).length === 0 || minus(b.additional, a.additional).length === 0);
  for (const s of SECTIONS) if ((!truncated || s === 'question') && !(cutShort && s === 'additional')) setDiff(s, a[s], b[s]);
  setDiff('dig says', a.notes, b.notes);
  return out;
}

/**
 * The differences between two servers' replies to the same questions, as
 * text: for each question answered differently, the question and its
 * differences. Empty when every answer is the same.
 */
export function compare(queries: DiffQuery[], a: Reply[], b: Reply[], names: [string, string] = ['first', 'second']): string[] {
  const out: string[] = [];
  queries.forEach((q, i) => {
    const referral = !a[i]!.flags.includes('aa') && !b[i]!.flags.includes('aa');
    const diffs = replyDifferences(a[i]!, b[i]!, names, !q.tcp && (q.edns === false || referral));
    if (diffs.length > 0) out.push(`${queryLine(q)}\n${diffs.map((d) => `  ${d}`).join('\n')}`);
  });
  return out;
}

/** Asks both servers every question (at once) and compares: the differences, as compare() gives them. */
export async function differences(
  queries: DiffQuery[],
  a: DnsServer & { name?: string },
  b: DnsServer & { name?: string },
): Promise<string[]> {
  const [ra, rb] = await Promise.all([ask(a, queries), ask(b, queries)]);
  return compare(queries, ra, rb, [a.name ?? `port ${a.port}`, b.name ?? `port ${b.port}`]);
}

/** Every question once per combination of transport and DO bit asked for (by default all four). */
export function variants(queries: DiffQuery[], options: { tcp?: boolean[]; dnssec?: boolean[] } = {}): DiffQuery[] {
  const out: DiffQuery[] = [];
  for (const tcp of options.tcp ?? [false, true]) {
    for (const dnssec of options.dnssec ?? [false, true]) out.push(...queries.map((q) => ({ ...q, tcp, dnssec })));
  }
  return out;
}
