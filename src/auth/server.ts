import dgram from 'node:dgram';
import net from 'node:net';
import { lookup, zoneFor, type Answer } from '../dns/lookup.js';
import {
  answerResponse,
  badvers,
  bareResponse,
  CD,
  formerr,
  OPCODE_NOTIFY,
  OPCODE_QUERY,
  OPCODE_UPDATE,
  parseQuery,
  RCODE,
  type Parsed,
  type Query,
} from '../dns/message.js';
import { EDNS_DO, EDNS_NONE, EDNS_PLAIN, plainQuery, readPlainQuery } from '../dns/plain-query.js';
import { checkRequest, Keyring, tsigErrorName, tsigSize } from '../dns/tsig.js';
import { NS, type Zone } from '../dns/zone.js';
import { LogThrottle } from '../log-throttle.js';
import { listenOn } from '../listen.js';
import type { Logger } from '../log.js';
import { AuthCounters } from './counters.js';
import { bindFailure, blockedByOwn, checkEndpoints, formatEndpoint, ListenError, planMove, type Bound, type Endpoint } from './endpoints.js';
import { PreparedResponses, type Counted, type Prepared } from './prepared.js';
import { limitsAnything, ResponseRateLimiter, type RateLimit, type ResponseKind, type Verdict } from './rrl.js';
import { serveTcpConnection, type TcpOutcome } from './tcp-connection.js';
import type { UpdateClient } from './update-relay.js';

export type { Endpoint } from './endpoints.js';

export interface AuthLimits {
  /** Open TCP connections at most; more are closed at once. */
  maxTcpConnections: number;
  /** A TCP connection that completes no query for this long (from its accept, or its last query) is closed, ms. */
  tcpIdleMs: number;
}

export const DEFAULT_AUTH_LIMITS: AuthLimits = Object.freeze({ maxTcpConnections: 100, tcpIdleMs: 10_000 });

/** How many ports a listen on port 0 tries before it gives up. */
const PORT_PICKS = 10;
/** Prepared responses at most; the cache starts over when full or when a zone changes. */
const MAX_PREPARED = 20_000;
const CLASS_IN = 1;
const AXFR = 252;
const IXFR = 251;
const SOA = 6;

/** A QUERY for AXFR or IXFR: xfrout's to answer, on the client's own connection. */
function isTransferQuery(parsed: Parsed): boolean {
  return parsed.kind === 'query' && parsed.query.opcode === OPCODE_QUERY && (parsed.query.qtype === AXFR || parsed.query.qtype === IXFR);
}

/** A response; what rate limiting counts it as (nothing: never limited); what a slip sends in its place. */
interface Reply {
  bytes: Buffer;
  counted?: Counted;
  slipped?: () => Buffer;
}

const ERROR: Counted = Object.freeze({ kind: 'error', name: '', qtype: 0 });
const error = (bytes: Buffer): Reply => ({ bytes, counted: ERROR });

/** The prepared response with the id, RD and CD bits and question of `query`. */
function fill(prepared: Buffer, query: Query): Buffer {
  const out = Buffer.allocUnsafe(prepared.length);
  prepared.copy(out);
  out.writeUInt16BE(query.id, 0);
  out[2] = (out[2]! & ~0x01) | (query.rd ? 0x01 : 0);
  out[3] = (out[3]! & ~CD) | (query.cd ? CD : 0);
  query.question.copy(out, 12);
  return out;
}

/**
 * dgram's lookup for auth's UDP sockets. Every address they see is numeric
 * already (those bound to are checked by checkEndpoints; answers go to a
 * client's own): it is passed back at once, where dns.lookup would check it
 * again and put every send off by a tick.
 */
function numericLookup(address: string, family: unknown, callback: (err: null, address: string, family: number) => void): void {
  callback(null, address, family === 6 ? 6 : 4);
}

/** The largest UDP response a query allows: its EDNS payload size, at least 512; 512 without EDNS. */
function udpMaxSize(payload: number | undefined): number {
  return payload === undefined ? 512 : Math.max(512, Math.min(payload, 65_535));
}

/**
 * What an answer counts as for rate limiting, with the names named imputes:
 * NXDOMAIN once per zone and a referral once per delegation, whatever name
 * below was asked; names outside every zone are errors.
 */
function countedAs(query: Query, answer: Answer): Counted {
  if (answer.rcode === 'REFUSED' || answer.rcode === 'SERVFAIL') return ERROR;
  const first = answer.authority[0];
  if (answer.rcode === 'NXDOMAIN') return { kind: 'nxdomain', name: first?.name ?? query.qname, qtype: 0 };
  if (!answer.aa && first?.type === NS) return { kind: 'response', name: first.name, qtype: 0 };
  return { kind: 'response', name: query.qname, qtype: query.qtype };
}

interface Listener extends Bound {
  udp: dgram.Socket;
  tcp: net.Server;
  /** The TCP connections it accepted: they end when it is dropped. */
  connections: Set<net.Socket>;
}

/** What a change of endpoints did. */
export interface Listening {
  /** Every endpoint answered on, in the order asked, with the ports picked for port 0. */
  bound: Endpoint[];
  /** Whether any socket was opened or closed. */
  changed: boolean;
}

function closeSockets({ udp, tcp }: Listener): void {
  udp.close();
  tcp.close();
}

/** A UDP reply as rate limiting's verdict lets it go: whole, truncated (errors: whole, at the slip rate, as named leaks them), or not at all. */
function limited(reply: Reply, verdict: Verdict): Buffer | undefined {
  switch (verdict) {
    case 'send':
      return reply.bytes;
    case 'slip':
      return reply.slipped?.() ?? reply.bytes;
    case 'drop':
      return undefined;
  }
}

/**
 * The DNS side of b10-auth: answers from the zones in memory, over UDP and
 * TCP, and never waits on anything else (the bus least of all). A response
 * to a (name, type, DO bit, size limit) is prepared once and sent again
 * with only the id, the RD and CD bits and the question's case patched.
 */
export class AuthServer {
  private zones = new Map<string, Zone>();
  private readonly prepared = new PreparedResponses(MAX_PREPARED);
  /** The plain query being answered: read into the same object every time. */
  private readonly plain = plainQuery();
  private rateLimiter: ResponseRateLimiter | undefined;
  private listeners: Listener[] = [];
  private readonly tcpSockets = new Set<net.Socket>();
  /** The TSIG keys signed queries and NOTIFYs are checked with, and their answers signed. */
  keyring = new Keyring();
  /**
   * Where rate limiting verdicts come from when other processes answer on
   * the same sockets (Auth/workers): one set of accounts for them all. While
   * set (only while limiting is on), each UDP answer is sent once its verdict comes.
   */
  sharedRateLimit: ((client: string, kind: ResponseKind, name: string, qtype: number) => Promise<Verdict>) | undefined;
  /** Likewise for --tcp-max-connections: asked whether one more connection may open, told when one let in ends. */
  sharedTcpCap: { open: () => Promise<boolean>; closed: () => void } | undefined;
  private readonly tsigFailures = new LogThrottle();
  readonly counters = new AuthCounters();

  constructor(
    private readonly log: Logger,
    private readonly limits: AuthLimits = DEFAULT_AUTH_LIMITS,
    /** Takes over a TCP connection whose query asks for a transfer; false when nobody can, and auth refuses it. */
    private readonly handOff?: (socket: net.Socket, query: Buffer) => boolean,
    /** Told of each NOTIFY: the zone, who sent it, the TSIG key it was verified with; says the rcode to answer, undefined for the default. */
    private readonly onNotify?: (zone: string, from: string, key?: string) => number | undefined,
    /** Takes each UPDATE (ddns's to answer); resolves with the response to send. Without it UPDATE is NOTIMP. */
    private readonly onUpdate?: (packet: Buffer, query: Query, client: UpdateClient) => Promise<Buffer | undefined>,
  ) {}

  /** The query, when it is an UPDATE for onUpdate to take. */
  private updateOf(parsed: Parsed): Query | undefined {
    if (!this.onUpdate || parsed.kind !== 'query' || parsed.query.opcode !== OPCODE_UPDATE) return undefined;
    // An EDNS version auth does not speak is answered BADVERS here, as any other message.
    return (parsed.query.edns?.version ?? 0) === 0 ? parsed.query : undefined;
  }

  /** Serves `zone` from now on, in place of any zone of that name: queries see the old one or the new one, whole. */
  setZone(zone: Zone): void {
    const next = new Map(this.zones);
    next.set(zone.origin, zone);
    this.zones = next;
    this.prepared.clear();
  }

  /** The zone served as `origin`, if any. */
  zone(origin: string): Zone | undefined {
    return this.zones.get(origin);
  }

  removeZone(origin: string): boolean {
    if (!this.zones.has(origin)) return false;
    const next = new Map(this.zones);
    next.delete(origin);
    this.zones = next;
    this.prepared.clear();
    return true;
  }

  zoneList(): { origin: string; serial: number }[] {
    return [...this.zones.values()].map((z) => ({ origin: z.origin, serial: z.serial }));
  }

  /** Rate limits UDP responses from now on; the accounts kept so far go on while the limit stays the same. */
  setRateLimit(limit: RateLimit): void {
    if (JSON.stringify(limit) === JSON.stringify(this.rateLimiter?.limit)) return;
    this.rateLimiter = limitsAnything(limit) ? new ResponseRateLimiter(limit) : undefined;
  }

  /**
   * The answer to one UDP message, as rate limiting lets it go (TCP is never limited: its clients cannot be spoofed).
   * An update's answer comes later, from ddns, and is sent from this socket then.
   */
  private respondUdp(packet: Buffer, rinfo: dgram.RemoteInfo, udp: dgram.Socket): Buffer | undefined {
    const from = rinfo.address;
    const parsed = parseQuery(packet);
    this.counters.query(parsed, 'udp');
    const update = this.updateOf(parsed);
    if (update) {
      void this.onUpdate!(Buffer.from(packet), update, { address: from, port: rinfo.port, transport: 'udp' }).then((response) => {
        if (!response) return;
        try {
          udp.send(response, rinfo.port, rinfo.address);
        } catch (err) {
          // The socket was closed meanwhile (auth moved or stopped): the client asks again.
          this.log.debug({ err }, 'update answer not sent: its socket is closed');
        }
      });
      return undefined;
    }
    const reply = this.respondTo(packet, parsed, 'udp', from);
    if (!reply?.counted || !(this.rateLimiter || this.sharedRateLimit)) return reply?.bytes;
    const { kind, name, qtype } = reply.counted;
    if (this.sharedRateLimit) {
      void this.sharedRateLimit(from, kind, name, qtype).then((verdict) => {
        const response = limited(reply, verdict);
        if (response) this.sendUdp(udp, response, rinfo);
      });
      return undefined;
    }
    return limited(reply, this.rateLimiter!.decide(from, kind, name, qtype, performance.now()));
  }

  private sendUdp(udp: dgram.Socket, response: Buffer, rinfo: dgram.RemoteInfo): void {
    try {
      udp.send(response, rinfo.port, rinfo.address);
    } catch (err) {
      // The socket was closed meanwhile (auth moved or stopped): the client asks again.
      this.log.debug({ err }, 'answer not sent: its socket is closed');
      return;
    }
    this.counters.response(response);
  }

  /**
   * A signed message (RFC 8945 5.2) is checked first: a bad one is answered
   * NOTAUTH with the TSIG error (FORMERR when the TSIG is malformed), a good
   * one as it would be unsigned, in room left for the TSIG, then signed.
   */
  private respondTo(packet: Buffer, parsed: Parsed, transport: 'udp' | 'tcp', from: string): Reply | undefined {
    if (parsed.kind !== 'query' || !parsed.query.signed) return this.respondPlain(parsed, transport, from);
    const query = parsed.query;
    const check = checkRequest(packet, this.keyring);
    if (check.status === 'bad') {
      const held = this.tsigFailures.take(`${from} ${check.keyName ?? ''} ${check.error}`);
      if (held !== undefined) {
        this.log.warn({ client: from, key: check.keyName, tsigError: tsigErrorName(check.error), why: check.why, heldBack: held }, 'signed message refused');
      }
      return error(check.finish(bareResponse(query, check.rcode)));
    }
    if (check.status === 'unsigned') return this.respondPlain(parsed, transport, from);
    const reply = this.respondPlain(parsed, transport, from, tsigSize(check.key), check.key.name);
    if (!reply) return undefined;
    const slipped = reply.slipped;
    return { bytes: check.signer.sign(reply.bytes), counted: reply.counted, slipped: slipped && (() => check.signer.sign(slipped())) };
  }

  /** The answer as if unsigned; `room`: bytes to leave free for a TSIG; `key`: the one a signed message was verified with. */
  private respondPlain(parsed: Parsed, transport: 'udp' | 'tcp', from: string, room = 0, key?: string): Reply | undefined {
    if (parsed.kind === 'drop') return undefined;
    if (parsed.kind === 'formerr') return error(formerr(parsed));
    const query = parsed.query;
    if (query.edns && query.edns.version > 0) return error(badvers(query));
    if (query.opcode === OPCODE_NOTIFY) {
      // One of Xfrin's zones: REFUSED unless from its primary, acknowledged when it is (a secondary zone not served
      // yet may be waiting for its first transfer). Any other name as named: acknowledged with AA when served, else NOTAUTH.
      const rcode = this.onNotify?.(query.qname, from, key);
      if (rcode === RCODE.REFUSED) return error(bareResponse(query, RCODE.REFUSED));
      const acknowledged = rcode === RCODE.NOERROR || this.zones.has(query.qname);
      return acknowledged ? { bytes: bareResponse(query, RCODE.NOERROR, { aa: true }) } : error(bareResponse(query, RCODE.NOTAUTH));
    }
    if (query.opcode !== OPCODE_QUERY) return error(bareResponse(query, RCODE.NOTIMP));
    if (query.qclass !== CLASS_IN) return error(bareResponse(query, RCODE.REFUSED));
    if (query.qtype === IXFR && transport === 'udp') return this.ixfrOverUdp(query, room);
    if (query.qtype === AXFR || query.qtype === IXFR) return error(bareResponse(query, transport === 'udp' ? RCODE.FORMERR : RCODE.REFUSED));
    return this.answer(query, transport, room);
  }

  /**
   * An IXFR over UDP gets the zone's SOA alone, as named answers it (RFC 1995
   * 2 allows it): the client is current, or it asks again over TCP. A zone
   * not served here is NOTAUTH, an IXFR without the client's SOA in its
   * authority section FORMERR, as named answers them. `room` as for answer().
   */
  private ixfrOverUdp(query: Query, room: number): Reply {
    if (!this.zones.has(query.qname)) return error(bareResponse(query, RCODE.NOTAUTH));
    if (query.nscount === 0) return error(bareResponse(query, RCODE.FORMERR));
    const maxSize = udpMaxSize(query.edns?.payload) - room;
    const found = lookup(this.zones, query.qname, SOA, { minimal: true, noAdditional: true, dnssec: query.edns?.dnssecOk === true });
    return { bytes: answerResponse(query, found, maxSize), counted: countedAs(query, found) };
  }

  private answer(query: Query, transport: 'udp' | 'tcp', room: number): Reply {
    // Over UDP the client's EDNS payload size, at least 512; over TCP a whole message.
    const maxSize = (transport === 'tcp' ? 65_535 : udpMaxSize(query.edns?.payload)) - room;
    // The DO bit is echoed (RFC 3225), and RD decides whether a positive answer carries the zone's NS
    // (named's default minimal-responses): each combination is a response of its own.
    const shape = { edns: query.edns ? (query.edns.dnssecOk ? EDNS_DO : EDNS_PLAIN) : EDNS_NONE, maxSize, rd: query.rd };
    let prepared = this.prepared.find(query.question, 0, query.question.length, shape.edns, maxSize, query.rd);
    if (prepared === undefined) {
      // named answers a UDP query that offers at most 512 bytes of EDNS minimally: no NS in authority, no additional data.
      const small = transport === 'udp' && query.edns !== undefined && query.edns.payload <= 512;
      const found = lookup(this.zones, query.qname, query.qtype, { minimal: query.rd || small, noAdditional: small, dnssec: query.edns?.dnssecOk === true });
      prepared = this.prepared.add(query.question, shape, {
        bytes: answerResponse(query, found, maxSize),
        counted: countedAs(query, found),
        rcode: RCODE[found.rcode],
        aa: found.aa,
        zone: this.counters.zone(zoneFor(this.zones, query.qname)?.origin),
      });
    }
    const entry: Prepared = prepared;
    this.counters.answered(entry.zone, entry.rcode);
    return {
      bytes: fill(entry.bytes, query),
      counted: entry.counted,
      slipped: () => fill((entry.truncated ??= bareResponse(query, entry.rcode, { aa: entry.aa, tc: true })), query),
    };
  }

  /**
   * A plain query (readPlainQuery) whose response is prepared, answered at
   * once: the query's own buffer gets the response's header, its id and
   * question kept, and goes out followed by the prepared rest. False for any
   * other message, and while rate limiting (which respondUdp applies).
   */
  private sendPrepared(msg: Buffer, rinfo: dgram.RemoteInfo, udp: dgram.Socket): boolean {
    const query = this.plain;
    if (this.rateLimiter !== undefined || this.sharedRateLimit !== undefined || !readPlainQuery(msg, query)) return false;
    const maxSize = udpMaxSize(query.edns === EDNS_NONE ? undefined : query.payload);
    const entry = this.prepared.find(msg, 12, query.questionEnd, query.edns, maxSize, query.rd);
    if (entry === undefined) return false;
    // RD is the prepared response's own (it tells responses apart); CD is echoed.
    const bytes = entry.bytes;
    msg[2] = bytes[2]!;
    msg[3] = (bytes[3]! & ~CD) | (msg[3]! & CD);
    for (let i = 4; i < 12; i++) msg[i] = bytes[i]!;
    udp.send([msg.subarray(0, query.questionEnd), entry.tail], rinfo.port, rinfo.address);
    this.counters.prepared('udp', query.qtype, query.edns === EDNS_DO, entry.zone, entry.rcode, entry.tc);
    return true;
  }

  /**
   * Answers on exactly `endpoints` from now on (port 0 picks a port), all or
   * nothing: every new socket, UDP and TCP on every address, is bound before
   * any old one is let go; when one cannot be, those opened are closed and
   * auth answers where it did, rejecting with ListenError. An endpoint still
   * wanted keeps its sockets and connections, so it answers throughout.
   */
  async listen(endpoints: readonly Endpoint[]): Promise<Listening> {
    checkEndpoints(endpoints);
    const { kept, dropped } = planMove(this.listeners, endpoints);
    const next = [...kept];
    const opened: Listener[] = [];
    const retired: Listener[] = [];
    try {
      const blocked: number[] = [];
      for (const [i, endpoint] of endpoints.entries()) {
        if (next[i]) continue;
        try {
          opened.push((next[i] = await this.open(endpoint)));
        } catch (err) {
          if (!blockedByOwn(err, endpoint, dropped)) throw err;
          blocked.push(i);
        }
      }
      if (blocked.length > 0) {
        // Only old listeners on those ports stand in the way: they stop first, and come back should the new ones fail.
        const ports = new Set(blocked.map((i) => endpoints[i]!.port));
        for (const listener of dropped.filter((l) => ports.has(l.bound.port))) {
          closeSockets(listener);
          retired.push(listener);
        }
        for (const i of blocked) opened.push((next[i] = await this.open(endpoints[i]!)));
      }
    } catch (err) {
      for (const listener of opened) this.drop(listener);
      for (const listener of retired) await this.reopen(listener);
      throw err;
    }
    for (const listener of dropped) {
      if (!retired.includes(listener)) closeSockets(listener);
      this.endConnections(listener);
    }
    this.listeners = next as Listener[];
    return { bound: this.listeners.map((l) => l.bound), changed: opened.length > 0 || dropped.length > 0 };
  }

  /** Endpoints answered on now. */
  endpoints(): Endpoint[] {
    return this.listeners.map((l) => l.bound);
  }

  /** Listens on `asked`; port 0 picks a free UDP port, and TCP must take the same number. */
  private async open(asked: Endpoint, connections = new Set<net.Socket>()): Promise<Listener> {
    // Another program may hold the picked port for TCP, so a few picks are tried before giving up.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.openOnce(asked, connections);
      } catch (err) {
        if (asked.port !== 0 || !(err instanceof ListenError) || err.bindCode !== 'EADDRINUSE' || attempt === PORT_PICKS) throw err;
      }
    }
  }

  private async openOnce(asked: Endpoint, connections: Set<net.Socket>): Promise<Listener> {
    const udp = dgram.createSocket({ type: net.isIPv6(asked.address) ? 'udp6' : 'udp4', lookup: numericLookup });
    udp.on('message', (msg, rinfo) => {
      if (this.sendPrepared(msg, rinfo, udp)) return;
      const response = this.safely(() => this.respondUdp(msg, rinfo, udp));
      if (response) this.sendUdp(udp, response, rinfo);
    });
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(asked.port, asked.address, () => {
          udp.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      throw bindFailure(asked, 'UDP', err as NodeJS.ErrnoException);
    }
    udp.on('error', (err) => this.log.warn({ err }, 'UDP socket error'));
    const bound = { address: asked.address, port: udp.address().port };
    const tcp = net.createServer((socket) => this.acceptTcp(socket, connections));
    try {
      await listenOn(tcp, { port: bound.port, host: bound.address });
    } catch (err) {
      udp.close();
      throw bindFailure(bound, 'TCP', err as NodeJS.ErrnoException);
    }
    return { asked, bound, udp, tcp, connections };
  }

  /** A listener closed to make way for a move that failed: back where it was, its connections with it. */
  private async reopen(listener: Listener): Promise<void> {
    const at = this.listeners.indexOf(listener);
    try {
      this.listeners[at] = { ...(await this.open(listener.bound, listener.connections)), asked: listener.asked };
    } catch (err) {
      this.listeners.splice(at, 1);
      this.endConnections(listener);
      this.log.error({ err }, `lost ${formatEndpoint(listener.bound)} while putting it back after a failed move`);
    }
  }

  private drop(listener: Listener): void {
    closeSockets(listener);
    this.endConnections(listener);
  }

  private endConnections(listener: Listener): void {
    for (const socket of listener.connections) socket.destroy();
  }

  /**
   * Stops answering on every endpoint; the ports are free when this returns.
   * It does not wait for the TCP servers' 'close': Node keeps counting a
   * connection handed to xfrout, asking the process it went through (the
   * boss) for it, so that event would not come.
   */
  async close(): Promise<void> {
    for (const listener of this.listeners.splice(0)) this.drop(listener);
  }

  /** A packet that breaks something unforeseen costs that packet, never the server. */
  private safely<T>(work: () => T): T | undefined {
    try {
      return work();
    } catch (err) {
      this.log.debug({ err }, 'query dropped: it could not be answered');
      return undefined;
    }
  }

  /** DNS over TCP, past the cap of connections closed at once; `connections` are those of the listener that accepted it. */
  private acceptTcp(socket: net.Socket, connections: Set<net.Socket>): void {
    const cap = this.sharedTcpCap;
    if (cap) {
      // Its queries wait in the socket until the verdict: nothing reads it before. A reset meanwhile ends only it.
      socket.on('error', () => socket.destroy());
      void cap.open().then((admitted) => {
        if (!admitted || socket.destroyed) {
          if (admitted) cap.closed();
          socket.destroy();
          return;
        }
        let counted = true;
        const release = (): void => {
          if (counted) cap.closed();
          counted = false;
        };
        this.serveTcp(socket, connections, release);
      });
      return;
    }
    if (this.tcpSockets.size >= this.limits.maxTcpConnections) {
      socket.destroy();
      return;
    }
    this.serveTcp(socket, connections, () => {});
  }

  /** Serves a connection let in; `release` once it no longer counts against the cap (closed, or handed off). */
  private serveTcp(socket: net.Socket, connections: Set<net.Socket>, release: () => void): void {
    this.tcpSockets.add(socket);
    connections.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => {
      this.tcpSockets.delete(socket);
      connections.delete(socket);
      release();
    });
    serveTcpConnection(socket, this.limits.tcpIdleMs, (packet) => {
      const outcome = this.respondTcp(socket, packet);
      if (outcome !== 'handed-off') return outcome;
      this.tcpSockets.delete(socket);
      connections.delete(socket);
      release();
      return outcome;
    });
  }

  /** One message on a TCP connection: answered, handed to xfrout (a transfer), or to ddns (an update, answered later). */
  private respondTcp(socket: net.Socket, packet: Buffer): TcpOutcome {
    return this.safely((): TcpOutcome => {
      const parsed = parseQuery(packet);
      this.counters.query(parsed, 'tcp');
      if (this.handOff !== undefined && isTransferQuery(parsed) && this.handOff(socket, Buffer.from(packet))) return 'handed-off';
      const update = this.updateOf(parsed);
      const client = { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0, transport: 'tcp' as const };
      if (update) return this.onUpdate!(Buffer.from(packet), update, client);
      const response = this.respondTo(packet, parsed, 'tcp', client.address)?.bytes;
      if (response) this.counters.response(response);
      return response;
    });
  }
}
