import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { AnswerError, B10Error, NoRecipientError, TimeoutError } from '../../protocol/errors.js';
import type { Session } from '../../protocol/session.js';
import { listenOn } from '../listen.js';
import type { Logger } from '../log.js';
import type { Accounts } from './accounts.js';

/**
 * cmdctl's HTTP side: POST /login and /logout, and the WebSocket at /ws
 * that carries operators' requests to the bus. Authentication happens in the
 * HTTP upgrade, before any WebSocket exists: no token, a bad or expired one
 * (401), or a browser Origin other than cmdctl's own (403) is refused there.
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
}

export const DEFAULT_CMDCTL_LIMITS: CmdctlLimits = Object.freeze({
  tokenTtlMs: 3_600_000,
  failuresPerMinute: 5,
  maxMessage: 1024 * 1024,
  commandTimeoutMs: 4000,
});

const COOKIE = 'b10_token';
/** Login bodies are a name and a password: anything larger is refused unread. */
const MAX_LOGIN_BODY = 16 * 1024;

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

function refuseUpgrade(socket: Duplex, status: 401 | 403 | 404, why: string): void {
  socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${why}\n`);
}

export class CmdctlServer {
  private readonly tokens = new Map<string, { user: string; expires: number }>();
  private readonly failures = new Map<string, number[]>();
  private readonly http: http.Server;
  private readonly wss: WebSocketServer;
  private origin = '';

  constructor(
    private readonly accounts: () => Promise<Accounts>,
    private readonly bus: () => Session,
    private readonly log: Logger,
    private readonly limits: CmdctlLimits = DEFAULT_CMDCTL_LIMITS,
  ) {
    this.http = http.createServer((req, res) => void this.request(req, res));
    this.wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxMessage });
    this.http.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
  }

  /** Listens; resolves with the port (0 picks one). */
  async listen(port: number, address: string): Promise<number> {
    await listenOn(this.http, { port, host: address });
    const bound = (this.http.address() as { port: number }).port;
    this.origin = `http://${address.includes(':') ? `[${address}]` : address}:${bound}`;
    return bound;
  }

  close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    return new Promise((resolve) => this.http.close(() => resolve()));
  }

  /** The user a request's token belongs to, from `Authorization: Bearer` or the cookie; undefined when none is valid. */
  private userOf(req: http.IncomingMessage): string | undefined {
    const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    const cookie = (req.headers.cookie ?? '')
      .split(';')
      .map((c) => c.trim().split('='))
      .find(([k]) => k === COOKIE)?.[1];
    const token = bearer ?? cookie;
    const entry = token ? this.tokens.get(token) : undefined;
    if (!entry) return undefined;
    if (entry.expires <= Date.now()) {
      this.tokens.delete(token!);
      return undefined;
    }
    return entry.user;
  }

  private async request(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', this.origin);
      if (req.method === 'POST' && url.pathname === '/login') return await this.login(req, res);
      if (req.method === 'POST' && url.pathname === '/logout') {
        const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
        if (token) this.tokens.delete(token);
        return json(res, 200, {}, { 'set-cookie': `${COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0` });
      }
      json(res, 404, { error: 'not found' });
    } catch (err) {
      this.log.warn({ err }, 'request failed');
      if (!res.headersSent) json(res, 400, { error: (err as Error).message });
    }
  }

  private async login(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const address = req.socket.remoteAddress ?? '';
    const now = Date.now();
    const recent = (this.failures.get(address) ?? []).filter((t) => now - t < 60_000);
    if (recent.length >= this.limits.failuresPerMinute) {
      const retryAfter = Math.ceil((recent[0]! + 60_000 - now) / 1000);
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
    const ok = typeof username === 'string' && typeof password === 'string' && (await (await this.accounts()).verify(username, password));
    if (!ok) {
      this.failures.set(address, [...recent, now]);
      this.log.info({ address, username: typeof username === 'string' ? username : undefined }, 'login failed');
      return json(res, 401, { error: 'wrong user name or password' });
    }
    this.failures.delete(address);
    const token = randomBytes(32).toString('hex');
    this.tokens.set(token, { user: username, expires: now + this.limits.tokenTtlMs });
    this.log.info({ address, username }, 'logged in');
    const maxAge = Math.floor(this.limits.tokenTtlMs / 1000);
    json(res, 200, { token, expires_in: maxAge }, { 'set-cookie': `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAge}` });
  }

  private upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    if (new URL(req.url ?? '/', this.origin).pathname !== '/ws') return refuseUpgrade(socket, 404, 'no such endpoint');
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== this.origin) return refuseUpgrade(socket, 403, `origin ${origin} is not allowed`);
    const user = this.userOf(req);
    if (!user) return refuseUpgrade(socket, 401, 'log in first: POST /login, then a Bearer token or the cookie');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.serve(ws, user));
  }

  /** One operator's socket: requests in, answers (each with its request's id) out, any number in flight. */
  private serve(ws: WebSocket, user: string): void {
    this.log.info({ user }, 'operator connected');
    ws.on('error', (err) => this.log.info({ user, err: err.message }, 'operator socket closed on an error'));
    ws.on('message', (data) => {
      let request: { id?: unknown; module?: unknown; command?: unknown; args?: unknown };
      try {
        request = JSON.parse(String(data)) as typeof request;
      } catch {
        ws.send(JSON.stringify({ id: null, result: [1, 'a request is JSON {id, module, command, args?}'] }));
        return;
      }
      const { id, module, command, args } = request ?? {};
      if (typeof module !== 'string' || typeof command !== 'string') {
        ws.send(JSON.stringify({ id: id ?? null, result: [1, 'a request needs a module and a command'] }));
        return;
      }
      void this.forward(module, command, args).then((result) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ id: id ?? null, result }));
      });
    });
  }

  /** A command over the bus, its outcome as BIND 10's [rcode, value]; delivery problems have negative rcodes. */
  private async forward(module: string, command: string, args: unknown): Promise<[number, unknown]> {
    try {
      const value = await this.bus().command(module, command, args, { timeout: this.limits.commandTimeoutMs });
      return [0, value];
    } catch (err) {
      if (err instanceof AnswerError) return [err.rcode, err.text];
      if (err instanceof NoRecipientError) return [-1, `no module ${module} on the bus`];
      if (err instanceof TimeoutError) return [-2, `${module} did not answer within ${err.ms} ms`];
      if (err instanceof B10Error) return [-3, err.message];
      throw err;
    }
  }
}
