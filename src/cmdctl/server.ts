import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { createRequire } from 'node:module';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { isLoopback, listenOn } from '../listen.js';
import type { Logger } from '../log.js';
import { isUserName, type Accounts } from './accounts.js';
import { capConnections, ConnectionCounter } from './connections.js';
import type { OperatorEvent } from './events.js';
import { Gateway } from './gateway.js';
import { LoginLimiter, type Login } from './login.js';
import { Logins } from './logins.js';
import { BadRequest, parseRequest } from './requests.js';
import type { Session } from '../../protocol/session.js';

/**
 * cmdctl's HTTP side: POST /login and /logout, the console's files at /, and
 * the WebSocket at /ws that carries operators' requests to the bus.
 * Authentication happens in the HTTP upgrade, before any WebSocket exists:
 * no token, a bad or expired one, or one whose account was removed (401), or
 * a browser Origin other than cmdctl's own (403) is refused there. A socket
 * lives no longer than its login: logout, expiry, or the account's removal
 * or new password close it.
 */

export interface CmdctlLimits {
  /** How long a token lives, ms. */
  tokenTtlMs: number;
  /** Failed logins for one account from one address in a minute before that pair gets 429. */
  failuresPerMinute: number;
  /** Password checks one address may have running at once; more get 429 at once. */
  checksPerAddress: number;
  /** Largest WebSocket message, bytes: past it only that socket is closed. */
  maxMessage: number;
  /** How long a module has to answer a request, ms. */
  commandTimeoutMs: number;
  /** Answers and events queued for one socket, bytes, before that reader is cut off as too slow. */
  maxBuffered: number;
  /** How long a client has for its TLS handshake and a whole request, headers and body, ms; also the most a kept-alive connection idles. */
  requestTimeoutMs: number;
  /** Connections open at once, WebSockets included; more are closed as they come. */
  maxConnections: number;
  /** The same, from one address. */
  maxConnectionsPerAddress: number;
}

export const DEFAULT_CMDCTL_LIMITS: CmdctlLimits = Object.freeze({
  tokenTtlMs: 3_600_000,
  failuresPerMinute: 5,
  checksPerAddress: 4,
  maxMessage: 1024 * 1024,
  commandTimeoutMs: 4000,
  maxBuffered: 16 * 1024 * 1024,
  requestTimeoutMs: 10_000,
  maxConnections: 512,
  maxConnectionsPerAddress: 64,
});

/** Constant, so nothing a request says (its Host) can get into it; 'self' covers ws: and wss: to cmdctl itself. */
const CONTENT_SECURITY_POLICY = "default-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const ACCOUNT_CHANGED = 'the account was removed or its password changed';

/** Requests a kept-alive connection may carry before it is closed. */
const MAX_REQUESTS_PER_CONNECTION = 100;

/** Where cmdctl listens; with `tls`, HTTPS and WSS. */
export interface Endpoint {
  address: string;
  port: number;
  tls?: { cert: Buffer; key: Buffer };
}

const COOKIE = 'b10_token';
/** Login bodies are a name and a password: anything larger is refused unread. */
const MAX_LOGIN_BODY = 16 * 1024;
/** uPlot, the console's charts, is served from its npm package as published: no copy in the repository, no CDN, no build step. */
const UPLOT_DIST = path.dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.esm.js'));
/** By path: the file, relative to the console's directory (or absolute), and its type. */
const CONSOLE_FILES: Readonly<Record<string, [file: string, type: string]>> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/console.js': ['console.js', 'text/javascript; charset=utf-8'],
  '/dashboard.js': ['dashboard.js', 'text/javascript; charset=utf-8'],
  '/dom.js': ['dom.js', 'text/javascript; charset=utf-8'],
  '/editors.js': ['editors.js', 'text/javascript; charset=utf-8'],
  '/rates.js': ['rates.js', 'text/javascript; charset=utf-8'],
  '/zones.js': ['zones.js', 'text/javascript; charset=utf-8'],
  '/console.css': ['console.css', 'text/css; charset=utf-8'],
  '/uPlot.esm.js': [path.join(UPLOT_DIST, 'uPlot.esm.js'), 'text/javascript; charset=utf-8'],
  '/uPlot.min.css': [path.join(UPLOT_DIST, 'uPlot.min.css'), 'text/css; charset=utf-8'],
};

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

function refuseUpgrade(socket: Duplex, status: 401 | 403 | 404 | 503, why: string): void {
  socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${why}\n`);
}

function hostPart(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

/** The token of a request: `Authorization: Bearer`, else the cookie. */
function tokenOf(req: http.IncomingMessage): string | undefined {
  const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
  if (bearer) return bearer;
  return (req.headers.cookie ?? '')
    .split(';')
    .map((c) => c.trim().split('='))
    .find(([k]) => k === COOKIE)?.[1];
}

/** Whether a request's body is declared JSON: a browser can send text/plain to any site without asking, but not this. */
function isJson(req: http.IncomingMessage): boolean {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() === 'application/json';
}

interface Listener {
  server: http.Server;
  endpoint: Endpoint;
  origins: Set<string>;
  scheme: 'http' | 'https';
}

export interface CmdctlDeps {
  /** Read at each login and each WebSocket upgrade, so `b10 user add` and `remove` take effect without a restart. */
  accounts: () => Promise<Accounts>;
  bus: () => Session;
  log: Logger;
  /** The web console's files. */
  consoleDir: string;
  limits?: CmdctlLimits;
}

export class CmdctlServer {
  private readonly limits: CmdctlLimits;
  private readonly logins: Logins;
  private readonly limiter: LoginLimiter;
  private readonly connections: ConnectionCounter;
  private readonly gateway: Gateway;
  private readonly wss: WebSocketServer;
  private readonly listening = new Set<WebSocket>();
  private listener: Listener | undefined;
  private rechecked: Promise<void> = Promise.resolve();

  constructor(private readonly deps: CmdctlDeps) {
    this.limits = deps.limits ?? DEFAULT_CMDCTL_LIMITS;
    this.logins = new Logins(this.limits.tokenTtlMs);
    this.limiter = new LoginLimiter({ failures: this.limits.failuresPerMinute, checksPerAddress: this.limits.checksPerAddress, windowMs: 60_000 });
    this.connections = new ConnectionCounter({ total: this.limits.maxConnections, perAddress: this.limits.maxConnectionsPerAddress });
    this.gateway = new Gateway(deps.bus, this.limits.commandTimeoutMs);
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.limits.maxMessage });
  }

  get endpoint(): Endpoint | undefined {
    return this.listener?.endpoint;
  }

  /**
   * Listens on `endpoint` (port 0 picks one) and resolves with the port.
   * Called again, it moves: the new endpoint listens before the old one
   * stops, so a move that cannot be made leaves the old one as it was. Only
   * the same port on an address that overlaps the old one cannot be bound
   * twice; that move closes the old listener first and reopens it on
   * failure. Logged-in operators and open sockets are kept.
   */
  async listen(endpoint: Endpoint): Promise<number> {
    const old = this.listener;
    try {
      this.listener = await this.openListener(endpoint);
    } catch (err) {
      if (!old || old.endpoint.port !== endpoint.port || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      retire(old);
      try {
        this.listener = await this.openListener(endpoint);
      } catch (again) {
        this.listener = await this.openListener(old.endpoint);
        throw again;
      }
      return this.listener.endpoint.port;
    }
    if (old) retire(old);
    return this.listener.endpoint.port;
  }

  private async openListener(endpoint: Endpoint): Promise<Listener> {
    const timeout = this.limits.requestTimeoutMs;
    // Node checks these timeouts on its own interval (30 s by default): a quarter of the timeout keeps a slow client's overstay short.
    const options: http.ServerOptions = { headersTimeout: timeout, requestTimeout: timeout, connectionsCheckingInterval: Math.min(1000, Math.max(50, timeout / 4)) };
    const server = endpoint.tls
      ? https.createServer({ ...options, cert: endpoint.tls.cert, key: endpoint.tls.key, handshakeTimeout: timeout })
      : http.createServer(options);
    server.keepAliveTimeout = Math.min(5000, timeout);
    server.maxRequestsPerSocket = MAX_REQUESTS_PER_CONNECTION;
    capConnections(server, this.connections, (address) => this.deps.log.debug({ address }, 'connection refused: too many open'));
    const scheme = endpoint.tls ? 'https' : 'http';
    await listenOn(server, { port: endpoint.port, host: endpoint.address });
    // No request can have been read yet: the handlers are in place within the tick that began listening.
    const port = (server.address() as net.AddressInfo).port;
    const hosts = isLoopback(endpoint.address) ? ['localhost', '127.0.0.1', '[::1]', hostPart(endpoint.address)] : [hostPart(endpoint.address)];
    const listener: Listener = { server, scheme, endpoint: { ...endpoint, port }, origins: new Set(hosts.map((h) => `${scheme}://${h}:${port}`)) };
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => void this.request(listener, req, res));
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      // Node hands the socket over without an 'error' listener: a client's reset while it is checked or refused must not be an uncaught error.
      socket.on('error', () => socket.destroy());
      this.upgrade(listener, req, socket, head).catch((err: unknown) => {
        this.deps.log.warn({ err }, 'upgrade failed');
        socket.destroy();
      });
    });
    return listener;
  }

  close(): Promise<void> {
    this.logins.clear();
    for (const client of this.wss.clients) client.terminate();
    const server = this.listener?.server;
    this.listener = undefined;
    server?.closeAllConnections();
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  /** Pushes an event to every socket that asked for events. */
  publish(event: OperatorEvent): void {
    const text = JSON.stringify(event);
    for (const ws of this.listening) this.send(ws, text);
  }

  /**
   * Reads the accounts again and ends every login whose account is gone or
   * has a new password; called when the accounts file changes. Unreadable
   * accounts end every login, as they refuse every new one.
   */
  recheckAccounts(): Promise<void> {
    this.rechecked = this.rechecked.then(async () => {
      let stampOf: (user: string) => string | undefined;
      try {
        const accounts = await this.deps.accounts();
        stampOf = (user) => accounts.stampOf(user);
      } catch (err) {
        this.deps.log.error({ err: (err as Error).message }, 'the accounts cannot be read: every login ends');
        stampOf = () => undefined;
      }
      this.logins.endStale(stampOf, ACCOUNT_CHANGED);
    });
    return this.rechecked;
  }

  private async request(listener: Listener, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      const { pathname } = new URL(req.url ?? '/', 'http://cmdctl');
      if (req.method === 'POST' && (pathname === '/login' || pathname === '/logout')) {
        const origin = req.headers.origin;
        // A page elsewhere may post here (no preflight for a form or text/plain): it must not log anyone in or out, nor spend their login tries.
        if (origin !== undefined && !listener.origins.has(origin)) return json(res, 403, { error: `origin ${origin} is not allowed` });
        return pathname === '/login' ? await this.login(req, res) : this.logout(req, res);
      }
      const file = CONSOLE_FILES[pathname];
      if (file && (req.method === 'GET' || req.method === 'HEAD')) return await this.consoleFile(req, res, ...file);
      json(res, 404, { error: 'not found' });
    } catch (err) {
      this.deps.log.warn({ err }, 'request failed');
      if (!res.headersSent) json(res, 500, { error: (err as Error).message });
      else res.destroy();
    }
  }

  private async consoleFile(req: http.IncomingMessage, res: http.ServerResponse, file: string, type: string): Promise<void> {
    const body = await readFile(path.resolve(this.deps.consoleDir, file));
    res.writeHead(200, {
      'content-type': type,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'content-security-policy': CONTENT_SECURITY_POLICY,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  private cookie(token: string, maxAge: number): string {
    const secure = this.listener?.scheme === 'https' ? '; Secure' : '';
    return `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAge}${secure}`;
  }

  private logout(req: http.IncomingMessage, res: http.ServerResponse): void {
    const token = tokenOf(req);
    if (token) this.logins.end(token, 'logged out');
    json(res, 200, {}, { 'set-cookie': this.cookie('', 0) });
  }

  private async login(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (!isJson(req)) return json(res, 415, { error: 'the body must be JSON, sent as Content-Type: application/json' });
    let body = '';
    for await (const chunk of req) {
      body += String(chunk);
      if (body.length > MAX_LOGIN_BODY) return json(res, 413, { error: 'login body too large' });
    }
    let credentials: { username?: unknown; password?: unknown };
    try {
      credentials = JSON.parse(body) as typeof credentials;
    } catch {
      return json(res, 400, { error: 'the body must be JSON {"username", "password"}' });
    }
    const { username, password } = credentials ?? {};
    if (typeof username !== 'string' || typeof password !== 'string') return json(res, 400, { error: 'the body must be JSON {"username", "password"}' });
    const address = req.socket.remoteAddress ?? '';
    // A name no account can have needs no password check, and is not a key the limiter keeps.
    if (!isUserName(username)) return this.loginFailed(res, address, undefined);
    const admission = this.limiter.admit(address, username);
    if (!admission.ok) {
      const error = admission.reason === 'busy' ? 'too many logins at once from your address' : 'too many failed logins';
      return json(res, 429, { error: `${error}: try again in ${admission.retryAfter} s` }, { 'retry-after': String(admission.retryAfter) });
    }
    let ok = false;
    let accounts: Accounts;
    try {
      accounts = await this.deps.accounts();
      ok = await accounts.verify(username, password);
    } finally {
      this.limiter.settle(address, username, ok);
    }
    const stamp = accounts.stampOf(username);
    if (!ok || stamp === undefined) return this.loginFailed(res, address, username);
    const token = this.logins.issue(username, stamp);
    this.deps.log.info({ address, username }, 'logged in');
    const maxAge = Math.floor(this.limits.tokenTtlMs / 1000);
    json(res, 200, { token, expires_in: maxAge }, { 'set-cookie': this.cookie(token, maxAge) });
  }

  private loginFailed(res: http.ServerResponse, address: string, username: string | undefined): void {
    this.deps.log.info({ address, username }, 'login failed');
    json(res, 401, { error: 'wrong user name or password' });
  }

  private async upgrade(listener: Listener, req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (new URL(req.url ?? '/', 'http://cmdctl').pathname !== '/ws') return refuseUpgrade(socket, 404, 'no such endpoint');
    const origin = req.headers.origin;
    if (origin !== undefined && !listener.origins.has(origin)) return refuseUpgrade(socket, 403, `origin ${origin} is not allowed`);
    const token = tokenOf(req);
    const login = this.logins.loginOf(token);
    if (!token || !login) return refuseUpgrade(socket, 401, 'log in first: POST /login, then a Bearer token or the cookie');
    // The file is read again here, so a removed account opens nothing even before the watch on the file has seen the change.
    let stamp: string | undefined;
    try {
      stamp = (await this.deps.accounts()).stampOf(login.user);
    } catch (err) {
      this.deps.log.error({ err: (err as Error).message }, 'the accounts cannot be read');
      return refuseUpgrade(socket, 503, 'cmdctl cannot read its accounts');
    }
    if (stamp !== login.stamp) this.logins.end(token, ACCOUNT_CHANGED);
    if (this.logins.loginOf(token) !== login) return refuseUpgrade(socket, 401, 'the login has ended: log in again');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.serve(ws, token, login));
  }

  /** Sends to one socket; a reader that lets too much pile up is cut off rather than grow cmdctl's memory. */
  private send(ws: WebSocket, text: string): void {
    if (ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount > this.limits.maxBuffered) {
      this.deps.log.warn({ buffered: ws.bufferedAmount }, 'operator socket cut off: it does not read what it is sent');
      ws.terminate();
      return;
    }
    ws.send(text);
  }

  /** One operator's socket: requests in, answers (each with its request's id) out, any number in flight. */
  private serve(ws: WebSocket, token: string, login: Login): void {
    const user = login.user;
    this.deps.log.info({ user }, 'operator connected');
    this.logins.attach(ws, token, login);
    ws.on('error', (err) => this.deps.log.info({ user, err: err.message }, 'operator socket closed on an error'));
    ws.on('close', () => this.listening.delete(ws));
    ws.on('message', (data) => {
      // A closing socket still delivers what was already on its way: none of it is carried out once the login has ended.
      if (ws.readyState !== WebSocket.OPEN || this.logins.loginOf(token) !== login) return;
      try {
        const request = parseRequest(String(data));
        if (request.kind === 'events') {
          if (request.on) this.listening.add(ws);
          else this.listening.delete(ws);
          this.send(ws, JSON.stringify({ id: request.id, result: [0] }));
          return;
        }
        void this.gateway.execute(request).then(
          (result) => this.send(ws, JSON.stringify({ id: request.id, result })),
          (err: unknown) => {
            this.deps.log.error({ err, user }, 'request failed');
            this.send(ws, JSON.stringify({ id: request.id, result: [1, `cmdctl could not carry out the request: ${(err as Error).message}`] }));
          },
        );
      } catch (err) {
        if (!(err instanceof BadRequest)) throw err;
        this.send(ws, JSON.stringify({ id: err.id, result: [1, err.message] }));
      }
    });
  }
}

/** Stops a listener taking connections: its open sockets are kept, its idle kept-alive connections closed. */
function retire(listener: Listener): void {
  listener.server.close();
  listener.server.closeIdleConnections();
}
