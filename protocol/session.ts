import type { Socket } from 'node:net';
import { codecFor, type Codec, type Encoding } from './codec.js';
import { parseEnvelope, INSTANCE_ANY, TO_ANY, type Envelope, type SendEnvelope } from './envelope.js';
import { ClosedError, NoRecipientError, ProtocolError } from './errors.js';
import { encodeFrame, FrameDecoder, type Frame } from './framing.js';
import { Inbox } from './inbox.js';
import { DEFAULT_LIMITS, DEFAULT_MSGQ_HOST, DEFAULT_TIMEOUT_MS, type Limits } from './limits.js';
import { answerValue, createCommand, parseAnswer, RCODE_NO_RECIPIENT } from './message.js';
import { RequestMux } from './requests.js';
import { connectWithRetry, resolveMsgqPort } from './transport.js';
import { FrameWriter } from './writer.js';

const NOTHING = Buffer.alloc(0);

/** A message delivered to this session: its routing envelope and decoded body. */
export interface Message {
  env: SendEnvelope;
  body: unknown;
}

export interface SessionOptions {
  /** Bus port; default B10_MSGQ_PORT, then 9912. */
  port?: number;
  host?: string;
  /** Default wait for answers, ms (BIND 10: 4 s). */
  timeout?: number;
  /** How long connecting may be retried, ms; default `timeout`. */
  connectTimeout?: number;
  /** Wire encoding; 'json' speaks like an original BIND 10 Python client. */
  encoding?: Encoding;
  limits?: Partial<Limits>;
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

/**
 * A client's connection to msgq, the counterpart of BIND 10's isc.cc.Session.
 * Replies to this session's requests are matched by seq; every other message
 * waits in an inbox for `recv()` or `for await`.
 */
export class Session implements AsyncIterable<Message> {
  private seq = 0;
  private pingsSent = 0;
  private pongsSeen = 0;
  private readonly inbox = new Inbox<Message>('a message');
  private readonly replies = new RequestMux<Message>();
  private readonly pongs = new RequestMux<unknown>();
  private readonly writer: FrameWriter;
  private readonly decoder: FrameDecoder;
  private readonly limits: Limits;
  private closeReason: Error | undefined;
  private onLname: ((lname: string) => void) | undefined;
  private lnameValue = '';
  readonly timeout: number;
  /** Resolves when the connection has ended: undefined after close(), else the reason. */
  readonly closed: Promise<Error | undefined>;
  private resolveClosed!: (reason: Error | undefined) => void;

  private constructor(
    private readonly socket: Socket,
    private readonly codec: Codec,
    options: SessionOptions,
  ) {
    this.timeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.writer = new FrameWriter(socket);
    this.decoder = new FrameDecoder((frame) => this.onFrame(frame), this.limits);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      try {
        this.decoder.push(chunk);
      } catch (err) {
        this.fail(err as Error);
      }
    });
    socket.on('error', (err) => this.fail(new ClosedError(`connection to msgq failed: ${err.message}`, { cause: err })));
    socket.on('close', () => this.fail(new ClosedError()));
  }

  /** Connects to msgq (retrying until the connect deadline) and learns this session's lname. */
  static async connect(options: SessionOptions = {}): Promise<Session> {
    const host = options.host ?? DEFAULT_MSGQ_HOST;
    const port = resolveMsgqPort(options.port);
    const timeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
    const socket = await connectWithRetry(host, port, options.connectTimeout ?? timeout);
    const session = new Session(socket, codecFor(options.encoding ?? 'cbor'), options);
    try {
      await session.askLname(timeout);
    } catch (err) {
      await session.close();
      throw err;
    }
    return session;
  }

  /** This connection's unique name on the bus, assigned by msgq. */
  get lname(): string {
    return this.lnameValue;
  }

  get isClosed(): boolean {
    return this.closeReason !== undefined;
  }

  private askLname(timeout: number): Promise<void> {
    const got = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ClosedError(`msgq did not tell the lname within ${timeout} ms`)), timeout);
      this.closed.then((reason) => reject(reason ?? new ClosedError()), reject);
      this.onLname = (lname) => {
        clearTimeout(timer);
        this.lnameValue = lname;
        resolve();
      };
    });
    this.write({ type: 'getlname' });
    return got;
  }

  /** Subscribes to (group, instance); resolves once msgq has applied it. */
  async subscribe(group: string, instance: string = INSTANCE_ANY): Promise<void> {
    this.write({ type: 'subscribe', group, instance });
    await this.ping();
  }

  async unsubscribe(group: string, instance: string = INSTANCE_ANY): Promise<void> {
    this.write({ type: 'unsubscribe', group, instance });
    await this.ping();
  }

  /** Sends `body` to a group (or one lname with `to`); returns the message's seq. */
  send(group: string, body: unknown, options: SendOptions = {}): number {
    const seq = ++this.seq;
    const env: Envelope = {
      type: 'send',
      from: this.lname,
      to: options.to ?? TO_ANY,
      group,
      instance: options.instance ?? INSTANCE_ANY,
      seq,
    };
    if (options.wantAnswer) env.want_answer = true;
    this.write(env, body);
    return seq;
  }

  /** Answers a received message: direct to its sender, `reply` set to its seq. */
  reply(to: SendEnvelope, body: unknown): number {
    const seq = ++this.seq;
    this.write(
      { type: 'send', from: this.lname, to: to.from, group: to.group, instance: to.instance, seq, reply: to.seq },
      body,
    );
    return seq;
  }

  /** Bytes sent on this session that have not yet left this process. */
  get buffered(): number {
    return this.writer.pending + this.socket.writableLength;
  }

  /**
   * Resolves once everything sent so far has left this process. msgq holds
   * back senders whose readers fall behind; a producer that awaits this now
   * and then goes at the pace msgq takes its messages instead of piling them
   * up in memory. Rejects with ClosedError when the connection ends first.
   */
  async flush(): Promise<void> {
    this.assertOpen();
    this.writer.flush();
    if (this.socket.writableLength === 0) return;
    // Writes complete in order, so an empty one completes after the rest.
    await new Promise<void>((resolve, reject) => {
      this.socket.write(NOTHING, (err) => (err ? reject(this.closeReason ?? new ClosedError()) : resolve()));
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
    const what = `an answer from ${to === TO_ANY ? `group ${group}` : to}`;
    const reply = await this.replies.wait(seq, what, options.timeout ?? this.timeout);
    if (reply.env.from === 'msgq' && isNoRecipient(reply.body)) throw new NoRecipientError(group, to);
    return reply;
  }

  /** Sends a command and returns its answer's value; AnswerError for a non-zero rcode. */
  async command(group: string, name: string, args?: unknown, options: RequestOptions = {}): Promise<unknown> {
    const reply = await this.request(group, createCommand(name, args), options);
    return answerValue(parseAnswer(reply.body));
  }

  /** Round trip to msgq itself; resolves with the echoed body. */
  ping(body?: unknown, options: { timeout?: number } = {}): Promise<unknown> {
    this.assertOpen();
    const id = ++this.pingsSent;
    this.write({ type: 'ping' }, body);
    return this.pongs.wait(id, 'pong from msgq', options.timeout ?? this.timeout);
  }

  /** Flushes what was sent and closes the connection. */
  async close(): Promise<void> {
    if (!this.closeReason) {
      this.writer.flush();
      this.socket.end();
      // msgq closes its side on our FIN; a peer that does not is cut.
      setTimeout(() => this.socket.destroy(), 1000).unref();
      this.fail(new ClosedError('session closed'), true);
    }
    await new Promise<void>((resolve) => {
      if (this.socket.closed) resolve();
      else this.socket.once('close', () => resolve());
    });
  }

  private assertOpen(): void {
    if (this.closeReason) throw this.closeReason;
  }

  private write(env: Envelope, body?: unknown): void {
    this.assertOpen();
    const header = this.codec.encode(env);
    const payload = body === undefined ? undefined : this.codec.encode(body);
    const total = 2 + header.length + (payload?.length ?? 0);
    if (header.length > this.limits.maxHeader) {
      throw new ProtocolError('ERR_HEADER_TOO_LARGE', `header of ${header.length} bytes exceeds ${this.limits.maxHeader}`);
    }
    if (total > this.limits.maxFrame) {
      throw new ProtocolError('ERR_FRAME_TOO_LARGE', `message of ${total} bytes exceeds ${this.limits.maxFrame}`);
    }
    this.writer.write(encodeFrame(header, payload));
  }

  private onFrame(frame: Frame): void {
    const env = parseEnvelope(this.codec.decodeHeader(frame.buffer, frame.headerStart, frame.bodyStart), 'server');
    const body = frame.bodyLength > 0 ? this.codec.decode(frame.body) : undefined;
    switch (env.type) {
      case 'getlname': {
        const lname = (body as { lname?: unknown } | undefined)?.lname;
        if (typeof lname !== 'string') throw new ProtocolError('ERR_FIELD_TYPE', 'getlname answer has no lname');
        this.onLname?.(lname);
        this.onLname = undefined;
        return;
      }
      case 'pong':
        this.pongs.resolve(++this.pongsSeen, body);
        return;
      default: {
        const message: Message = { env: env as SendEnvelope, body };
        if (env.reply !== undefined) {
          if (this.replies.resolve(env.reply, message) || this.replies.isAbandoned(env.reply)) return;
        }
        this.inbox.push(message);
      }
    }
  }

  private fail(reason: Error, byUs = false): void {
    if (this.closeReason) return;
    this.closeReason = reason;
    if (!byUs) this.socket.destroy();
    this.inbox.close(reason);
    this.replies.failAll(reason);
    this.pongs.failAll(reason);
    this.resolveClosed(byUs ? undefined : reason);
  }
}

function isNoRecipient(body: unknown): boolean {
  try {
    return parseAnswer(body).rcode === RCODE_NO_RECIPIENT;
  } catch {
    return false;
  }
}
