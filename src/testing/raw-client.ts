import net from 'node:net';
import { Decoder, Encoder } from 'cbor-x';
import { readTokenFile, resolveTokenFile } from '../../protocol/token.js';

/**
 * A bus client that speaks raw bytes, written apart from protocol/ so a test
 * checks msgq against the wire format itself, not against b10's own codec:
 * malformed frames, odd lengths, any header at all.
 */
const cborOptions = { useRecords: false, tagUint8Array: false, useTag259ForMaps: false, mapsAsObjects: true } as const;
const encoder = new Encoder(cborOptions);
const decoder = new Decoder(cborOptions);

export type Wire = 'cbor' | 'json';

export function encodeValue(value: unknown, wire: Wire): Buffer {
  return wire === 'json' ? Buffer.from(JSON.stringify(value)) : Buffer.from(encoder.encode(value));
}

export function decodeValue(bytes: Buffer, wire: Wire): unknown {
  return wire === 'json' ? JSON.parse(bytes.toString('utf8')) : decoder.decode(bytes);
}

/** total(4) | header_len(2) | header | body, lengths given explicitly when a test breaks them. */
export function frameBytes(header: Buffer, body: Buffer = Buffer.alloc(0), total?: number, headerLen?: number): Buffer {
  const prefix = Buffer.alloc(6);
  prefix.writeUInt32BE(total ?? 2 + header.length + body.length, 0);
  prefix.writeUInt16BE(headerLen ?? header.length, 4);
  return Buffer.concat([prefix, header, body]);
}

export function frame(header: Record<string, unknown>, body?: unknown, wire: Wire = 'cbor'): Buffer {
  return frameBytes(encodeValue(header, wire), body === undefined ? undefined : encodeValue(body, wire));
}

export interface RawConnectOptions {
  /** The bus token for the auth frame; false sends no auth frame. */
  token?: string | false;
}

export interface RawMessage {
  header: Record<string, unknown>;
  body: unknown;
  /** The frame exactly as received. */
  raw: Buffer;
}

export class RawClient {
  readonly socket: net.Socket;
  private buffer = Buffer.alloc(0);
  private queue: RawMessage[] = [];
  private waiters: { resolve: (m: RawMessage) => void; reject: (err: Error) => void }[] = [];
  private ended = false;
  readonly closed: Promise<void>;
  lname = '';

  private constructor(
    socket: net.Socket,
    readonly wire: Wire,
  ) {
    this.socket = socket;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    // A closed connection fails the waits at once rather than at their timeout.
    socket.once('close', () => {
      this.ended = true;
      for (const waiter of this.waiters.splice(0)) waiter.reject(new Error('connection closed'));
    });
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      while (this.buffer.length >= 6) {
        const total = this.buffer.readUInt32BE(0);
        if (this.buffer.length < 4 + total) break;
        const headerLen = this.buffer.readUInt16BE(4);
        const raw = this.buffer.subarray(0, 4 + total);
        const header = decodeValue(raw.subarray(6, 6 + headerLen), wire) as Record<string, unknown>;
        const bodyBytes = raw.subarray(6 + headerLen);
        const body = bodyBytes.length > 0 ? decodeValue(bodyBytes, wire) : undefined;
        this.buffer = this.buffer.subarray(4 + total);
        const message = { header, body, raw: Buffer.from(raw) };
        const waiter = this.waiters.shift();
        if (waiter) waiter.resolve(message);
        else this.queue.push(message);
      }
    });
  }

  /**
   * Connects to a loopback TCP port, or to a Unix socket file. Over TCP the
   * auth frame goes first, with `token` (default: read from the token file
   * Session would use); `token: false` sends none, to test msgq's refusal.
   */
  static async connect(where: number | { path: string }, wire: Wire = 'cbor', options: RawConnectOptions = {}): Promise<RawClient> {
    const token = typeof where === 'number' && options.token !== false ? (options.token ?? readTokenFile(resolveTokenFile())) : undefined;
    const socket = typeof where === 'number' ? net.connect({ port: where, host: '127.0.0.1' }) : net.connect(where);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    if (token !== undefined) socket.write(frame({ type: 'auth', token }, undefined, wire));
    return new RawClient(socket, wire);
  }

  /** Connects and learns the lname: the usual first step of every client. */
  static async open(where: number | { path: string }, wire: Wire = 'cbor', options: RawConnectOptions = {}): Promise<RawClient> {
    const client = await RawClient.connect(where, wire, options);
    client.send({ type: 'getlname' });
    const answer = await client.next();
    client.lname = (answer.body as { lname: string }).lname;
    return client;
  }

  send(header: Record<string, unknown>, body?: unknown): void {
    this.socket.write(frame(header, body, this.wire));
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Subscribes and waits until msgq has applied it (a ping round trip). */
  async subscribe(group: string, instance = '*'): Promise<void> {
    this.send({ type: 'subscribe', group, instance });
    await this.roundTrip();
  }

  /** A ping round trip; messages that arrive before the pong stay queued. */
  async roundTrip(): Promise<void> {
    this.send({ type: 'ping' });
    const before: RawMessage[] = [];
    for (;;) {
      const m = await this.next();
      if (m.header.type === 'pong') break;
      before.push(m);
    }
    this.queue.unshift(...before);
  }

  next(timeout = 2000): Promise<RawMessage> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.ended) return Promise.reject(new Error('connection closed'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`no message within ${timeout} ms`));
      }, timeout);
      const waiter = {
        resolve: (m: RawMessage): void => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (err: Error): void => {
          clearTimeout(timer);
          reject(err);
        },
      };
      this.waiters.push(waiter);
    });
  }

  /** Asserts nothing more arrives: a ping round trip sees only its pong. */
  async expectNothing(): Promise<void> {
    if (this.queue.length > 0) throw new Error(`unexpected message ${JSON.stringify(this.queue[0]!.header)}`);
    this.send({ type: 'ping' });
    const next = await this.next();
    if (next.header.type !== 'pong') throw new Error(`unexpected message ${JSON.stringify(next.header)}`);
  }

  close(): void {
    this.socket.destroy();
  }
}
