import dgram from 'node:dgram';
import net from 'node:net';
import { lookup } from '../dns/lookup.js';
import {
  answerResponse,
  badvers,
  bareResponse,
  formerr,
  lengthPrefixed,
  OPCODE_NOTIFY,
  OPCODE_QUERY,
  parseQuery,
  RCODE,
  type Parsed,
  type Query,
} from '../dns/message.js';
import type { Zone } from '../dns/zone.js';
import { listenOn } from '../listen.js';
import type { Logger } from '../log.js';

export interface Endpoint {
  address: string;
  port: number;
}

export interface AuthLimits {
  /** Open TCP connections at most; more are closed at once. */
  maxTcpConnections: number;
  /** A TCP connection with no complete query for this long is closed, ms. */
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

/** A QUERY for AXFR or IXFR: xfrout's to answer, on the client's own connection. */
function isTransferQuery(parsed: Parsed): boolean {
  return parsed.kind === 'query' && parsed.query.opcode === OPCODE_QUERY && (parsed.query.qtype === AXFR || parsed.query.qtype === IXFR);
}

interface Listener {
  endpoint: Endpoint;
  udp: dgram.Socket;
  tcp: net.Server;
}

/**
 * The DNS side of b10-auth: answers from the zones in memory, over UDP and
 * TCP, and never waits on anything else (the bus least of all). A response
 * to a (name, type) is prepared once and sent again with only the id, the
 * RD bit and the question's case patched.
 */
export class AuthServer {
  private zones = new Map<string, Zone>();
  private readonly prepared = new Map<string, { bytes: Buffer; echoes: boolean }>();
  private readonly listeners: Listener[] = [];
  private readonly tcpSockets = new Set<net.Socket>();

  constructor(
    private readonly log: Logger,
    private readonly limits: AuthLimits = DEFAULT_AUTH_LIMITS,
    /** Takes over a TCP connection whose query asks for a transfer; false when nobody can, and auth refuses it. */
    private readonly handOff?: (socket: net.Socket, query: Buffer) => boolean,
    /** Told of each NOTIFY: the zone, and who sent it; says the rcode to answer, undefined for the default. */
    private readonly onNotify?: (zone: string, from: string) => number | undefined,
  ) {}

  /** Serves `zone` from now on, in place of any zone of that name: queries see the old one or the new one, whole. */
  setZone(zone: Zone): void {
    const next = new Map(this.zones);
    next.set(zone.origin, zone);
    this.zones = next;
    this.prepared.clear();
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

  /** The answer to one DNS message, or undefined when it gets none. */
  respond(packet: Buffer, transport: 'udp' | 'tcp', from = ''): Buffer | undefined {
    return this.respondTo(parseQuery(packet), transport, from);
  }

  private respondTo(parsed: Parsed, transport: 'udp' | 'tcp', from: string): Buffer | undefined {
    if (parsed.kind === 'drop') return undefined;
    if (parsed.kind === 'formerr') return formerr(parsed);
    const query = parsed.query;
    if (query.edns && query.edns.version > 0) return badvers(query);
    if (query.opcode === OPCODE_NOTIFY) {
      const rcode = this.onNotify?.(query.qname, from) ?? RCODE.NOERROR;
      return bareResponse(query, rcode, { aa: rcode === RCODE.NOERROR });
    }
    if (query.opcode !== OPCODE_QUERY) return bareResponse(query, RCODE.NOTIMP);
    if (query.qclass !== CLASS_IN) return bareResponse(query, RCODE.REFUSED);
    if (query.qtype === AXFR || query.qtype === IXFR) return bareResponse(query, transport === 'udp' ? RCODE.FORMERR : RCODE.REFUSED);
    return this.answer(query, transport);
  }

  private answer(query: Query, transport: 'udp' | 'tcp'): Buffer {
    // Over UDP the client's EDNS payload size, at least 512; over TCP a whole message.
    const maxSize = transport === 'tcp' ? 65_535 : query.edns ? Math.max(512, Math.min(query.edns.payload, 65_535)) : 512;
    const key = `${query.qname}\u0000${query.qtype}\u0000${query.edns ? 1 : 0}\u0000${maxSize}`;
    let prepared = this.prepared.get(key);
    if (prepared === undefined) {
      const bytes = answerResponse(query, lookup(this.zones, query.qname, query.qtype), maxSize);
      // Names differing only in case have one length, so a question echoed once can be patched in for the next.
      prepared = { bytes, echoes: bytes.subarray(12, 12 + query.question.length).equals(query.question) };
      if (this.prepared.size >= MAX_PREPARED) this.prepared.clear();
      this.prepared.set(key, prepared);
    }
    const out = Buffer.from(prepared.bytes);
    out.writeUInt16BE(query.id, 0);
    out[2] = (out[2]! & ~0x01) | (query.rd ? 0x01 : 0);
    if (prepared.echoes) query.question.copy(out, 12);
    return out;
  }

  /** Starts answering on each endpoint; resolves with the ports bound (port 0 picks one). */
  async listen(endpoints: readonly Endpoint[]): Promise<Endpoint[]> {
    const bound: Endpoint[] = [];
    for (const endpoint of endpoints) {
      // Port 0 picks a free UDP port, and TCP must take the same number: another
      // program may hold it for TCP, so a few picks are tried before giving up.
      for (let attempt = 1; ; attempt++) {
        try {
          bound.push(await this.listenOne(endpoint));
          break;
        } catch (err) {
          if (endpoint.port !== 0 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt === PORT_PICKS) throw err;
        }
      }
    }
    return bound;
  }

  private async listenOne(endpoint: Endpoint): Promise<Endpoint> {
    const udp = dgram.createSocket({ type: net.isIPv6(endpoint.address) ? 'udp6' : 'udp4' });
    udp.on('message', (msg, rinfo) => {
      const response = this.safely(() => this.respond(msg, 'udp', rinfo.address));
      if (response) udp.send(response, rinfo.port, rinfo.address);
    });
    udp.on('error', (err) => this.log.warn({ err }, 'UDP socket error'));
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(endpoint.port, endpoint.address, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    const port = udp.address().port;
    const tcp = net.createServer((socket) => this.acceptTcp(socket));
    try {
      await listenOn(tcp, { port, host: endpoint.address });
    } catch (err) {
      udp.close();
      throw err;
    }
    this.listeners.push({ endpoint: { address: endpoint.address, port }, udp, tcp });
    return { address: endpoint.address, port };
  }

  /**
   * Stops answering on every endpoint; the ports are free when this returns.
   * It does not wait for the TCP servers' 'close': Node keeps counting a
   * connection handed to xfrout, asking the process it went through (the
   * boss) for it, so that event would not come.
   */
  async close(): Promise<void> {
    for (const socket of this.tcpSockets) socket.destroy();
    for (const { udp, tcp } of this.listeners.splice(0)) {
      udp.close();
      tcp.close();
    }
  }

  /** A packet that breaks something unforeseen costs that packet, never the server. */
  private safely(work: () => Buffer | undefined): Buffer | undefined {
    try {
      return work();
    } catch (err) {
      this.log.debug({ err }, 'query dropped: it could not be answered');
      return undefined;
    }
  }

  /** DNS over TCP: 2-byte length, then the message; many per connection; idle and surplus connections closed. */
  private acceptTcp(socket: net.Socket): void {
    if (this.tcpSockets.size >= this.limits.maxTcpConnections) {
      socket.destroy();
      return;
    }
    this.tcpSockets.add(socket);
    socket.setNoDelay(true);
    socket.setTimeout(this.limits.tcpIdleMs, () => socket.destroy());
    let pending: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const length = pending.readUInt16BE(0);
        if (pending.length < 2 + length) break;
        const packet = pending.subarray(2, 2 + length);
        pending = pending.subarray(2 + length);
        let handedOff = false;
        const response = this.safely(() => {
          const parsed = parseQuery(packet);
          handedOff = this.handOff !== undefined && isTransferQuery(parsed) && this.handOff(socket, Buffer.from(packet));
          return handedOff ? undefined : this.respondTo(parsed, 'tcp', socket.remoteAddress ?? '');
        });
        if (handedOff) {
          // The connection is xfrout's from here: auth reads no more of it.
          socket.off('data', onData);
          socket.pause();
          socket.setTimeout(0);
          this.tcpSockets.delete(socket);
          return;
        }
        if (response) socket.write(lengthPrefixed(response));
      }
    };
    socket.on('data', onData);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.tcpSockets.delete(socket));
  }
}
