import { chmod, lstat, mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import net, { type AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { Envelope } from '../protocol/envelope.js';
import { B10Error } from '../protocol/errors.js';
import { cbor } from '../protocol/codec.js';
import { encodeFrame, type Frame } from '../protocol/framing.js';
import { createNotification } from '../protocol/message.js';
import { connectOnce } from '../protocol/transport.js';
import { listenOn } from '../src/listen.js';
import type { Logger } from '../src/log.js';
import { MEMBERS_GROUP, MSGQ_LNAME, type Bus, type MemberEvent, type MsgqOptions } from './bus.js';
import type { Codec } from '../protocol/codec.js';
import { Admission } from './admission.js';
import { Client } from './client.js';
import { dispatch } from './handlers/index.js';
import { routeScannedSend } from './handlers/send-scanned.js';
import { Outgoing } from './outgoing.js';
import { SubscriptionTable } from './routing.js';
import { forwardRun, forwardSplicedRun } from './standing-route.js';
import { MsgqCounters } from './counters.js';
import { FlowControl } from './flow.js';

/**
 * Makes way for listening on a socket file. One left by a dead msgq (nobody
 * accepts on it) is removed; one where a msgq still answers is refused, and
 * so is anything that is not a socket: that is not ours to delete.
 */
async function claimSocketFile(file: string): Promise<void> {
  let stats;
  try {
    stats = await lstat(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!stats.isSocket()) throw new SocketFileError(file, `${file} exists and is not a socket`);
  try {
    (await connectOnce({ path: file })).destroy();
  } catch {
    await rm(file, { force: true });
    return;
  }
  throw new SocketFileError(file, `msgq already running on socket ${file}`);
}

/**
 * Listens on a socket file only its owner can use: in a directory only the
 * owner can enter (made so when it does not exist) and itself mode 0600, so
 * the file system keeps everyone else off the bus, as in BIND 10. The umask
 * covers the moment between bind and chmod.
 */
async function listenOnPrivateSocket(server: net.Server, file: string): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const dirStats = await stat(dir);
  const mode = dirStats.mode & 0o777;
  if ((mode & 0o077) !== 0 || dirStats.uid !== process.getuid?.()) {
    throw new SocketFileError(
      file,
      `${dir} can be entered by other users (mode ${mode.toString(8).padStart(4, '0')}, owner ${dirStats.uid}): ` +
        'put the socket file in a directory only you can enter (owned by you, mode 0700)',
    );
  }
  await claimSocketFile(file);
  const umask = process.umask(0o177);
  try {
    await listenOn(server, { path: file });
  } finally {
    process.umask(umask);
  }
  await chmod(file, 0o600);
}

/** The socket file cannot be taken: another msgq answers on it, or it is not a socket. */
export class SocketFileError extends Error {
  readonly code = 'ESOCKETFILE';

  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
  }
}

/** Time allowed for clients to take their last bytes when msgq stops. */
const CLOSE_GRACE_MS = 500;

/** The message bus daemon: accepts clients and routes their messages. */
export class MsgQ implements Bus {
  readonly table = new SubscriptionTable<Client>();
  readonly counters = new MsgqCounters();
  private readonly clients = new Map<string, Client>();
  private readonly server: net.Server;
  private unixServer: net.Server | undefined;
  private readonly flow: FlowControl;
  private readonly admission: Admission;
  private readonly host = hostname();
  private readonly started = Date.now().toString(16);
  private counter = 0;
  private seq = 0;
  private stopping: Promise<void> | undefined;
  private resolveStopped!: () => void;
  /** Resolves once msgq has stopped, whoever asked. */
  readonly stopped = new Promise<void>((resolve) => (this.resolveStopped = resolve));

  constructor(
    readonly options: MsgqOptions,
    readonly log: Logger,
  ) {
    this.admission = new Admission(options.token, options.admission, log, (socket, codec, rest) => this.join(socket, codec, rest));
    this.server = net.createServer((socket) => this.accept(socket, false));
    this.flow = new FlowControl(options.stallGraceMs);
  }

  /**
   * Listens on TCP and, if configured, on the Unix socket file; resolves
   * with the TCP address (port 0 picks a free port) once both listen.
   */
  async listen(): Promise<AddressInfo> {
    await listenOn(this.server, { port: this.options.port, host: this.options.address });
    const socketFile = this.options.socketFile;
    if (socketFile) {
      try {
        this.unixServer = net.createServer((socket) => this.accept(socket, true));
        await listenOnPrivateSocket(this.unixServer, socketFile);
      } catch (err) {
        this.server.close();
        throw err;
      }
    }
    const address = this.server.address() as AddressInfo;
    this.log.info({ address: address.address, port: address.port, socketFile }, 'msgq listening');
    return address;
  }

  client(lname: string): Client | undefined {
    return this.clients.get(lname);
  }

  lnames(): string[] {
    return [...this.clients.keys()];
  }

  nextSeq(): number {
    return ++this.seq;
  }

  deliver(message: Outgoing, recipients: readonly Client[]): number {
    let taken = 0;
    for (const recipient of recipients) if (this.deliverOne(message, recipient)) taken++;
    return taken;
  }

  forward(sender: Client, env: Envelope, frame: Frame, asSent: boolean, recipients: readonly Client[], spliceFrom = false): number {
    const codec = sender.codec!;
    let taken = 0;
    let message: Outgoing | undefined;
    for (const recipient of recipients) {
      if (recipient === sender) continue;
      if (asSent && (recipient.codec ?? cbor) === codec) {
        // The hot path: a slice of the input chunk, no copy, no encoding.
        if (recipient.writer.writeSlice(frame.buffer, frame.start, frame.end)) taken++;
      } else {
        message ??= spliceFrom
          ? Outgoing.withFrom(env, codec, frame, sender.headers.fromStart, sender.headers.fromEnd, sender.fromKey)
          : Outgoing.forward(env, codec, frame);
        if (this.deliverOne(message, recipient)) taken++;
      }
    }
    return taken;
  }

  private deliverOne(message: Outgoing, recipient: Client): boolean {
    try {
      return message.sendTo(recipient.writer, recipient.codec?.encoding ?? 'cbor');
    } catch (err) {
      recipient.log.warn({ err }, 'message dropped: its body cannot be re-encoded for this client');
      return false;
    }
  }

  sendFromMsgq(client: Client, env: Envelope, body?: unknown): void {
    const codec = client.codec!;
    client.send(encodeFrame(codec.encode(env), body === undefined ? undefined : codec.encode(body)));
  }

  notifyMembers(event: MemberEvent, client: string, group?: string): void {
    const recipients = this.table.recipients(MEMBERS_GROUP, '*');
    if (recipients.length === 0) return;
    const env: Envelope = {
      type: 'send',
      from: MSGQ_LNAME,
      to: '*',
      group: MEMBERS_GROUP,
      instance: '*',
      seq: this.nextSeq(),
    };
    const params = group === undefined ? { client } : { client, group };
    this.deliver(Outgoing.create(env, createNotification(event, params)), recipients);
  }

  /** Stops accepting, lets clients take what is queued, then closes them. */
  stop(reason: string): Promise<void> {
    this.stopping ??= this.shutdown(reason);
    return this.stopping;
  }

  private async shutdown(reason: string): Promise<void> {
    this.log.info({ reason, clients: this.clients.size }, 'msgq stopping');
    const closed = Promise.all(
      [this.server, this.unixServer].map((server) => server && new Promise<void>((resolve) => server.close(() => resolve()))),
    );
    for (const client of this.clients.values()) {
      client.writer.flush();
      client.socket.end();
    }
    const grace = setTimeout(() => {
      for (const client of this.clients.values()) client.socket.destroy();
    }, CLOSE_GRACE_MS);
    await closed;
    clearTimeout(grace);
    this.log.info('msgq stopped');
    this.resolveStopped();
  }

  private newLname(): string {
    return `${this.started}_${(++this.counter).toString(16)}@${this.host}`;
  }

  private accept(socket: net.Socket, viaSocketFile: boolean): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    if (!viaSocketFile) socket.setNoDelay(true);
    this.admission.accept(socket, viaSocketFile);
  }

  /** An admitted client joins the bus: an lname, a write path, and its frames routed from now on. */
  private join(socket: net.Socket, codec: Codec | undefined, rest: Buffer | undefined): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    const client = new Client(
      this.newLname(),
      socket,
      this.options.limits,
      this.options.maxQueue,
      this.log,
      this.flow,
      (c, frame) => {
        this.onFrame(c, frame);
        this.counters.routed(frame);
      },
      () => this.counters.cut++,
    );
    client.codec = codec;
    this.clients.set(client.lname, client);
    client.log.debug({ address: socket.remoteAddress, port: socket.remotePort }, 'client connected');
    const onData = (chunk: Buffer): void => {
      this.flow.handling(client);
      try {
        client.decoder.push(chunk);
      } catch (err) {
        this.drop(client, err);
      } finally {
        this.flow.handled();
      }
    };
    socket.on('data', onData);
    socket.on('error', (err) => client.log.debug({ err }, 'socket error'));
    socket.on('end', () => {
      if (client.decoder.pending > 0) {
        client.log.warn({ bytes: client.decoder.pending }, 'connection ended inside a frame: truncated frame discarded');
      }
      socket.end();
    });
    socket.on('close', () => this.remove(client));
    this.notifyMembers('connected', client.lname);
    if (rest !== undefined && rest.length > 0) onData(rest);
  }

  private onFrame(client: Client, frame: Frame): void {
    if (client.socket.destroyed || !this.clients.has(client.lname)) return;
    if (forwardRun(client, frame, this.table, this.options.limits.maxFrame)) return;
    if (forwardSplicedRun(client, frame, this.table, this.options.limits.maxFrame)) return;
    // A header that repeats the last one goes the full way, which remembers it and lets it stand (standing-route.ts).
    if (client.codec === cbor && !client.headers.expects(frame.buffer, frame.view, frame.headerStart, frame.bodyStart) && routeScannedSend(this, client, frame)) {
      return;
    }
    dispatch(this, client, client.envelope(frame), frame);
  }

  /** A client that broke the protocol is closed; nobody else notices. */
  private drop(client: Client, err: unknown): void {
    if (err instanceof B10Error) {
      client.log.warn({ code: err.code, reason: err.message }, `closing connection: ${err.message}`);
    } else {
      client.log.error({ err }, 'closing connection after an internal error');
    }
    // The answers to what it sent correctly before still reach it; then it
    // is gone from the bus at once, and its socket shortly after.
    this.remove(client);
    client.writer.flush();
    client.socket.pause();
    client.socket.end();
    setTimeout(() => client.socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  private remove(client: Client): void {
    if (!this.clients.delete(client.lname)) return;
    this.flow.forget(client);
    client.log.debug('client disconnected');
    for (const group of this.table.removeAll(client)) this.notifyMembers('unsubscribed', client.lname, group);
    this.notifyMembers('disconnected', client.lname);
  }
}
