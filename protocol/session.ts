import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { codecFor, type Codec, type Encoding } from './codec.js';
import { Connection } from './connection.js';
import { parseEnvelope, INSTANCE_ANY, TO_ANY, type Envelope, type SendEnvelope } from './envelope.js';
import { AuthError, ClosedError, NoRecipientError, ProtocolError } from './errors.js';
import { encodeFrame, type Frame } from './framing.js';
import { authFrame } from './handshake.js';
import { readSimpleInt, type SeqSpan } from './header-cbor.js';
import { RepeatedHeader } from './header-repeat.js';
import { Inbox } from './inbox.js';
import { DEFAULT_LIMITS, DEFAULT_TIMEOUT_MS, MiB, type Limits } from './limits.js';
import { answerValue, createCommand, parseAnswer, RCODE_NO_RECIPIENT } from './message.js';
import { RequestMux } from './requests.js';
import { SendHeaders } from './send-header.js';
import { readTokenFile, resolveTokenFile } from './token.js';
import { connectOnce, connectWithRetry, describeTarget, resolveMsgqTarget, type MsgqTarget } from './transport.js';

const NOTHING = Buffer.alloc(0);
/** Reconnect backoff: the first pause, doubled after each failed attempt up to the cap; each jittered. */
const RECONNECT_FIRST_MS = 10;
const RECONNECT_CAP_MS = 1000;
export const DEFAULT_RECONNECT_WINDOW_MS = 30_000;
export const DEFAULT_MAX_HELD = 8 * MiB;

/** A message delivered to this session: its routing envelope and body (decoded on first read). */
export interface Message {
  env: SendEnvelope;
  readonly body: unknown;
}

export interface SessionOptions {
  /** Bus port; default B10_MSGQ_PORT, then 9912. */
  port?: number;
  host?: string;
  /** msgq's Unix socket file; wins over the port. Default B10_MSGQ_SOCKET_FILE when no port is given. */
  socketFile?: string;
  /** The bus token a TCP connection proves itself with; default: read from `tokenFile`. */
  token?: string;
  /** Where the token is; default B10_MSGQ_TOKEN_FILE, else msgq.token in B10_DATA_PATH, else ./b10/msgq.token. Read at every connect. */
  tokenFile?: string;
  /** Default wait for answers, ms (BIND 10: 4 s). */
  timeout?: number;
  /** How long the first connect may be retried, ms; default `timeout`; 0 tries once. */
  connectTimeout?: number;
  /** Wire encoding; 'json' speaks like an original BIND 10 Python client. */
  encoding?: Encoding;
  limits?: Partial<Limits>;
  /** Reconnect when msgq goes away (default true); false closes the session instead. */
  reconnect?: boolean;
  /** How long to keep trying to reconnect before the session closes for good, ms; default 30 s. */
  reconnectWindow?: number;
  /** First pause before reconnecting, ms (default 10); it doubles after each failed attempt, up to about 1 s. */
  reconnectDelay?: number;
  /** Bytes of messages held while disconnected, sent once back; past it `send` throws. Default 8 MiB. */
  maxHeld?: number;
}

export interface SendOptions {
  instance?: string;
  /** An lname for direct delivery; default '*' (the group). */
  to?: string;
  wantAnswer?: boolean;
}

export interface RequestOptions {
  instance?: string;
  to?: string;
  timeout?: number;
}

export interface ReconnectInfo {
  /** The lname msgq gave the new connection. */
  lname: string;
  previousLname: string;
  /** How long the bus was out of reach, ms. */
  downMs: number;
}

export interface SessionEvents {
  /** The connection to msgq was lost; the session is reconnecting. */
  disconnect: [reason: Error];
  /** Connected again: lname learned, subscriptions restored, held messages sent. */
  reconnect: [info: ReconnectInfo];
}

interface Held {
  env: Envelope;
  payload: Buffer | undefined;
}

type State = 'connecting' | 'connected' | 'reconnecting' | 'closed';

/**
 * A client's connection to msgq, the counterpart of BIND 10's isc.cc.Session.
 * Replies to this session's requests are matched by seq; every other message
 * waits in an inbox for `recv()` or `for await`.
 *
 * When msgq goes away the session reconnects with jittered backoff, restores
 * its subscriptions and sends what was sent meanwhile (up to `maxHeld`
 * bytes); requests in flight fail at once with ClosedError. It closes for
 * good on `close()`, when reconnecting is off, or once `reconnectWindow`
 * passes without msgq.
 */
export class Session extends EventEmitter<SessionEvents> implements AsyncIterable<Message> {
  private seq = 0;
  private state: State = 'connecting';
  private conn: Connection | undefined;
  private pingsSent = 0;
  private pongsSeen = 0;
  private onLname: ((lname: string) => void) | undefined;
  private onRefused: ((reason: string) => void) | undefined;
  private lnameValue = '';
  private readonly subscriptions = new Map<string, { group: string; instance: string }>();
  private held: Held[] = [];
  private heldBytes = 0;
  private wake: (() => void) | undefined;
  private readonly inbox = new Inbox<Message>('a message');
  private readonly lastHeader = new RepeatedHeader<Envelope>();
  private readonly span: SeqSpan = { seqStart: -1, seqEnd: -1, replyStart: -1, replyEnd: -1 };
  private readonly replies = new RequestMux<Message>();
  private readonly pongs = new RequestMux<unknown>();
  private readonly limits: Limits;
  private readonly codec: Codec;
  /** Ready-made CBOR headers for sends; JSON sessions encode each header. */
  private readonly sendHeaders: SendHeaders | undefined;
  private readonly target: MsgqTarget;
  private closeReason: Error | undefined;
  readonly timeout: number;
  /** Resolves when the session has closed for good: undefined after close(), else the reason. */
  readonly closed: Promise<Error | undefined>;
  private resolveClosed!: (reason: Error | undefined) => void;

  private constructor(private readonly options: SessionOptions) {
    super();
    this.timeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.codec = codecFor(options.encoding ?? 'cbor');
    this.sendHeaders = this.codec.encoding === 'cbor' ? new SendHeaders() : undefined;
    this.target = resolveMsgqTarget(options);
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  /** Connects to msgq (retrying until the connect deadline) and learns this session's lname. */
  static async connect(options: SessionOptions = {}): Promise<Session> {
    const session = new Session(options);
    // A token that cannot be read fails here, before any connection is made.
    const token = session.token();
    const socket = await connectWithRetry(session.target, options.connectTimeout ?? session.timeout);
    try {
      await session.handshake(session.attach(socket), token);
    } catch (err) {
      await session.close();
      throw err;
    }
    session.state = 'connected';
    return session;
  }

  /** This connection's unique name on the bus, assigned by msgq; it may change on a reconnect. */
  get lname(): string {
    return this.lnameValue;
  }

  /** Closed for good: nothing more will be sent or received. */
  get isClosed(): boolean {
    return this.state === 'closed';
  }

  /** Connected to msgq right now (false while reconnecting). */
  get isConnected(): boolean {
    return this.state === 'connected';
  }

  /** msgq's address: host:port or the socket file. */
  get address(): string {
    return describeTarget(this.target);
  }

  /** Subscribes to (group, instance); resolves once msgq has applied it (at once while reconnecting: it is applied on reconnect). */
  async subscribe(group: string, instance: string = INSTANCE_ANY): Promise<void> {
    this.assertOpen();
    this.subscriptions.set(`${group}\0${instance}`, { group, instance });
    await this.applySubscription('subscribe', group, instance);
  }

  async unsubscribe(group: string, instance: string = INSTANCE_ANY): Promise<void> {
    this.assertOpen();
    this.subscriptions.delete(`${group}\0${instance}`);
    await this.applySubscription('unsubscribe', group, instance);
  }

  /** Tells msgq and waits until it has applied it; a reconnect applies the table instead. */
  private async applySubscription(type: 'subscribe' | 'unsubscribe', group: string, instance: string): Promise<void> {
    if (!this.isConnected) return;
    this.writeNow(this.conn!, { type, group, instance });
    try {
      await this.ping();
    } catch (err) {
      if (!(err instanceof ClosedError) || this.isClosed) throw err;
    }
  }

  /** Sends `body` to a group (or one lname with `to`); returns the message's seq. */
  send(group: string, body: unknown, options: SendOptions = {}): number {
    const seq = ++this.seq;
    this.sendMessage(options.to ?? TO_ANY, group, options.instance ?? INSTANCE_ANY, options.wantAnswer === true, seq, undefined, body);
    return seq;
  }

  /** Answers a received message: direct to its sender, `reply` set to its seq. */
  reply(to: SendEnvelope, body: unknown): number {
    const seq = ++this.seq;
    this.sendMessage(to.from, to.group, to.instance, false, seq, to.seq, body);
    return seq;
  }

  /**
   * The one way a `send` leaves: the body encoded once, the header from the
   * prepared ones when connected (CBOR), else encoded, or held while msgq is
   * out of reach.
   */
  private sendMessage(
    to: string,
    group: string,
    instance: string,
    wantAnswer: boolean,
    seq: number,
    reply: number | undefined,
    body: unknown,
  ): void {
    this.assertOpen();
    const payload = body === undefined ? undefined : this.codec.encode(body);
    if (this.sendHeaders !== undefined && this.isConnected) {
      const { maxHeader, maxFrame } = this.limits;
      if (this.sendHeaders.writeTo(this.conn!.writer, this.lnameValue, to, group, instance, wantAnswer, seq, reply, payload, maxHeader, maxFrame)) return;
    }
    const env: Envelope = { type: 'send', from: this.lname, to, group, instance, seq };
    if (wantAnswer) env.want_answer = true;
    if (reply !== undefined) env.reply = reply;
    this.write(env, payload);
  }

  /** Bytes sent on this session that have not yet left this process, held ones included. */
  get buffered(): number {
    return this.heldBytes + (this.conn?.buffered ?? 0);
  }

  /**
   * Resolves once everything sent so far has left this process. msgq holds
   * back senders whose readers fall behind; a producer that awaits this now
   * and then goes at the pace msgq takes its messages instead of piling them
   * up in memory. While reconnecting it waits for the reconnect. Rejects
   * with ClosedError when the session closes first.
   */
  async flush(): Promise<void> {
    this.assertOpen();
    if (!this.isConnected) {
      await new Promise<void>((resolve, reject) => {
        const onBack = (): void => resolve();
        this.once('reconnect', onBack);
        void this.closed.then(() => {
          this.off('reconnect', onBack);
          reject(this.closeReason);
        });
      });
    }
    const conn = this.conn!;
    conn.writer.flush();
    if (conn.socket.writableLength === 0) return;
    // Writes complete in order, so an empty one completes after the rest.
    await new Promise<void>((resolve, reject) => {
      conn.socket.write(NOTHING, (err) => (err ? reject(this.closeReason ?? new ClosedError()) : resolve()));
    });
  }

  /** The next message that is not a reply to one of this session's requests. */
  recv(options: { timeout?: number } = {}): Promise<Message> {
    return this.inbox.next(options);
  }

  [Symbol.asyncIterator](): AsyncIterator<Message> {
    return this.inbox[Symbol.asyncIterator]();
  }

  /**
   * Sends with want_answer and resolves with the reply. Rejects with
   * NoRecipientError when nobody received it, TimeoutError when nobody
   * answered in time, ClosedError when the bus went away meanwhile.
   */
  async request(group: string, body: unknown, options: RequestOptions = {}): Promise<Message> {
    this.assertOpen();
    const to = options.to ?? TO_ANY;
    const seq = this.send(group, body, { instance: options.instance, to, wantAnswer: true });
    const timeout = options.timeout ?? this.timeout;
    const reply = await (to === TO_ANY ? this.replies.wait(seq, timeout, 'an answer from group ', group) : this.replies.wait(seq, timeout, 'an answer from ', to));
    if (reply.env.from === 'msgq' && isNoRecipient(reply.body)) throw new NoRecipientError(group, to);
    return reply;
  }

  /** Sends a command and returns its answer's value; AnswerError for a non-zero rcode. */
  async command(group: string, name: string, args?: unknown, options: RequestOptions = {}): Promise<unknown> {
    const reply = await this.request(group, createCommand(name, args), options);
    return answerValue(parseAnswer(reply.body));
  }

  /** Round trip to msgq itself; resolves with the echoed body. ClosedError while reconnecting. */
  ping(body?: unknown, options: { timeout?: number } = {}): Promise<unknown> {
    this.assertOpen();
    if (!this.isConnected) return Promise.reject(new ClosedError(`not connected to msgq on ${this.address}: reconnecting`));
    return this.pingOn(this.conn!, body, options.timeout ?? this.timeout);
  }

  /** Cuts a reconnect pause short: try now (the boss says so when it has started a new msgq). */
  reconnectNow(): void {
    this.wake?.();
  }

  /** Flushes what was sent and closes the connection; the session is closed for good. */
  async close(): Promise<void> {
    const conn = this.conn;
    if (this.state !== 'closed') {
      conn?.close();
      this.finish(new ClosedError('session closed'), true);
    }
    await conn?.closed;
  }

  private assertOpen(): void {
    if (this.closeReason) throw this.closeReason;
  }

  private attach(socket: Socket): Connection {
    const conn: Connection = new Connection(
      socket,
      this.limits,
      (frame) => this.onFrame(conn, frame),
      (reason) => {
        if (reason) this.onLost(conn, reason);
      },
    );
    this.conn = conn;
    this.pingsSent = 0;
    this.pongsSeen = 0;
    return conn;
  }

  /** The token a TCP connection needs (read now: a restarted b10 may have a new one); none over the socket file. */
  private token(): string | undefined {
    if ('path' in this.target) return undefined;
    return this.options.token ?? readTokenFile(resolveTokenFile({ tokenFile: this.options.tokenFile }));
  }

  /**
   * A fresh connection's opening: the token (over TCP), then getlname.
   * Rejects with AuthError when msgq refuses the token, ClosedError when it
   * does not tell the lname within the timeout or the connection ends.
   */
  private handshake(conn: Connection, token: string | undefined): Promise<void> {
    const timeout = this.timeout;
    const got = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ClosedError(`msgq did not tell the lname within ${timeout} ms`)), timeout);
      conn.closed.then(() => reject(new ClosedError('connection to msgq lost before it told the lname')), reject);
      this.onLname = (lname) => {
        clearTimeout(timer);
        this.lnameValue = lname;
        resolve();
      };
      this.onRefused = (reason) => {
        clearTimeout(timer);
        reject(new AuthError(`msgq on ${this.address} refused this client: ${reason}`));
      };
    });
    if (token !== undefined) conn.write(authFrame(this.codec, token));
    this.writeNow(conn, { type: 'getlname' });
    return got;
  }

  private pingOn(conn: Connection, body: unknown, timeout: number): Promise<unknown> {
    const id = ++this.pingsSent;
    this.writeNow(conn, { type: 'ping' }, body);
    return this.pongs.wait(id, timeout, 'pong from msgq');
  }

  private encodeChecked(env: Envelope, payload: Buffer | undefined): Buffer {
    const header = this.codec.encode(env);
    const total = 2 + header.length + (payload?.length ?? 0);
    if (header.length > this.limits.maxHeader) {
      throw new ProtocolError('ERR_HEADER_TOO_LARGE', `header of ${header.length} bytes exceeds ${this.limits.maxHeader}`);
    }
    if (total > this.limits.maxFrame) {
      throw new ProtocolError('ERR_FRAME_TOO_LARGE', `message of ${total} bytes exceeds ${this.limits.maxFrame}`);
    }
    return encodeFrame(header, payload);
  }

  private writeNow(conn: Connection, env: Envelope, body?: unknown): void {
    conn.write(this.encodeChecked(env, body === undefined ? undefined : this.codec.encode(body)));
  }

  /** A message for other clients, its body already encoded: written now, or held while msgq is out of reach. */
  private write(env: Envelope, payload: Buffer | undefined): void {
    if (this.isConnected) {
      this.conn!.write(this.encodeChecked(env, payload));
      return;
    }
    const frame = this.encodeChecked(env, payload);
    const max = this.options.maxHeld ?? DEFAULT_MAX_HELD;
    if (this.heldBytes + frame.length > max) {
      throw new ClosedError(`msgq on ${this.address} is out of reach and ${this.heldBytes} bytes are already held (limit ${max})`);
    }
    this.held.push({ env, payload });
    this.heldBytes += frame.length;
  }

  /**
   * The envelope of a received frame. A stream from one sender repeats its
   * header but for seq (and reply, for answers): then the last one is reused, as a fresh object since
   * it is handed to the application.
   */
  private envelope(frame: Frame): Envelope {
    const { buffer, headerStart: start, bodyStart: end } = frame;
    const last = this.lastHeader;
    if (last.repeats(buffer, frame.view, start, end)) {
      const env = { ...last.value!, seq: readSimpleInt(buffer, start + last.seqStart, start + last.seqEnd) };
      if (last.replyStart >= 0) env.reply = readSimpleInt(buffer, start + last.replyStart, start + last.replyEnd);
      return env;
    }
    const span = this.span;
    span.seqStart = -1;
    const env = parseEnvelope(this.codec.decodeHeader(buffer, start, end, span), 'server');
    if (span.seqStart >= 0) last.remember({ ...env }, buffer, frame.view, start, end, span.seqStart, span.seqEnd, span.replyStart, span.replyEnd);
    else last.forget();
    return env;
  }

  private onFrame(conn: Connection, frame: Frame): void {
    const env = this.envelope(frame);
    if (conn !== this.conn) return;
    const bytes = frame.bodyLength > 0 ? frame.body : undefined;
    switch (env.type) {
      case 'getlname': {
        const lname = (bytes && (this.codec.decode(bytes) as { lname?: unknown }))?.lname;
        if (typeof lname !== 'string') throw new ProtocolError('ERR_FIELD_TYPE', 'getlname answer has no lname');
        this.onLname?.(lname);
        this.onLname = undefined;
        return;
      }
      case 'pong':
        this.pongs.resolve(++this.pongsSeen, bytes && this.codec.decode(bytes));
        return;
      case 'auth':
        this.onRefused?.(typeof env.error === 'string' ? env.error : 'no reason given');
        this.onRefused = undefined;
        return;
      default: {
        const message = new Received(env as SendEnvelope, this.codec, bytes);
        if (env.reply !== undefined) {
          if (this.replies.resolve(env.reply, message) || this.replies.isAbandoned(env.reply)) return;
        }
        this.inbox.push(message);
      }
    }
  }

  /** The connection in use ended without our asking: fail what waits on it, then reconnect or close. */
  private onLost(conn: Connection, reason: Error): void {
    if (conn !== this.conn) return;
    this.conn = undefined;
    const wasConnected = this.state === 'connected';
    const lost = new ClosedError(`connection to msgq on ${this.address} lost`, { cause: reason });
    this.replies.failAll(lost);
    this.pongs.failAll(lost);
    if (!wasConnected) return;
    if (this.options.reconnect === false) {
      this.finish(reason);
      return;
    }
    this.state = 'reconnecting';
    this.emit('disconnect', reason);
    void this.reconnect(reason);
  }

  private async reconnect(reason: Error): Promise<void> {
    const downAt = Date.now();
    const giveUpAt = downAt + (this.options.reconnectWindow ?? DEFAULT_RECONNECT_WINDOW_MS);
    const previousLname = this.lnameValue;
    let pause = this.options.reconnectDelay ?? RECONNECT_FIRST_MS;
    const cap = Math.max(pause, RECONNECT_CAP_MS);
    while (this.state === 'reconnecting') {
      await this.pause(pause * (0.75 + Math.random() / 2));
      if (this.state !== 'reconnecting') return;
      try {
        const token = this.token();
        await this.restore(await connectOnce(this.target), token);
        this.state = 'connected';
        this.flushHeld();
        this.emit('reconnect', { lname: this.lnameValue, previousLname, downMs: Date.now() - downAt });
        return;
      } catch (err) {
        this.conn?.close();
        this.conn = undefined;
        if (this.state !== 'reconnecting') return;
        if (Date.now() >= giveUpAt) {
          const window = giveUpAt - downAt;
          this.finish(new ClosedError(`msgq on ${this.address} did not come back within ${window} ms`, { cause: reason }));
          return;
        }
        pause = Math.min(pause * 2, cap);
      }
    }
  }

  /** A fresh connection made whole: lname, then every subscription, confirmed by a round trip. */
  private async restore(socket: Socket, token: string | undefined): Promise<void> {
    if (this.state !== 'reconnecting') {
      socket.destroy();
      return;
    }
    const conn = this.attach(socket);
    await this.handshake(conn, token);
    const sent = new Set(this.subscriptions.keys());
    for (const { group, instance } of this.subscriptions.values()) this.writeNow(conn, { type: 'subscribe', group, instance });
    await this.pingOn(conn, undefined, this.timeout);
    // (Un)subscribing during the round trip only changed the table; bring msgq in line.
    for (const [key, { group, instance }] of this.subscriptions) {
      if (!sent.delete(key)) this.writeNow(conn, { type: 'subscribe', group, instance });
    }
    for (const key of sent) {
      const [group, instance] = key.split('\0') as [string, string];
      this.writeNow(conn, { type: 'unsubscribe', group, instance });
    }
  }

  /** Messages sent while disconnected, in order, under the new lname. */
  private flushHeld(): void {
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const { env, payload } of held) {
      if (env.type === 'send') env.from = this.lnameValue;
      this.conn!.write(this.encodeChecked(env, payload));
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }

  private finish(reason: Error, byUs = false): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeReason = reason;
    if (!byUs) this.conn?.socket.destroy();
    this.wake?.();
    this.held = [];
    this.heldBytes = 0;
    this.inbox.close(reason);
    this.replies.failAll(reason);
    this.pongs.failAll(reason);
    this.resolveClosed(byUs ? undefined : reason);
  }
}

/**
 * A received message whose body is decoded when first read, as nats.js
 * leaves a payload's decoding to its reader: a stream nobody reads the body
 * of costs no decoding, and an undecodable body fails that read
 * (ProtocolError ERR_DECODE), not the connection.
 */
class Received implements Message {
  private bytes: Buffer | undefined;
  private value: unknown;

  constructor(
    readonly env: SendEnvelope,
    private readonly codec: Codec,
    bytes: Buffer | undefined,
  ) {
    this.bytes = bytes;
  }

  get body(): unknown {
    if (this.bytes !== undefined) {
      this.value = this.codec.decode(this.bytes);
      this.bytes = undefined;
    }
    return this.value;
  }

  /** As a plain {env, body}, for JSON and for printing. */
  toJSON(): { env: SendEnvelope; body: unknown } {
    return { env: this.env, body: this.body };
  }
}

function isNoRecipient(body: unknown): boolean {
  try {
    return parseAnswer(body).rcode === RCODE_NO_RECIPIENT;
  } catch {
    return false;
  }
}
