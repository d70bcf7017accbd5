import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { listenOn } from '../listen.js';
import type { Logger } from '../log.js';
import type { Accounts } from './accounts.js';
import type { OperatorEvent } from './events.js';
import { Gateway } from './gateway.js';
import { LoginLimiter, Tokens } from './login.js';
import { BadRequest, parseRequest } from './requests.js';
import type { Session } from '../../protocol/session.js';

/**
 * cmdctl's HTTP side: POST /login and /logout, the console's files at /, and
 * the WebSocket at /ws that carries operators' requests to the bus.
 * Authentication happens in the HTTP upgrade, before any WebSocket exists:
 * no token, a bad or expired one (401), or a browser Origin other than
 * cmdctl's own (403) is refused there.
 */

export interface CmdctlLimits {
  /** How long a token lives, ms. */
  tokenTtlMs: number;
  /** Failed logins an address may make in a minute before it gets 429. */
  failuresPerMinute: number;
  /** Largest WebSocket message, bytes: past it only that socket is closed. */
  maxMessage: number;
  /** How long a module has to answer a request, ms. */
  commandTimeoutMs: number;
  /** Answers and events queued for one socket, bytes, before that reader is cut off as too slow. */
  maxBuffered: number;
}

export const DEFAULT_CMDCTL_LIMITS: CmdctlLimits = Object.freeze({
  tokenTtlMs: 3_600_000,
  failuresPerMinute: 5,
  maxMessage: 1024 * 1024,
  commandTimeoutMs: 4000,
  maxBuffered: 16 * 1024 * 1024,
});

/** Where cmdctl listens; with `tls`, HTTPS and WSS. */
export interface Endpoint {
  address: string;
  port: number;
  tls?: { cert: Buffer; key: Buffer };
}

export function isLoopback(address: string): boolean {
  return address === '::1' || address === 'localhost' || (net.isIPv4(address) && address.startsWith('127.'));
}

const COOKIE = 'b10_token';
/** Login bodies are a name and a password: anything larger is refused unread. */
const MAX_LOGIN_BODY = 16 * 1024;
const CONSOLE_FILES: Readonly<Record<string, [file: string, type: string]>> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/console.js': ['console.js', 'text/javascript; charset=utf-8'],
  '/console.css': ['console.css', 'text/css; charset=utf-8'],
};

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

function refuseUpgrade(socket: Duplex, status: 401 | 403 | 404, why: string): void {
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

interface Listener {
  server: http.Server;
  endpoint: Endpoint;
  origins: Set<string>;
  scheme: 'http' | 'https';
}

export interface CmdctlDeps {
  /** Read at each login, so `b10 user add` takes effect without a restart. */
  accounts: () => Promise<Accounts>;
  bus: () => Session;
  log: Logger;
  /** The web console's files. */
  consoleDir: string;
  limits?: CmdctlLimits;
}

export class CmdctlServer {
  private readonly limits: CmdctlLimits;
  private readonly tokens: Tokens;
  private readonly limiter: LoginLimiter;
  private readonly gateway: Gateway;
  private readonly wss: WebSocketServer;
  private readonly listening = new Set<WebSocket>();
  private listener: Listener | undefined;

  constructor(private readonly deps: CmdctlDeps) {
    this.limits = deps.limits ?? DEFAULT_CMDCTL_LIMITS;
    this.tokens = new Tokens(this.limits.tokenTtlMs);
    this.limiter = new LoginLimiter(this.limits.failuresPerMinute);
    this.gateway = new Gateway(deps.bus, this.limits.commandTimeoutMs);
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.limits.maxMessage });
  }

  get endpoint(): Endpoint | undefined {
    return this.listener?.endpoint;
  }

  /**
   * Listens on `endpoint` (port 0 picks one) and resolves with the port.
   * Called again, it moves: the old listener closes first (it may hold the
   * same port), and comes back if the new one cannot listen. Logged-in
   * operators and open sockets are kept.
   */
  async listen(endpoint: Endpoint): Promise<number> {
    const old = this.listener;
    if (old) await new Promise<void>((resolve) => old.server.close(() => resolve()));
    try {
      this.listener = await this.open(endpoint);
    } catch (err) {
      if (old) this.listener = await this.open(old.endpoint);
      throw err;
    }
    return this.listener.endpoint.port;
  }

  private async open(endpoint: Endpoint): Promise<Listener> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => void this.request(req, res);
    const server = endpoint.tls ? https.createServer({ cert: endpoint.tls.cert, key: endpoint.tls.key }, handler) : http.createServer(handler);
    const scheme = endpoint.tls ? 'https' : 'http';
    await listenOn(server, { port: endpoint.port, host: endpoint.address });
    const port = (server.address() as net.AddressInfo).port;
    const hosts = isLoopback(endpoint.address) ? ['localhost', '127.0.0.1', '[::1]', hostPart(endpoint.address)] : [hostPart(endpoint.address)];
    const listener: Listener = { server, scheme, endpoint: { ...endpoint, port }, origins: new Set(hosts.map((h) => `${scheme}://${h}:${port}`)) };
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(listener, req, socket, head));
    return listener;
  }

  close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    const server = this.listener?.server;
    this.listener = undefined;
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  /** Pushes an event to every socket that asked for events. */
  publish(event: OperatorEvent): void {
    const text = JSON.stringify(event);
    for (const ws of this.listening) this.send(ws, text);
  }

  private async request(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      const { pathname } = new URL(req.url ?? '/', 'http://cmdctl');
      if (req.method === 'POST' && pathname === '/login') return await this.login(req, res);
      if (req.method === 'POST' && pathname === '/logout') return this.logout(req, res);
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
    const body = await readFile(path.join(this.deps.consoleDir, file));
    const host = req.headers.host ?? '';
    res.writeHead(200, {
      'content-type': type,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      'content-security-policy': `default-src 'self'; connect-src 'self' ws://${host} wss://${host}; frame-ancestors 'none'`,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  private cookie(token: string, maxAge: number): string {
    const secure = this.listener?.scheme === 'https' ? '; Secure' : '';
    return `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAge}${secure}`;
  }

  private logout(req: http.IncomingMessage, res: http.ServerResponse): void {
    const token = tokenOf(req);
    if (token) this.tokens.revoke(token);
    json(res, 200, {}, { 'set-cookie': this.cookie('', 0) });
  }

  private async login(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const address = req.socket.remoteAddress ?? '';
    const retryAfter = this.limiter.retryAfter(address);
    if (retryAfter > 0) {
      return json(res, 429, { error: 'too many failed logins: try again later' }, { 'retry-after': String(retryAfter) });
    }
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
    const ok = typeof username === 'string' && typeof password === 'string' && (await (await this.deps.accounts()).verify(username, password));
    if (!ok) {
      this.limiter.failed(address);
      this.deps.log.info({ address, username: typeof username === 'string' ? username : undefined }, 'login failed');
      return json(res, 401, { error: 'wrong user name or password' });
    }
    this.limiter.succeeded(address);
    const token = this.tokens.issue(username);
    this.deps.log.info({ address, username }, 'logged in');
    const maxAge = Math.floor(this.limits.tokenTtlMs / 1000);
    json(res, 200, { token, expires_in: maxAge }, { 'set-cookie': this.cookie(token, maxAge) });
  }

  private upgrade(listener: Listener, req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    if (new URL(req.url ?? '/', 'http://cmdctl').pathname !== '/ws') return refuseUpgrade(socket, 404, 'no such endpoint');
    const origin = req.headers.origin;
    if (origin !== undefined && !listener.origins.has(origin)) return refuseUpgrade(socket, 403, `origin ${origin} is not allowed`);
    const user = this.tokens.userOf(tokenOf(req));
    if (!user) return refuseUpgrade(socket, 401, 'log in first: POST /login, then a Bearer token or the cookie');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.serve(ws, user));
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
  private serve(ws: WebSocket, user: string): void {
    this.deps.log.info({ user }, 'operator connected');
    ws.on('error', (err) => this.deps.log.info({ user, err: err.message }, 'operator socket closed on an error'));
    ws.on('close', () => this.listening.delete(ws));
    ws.on('message', (data) => {
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
