import type { Socket } from 'node:net';
import type { Codec } from '../protocol/codec.js';
import { cbor } from '../protocol/codec.js';
import { readAuthFrame, refusalFrame } from '../protocol/handshake.js';
import { tokensMatch } from '../protocol/token.js';
import type { Logger } from '../src/log.js';

export interface AdmissionLimits {
  /** Connections at once, TCP and socket file together. */
  maxClients: number;
  /** TCP connections at once from one address. */
  maxClientsPerAddress: number;
}

/**
 * Far above what a stack uses (a dozen connections) and below the descriptors
 * Node raises its limit to; loopback is one address, so its share is most of it.
 */
export const DEFAULT_ADMISSION: AdmissionLimits = Object.freeze({ maxClients: 1024, maxClientsPerAddress: 512 });

/** How long a TCP client may take to send its auth frame. */
const AUTH_TIMEOUT_MS = 5000;
/** A refused client hears so only after this long, so that guessing costs time. */
export const REFUSE_DELAY_MS = 1000;
/**
 * Clients not yet admitted, at once. Past it the oldest makes way: a real
 * client sends its token the moment it connects, so only a flood of idle
 * connections is ever cut, never a client about to be admitted.
 */
const MAX_WAITING = 64;
/** A turned-away or refused connection is logged at most this often (the count of the others goes with it). */
const LOG_EVERY_MS = 10_000;

interface Waiting {
  socket: Socket;
  address: string;
  buffer: Buffer;
  refused: boolean;
  timer: NodeJS.Timeout;
}

/**
 * Who gets onto the bus. A socket-file client is admitted at once (the file
 * system let it in); a TCP client only once its first frame carries the bus
 * token. Connections beyond the limits are closed on arrival, and clients
 * that do not prove themselves take no more than a bounded number of slots.
 */
export class Admission {
  private total = 0;
  private readonly perAddress = new Map<string, number>();
  private readonly waiting = new Set<Waiting>();
  private lastLogged = 0;
  private unlogged = 0;

  constructor(
    private readonly token: string,
    private readonly limits: AdmissionLimits,
    private readonly log: Logger,
    /** Hands over an admitted socket: its encoding and what it sent after the auth frame, for TCP clients. */
    private readonly admit: (socket: Socket, codec?: Codec, rest?: Buffer) => void,
  ) {}

  /** Clients connected right now, admitted or not. */
  get connections(): number {
    return this.total;
  }

  accept(socket: Socket, viaSocketFile: boolean): void {
    const address = viaSocketFile ? '' : (socket.remoteAddress ?? '');
    const fromAddress = this.perAddress.get(address) ?? 0;
    if (this.total >= this.limits.maxClients) {
      this.turnAway(socket, address, `${this.total} clients already (--max-clients ${this.limits.maxClients})`);
      return;
    }
    if (!viaSocketFile && fromAddress >= this.limits.maxClientsPerAddress) {
      this.turnAway(socket, address, `${fromAddress} clients from ${address} already (--max-clients-per-address ${this.limits.maxClientsPerAddress})`);
      return;
    }
    this.total++;
    if (!viaSocketFile) this.perAddress.set(address, fromAddress + 1);
    socket.once('close', () => this.release(address, viaSocketFile));
    if (viaSocketFile) this.admit(socket);
    else this.awaitToken(socket, address);
  }

  private release(address: string, viaSocketFile: boolean): void {
    this.total--;
    if (viaSocketFile) return;
    const left = (this.perAddress.get(address) ?? 1) - 1;
    if (left === 0) this.perAddress.delete(address);
    else this.perAddress.set(address, left);
  }

  private awaitToken(socket: Socket, address: string): void {
    if (this.waiting.size >= MAX_WAITING) this.makeWay();
    const waiting: Waiting = {
      socket,
      address,
      buffer: Buffer.alloc(0),
      refused: false,
      timer: setTimeout(() => this.refuse(waiting, `no auth frame within ${AUTH_TIMEOUT_MS} ms`), AUTH_TIMEOUT_MS),
    };
    this.waiting.add(waiting);
    const onData = (chunk: Buffer): void => {
      waiting.buffer = waiting.buffer.length === 0 ? chunk : Buffer.concat([waiting.buffer, chunk]);
      const first = readAuthFrame(waiting.buffer);
      if (first.kind === 'incomplete') return;
      socket.off('data', onData);
      if (first.kind === 'bad') this.refuse(waiting, first.reason, first.codec);
      else if (!tokensMatch(first.token, this.token)) this.refuse(waiting, 'wrong bus token', first.codec);
      else {
        this.forget(waiting);
        this.admit(socket, first.codec, first.rest);
      }
    };
    socket.on('data', onData);
    socket.on('error', () => {});
    socket.once('close', () => this.forget(waiting));
  }

  /** The oldest refused client goes first, then the oldest still silent. */
  private makeWay(): void {
    let victim: Waiting | undefined;
    for (const waiting of this.waiting) {
      if (waiting.refused) {
        victim = waiting;
        break;
      }
      victim ??= waiting;
    }
    if (victim === undefined) return;
    this.forget(victim);
    victim.socket.destroy();
  }

  /**
   * Reads nothing more from the client, and after the fixed delay tells it
   * why and closes: a wrong guess costs a second whatever was wrong.
   */
  private refuse(waiting: Waiting, reason: string, codec: Codec = cbor): void {
    if (waiting.refused) return;
    waiting.refused = true;
    waiting.buffer = Buffer.alloc(0);
    clearTimeout(waiting.timer);
    const { socket } = waiting;
    socket.pause();
    this.note(`client refused: ${reason}`, waiting.address);
    waiting.timer = setTimeout(() => {
      this.forget(waiting);
      socket.end(refusalFrame(codec, reason));
      setTimeout(() => socket.destroy(), REFUSE_DELAY_MS).unref();
    }, REFUSE_DELAY_MS);
  }

  private forget(waiting: Waiting): void {
    if (!this.waiting.delete(waiting)) return;
    clearTimeout(waiting.timer);
  }

  private turnAway(socket: Socket, address: string, why: string): void {
    socket.destroy();
    this.note(`connection closed: ${why}`, address);
  }

  /** A log line per event would let anyone flood the log: one per LOG_EVERY_MS, with how many were not logged. */
  private note(message: string, address: string): void {
    const now = Date.now();
    if (now - this.lastLogged < LOG_EVERY_MS) {
      this.unlogged++;
      return;
    }
    this.log.warn({ address: address || 'socket file', notLogged: this.unlogged }, message);
    this.lastLogged = now;
    this.unlogged = 0;
  }
}
