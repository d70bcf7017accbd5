import http from 'node:http';
import https from 'node:https';
import { EventEmitter } from 'node:events';
import { WebSocket } from 'ws';
import { AnswerError, ClosedError, UsageError } from '../../protocol/errors.js';
import type { OperatorEvent } from './events.js';
import type { Result } from './gateway.js';

export interface CmdctlClientOptions {
  /** PEM certificate(s) to trust, for a cmdctl with its own certificate. */
  ca?: Buffer;
}

function post(url: URL, body: string, options: CmdctlClientOptions): Promise<{ status: number; text: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? https.request : http.request;
    const req = send(url, { method: 'POST', headers: { 'content-type': 'application/json' }, ca: options.ca }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The `error` of cmdctl's JSON answer, when it has one. */
function errorText(body: string): string | undefined {
  try {
    const { error } = JSON.parse(body) as { error?: unknown };
    return typeof error === 'string' ? error : undefined;
  } catch {
    return undefined;
  }
}

function unreachable(url: URL, err: unknown): ClosedError {
  const code = (err as NodeJS.ErrnoException).code;
  const why = code === 'ECONNREFUSED' ? 'nothing listens there' : (err as Error).message;
  return new ClosedError(`cannot reach cmdctl at ${url.origin}: ${why}`, { cause: err });
}

/**
 * A client of cmdctl's WebSocket protocol, as `b10 ctl` uses it: log in,
 * then requests that resolve with their [rcode, value] results (any number
 * in flight), and events as they are pushed.
 */
export class CmdctlClient extends EventEmitter<{ event: [OperatorEvent]; close: [reason: string] }> {
  private nextId = 0;
  private readonly pending = new Map<number, (result: Result) => void>();

  private constructor(private readonly ws: WebSocket) {
    super();
    ws.on('message', (data) => this.onMessage(String(data)));
    // cmdctl gives a reason when it ends the login (logged out, expired, account removed).
    ws.on('close', (_code, reason) => {
      for (const resolve of this.pending.values()) resolve([-3, 'cmdctl closed the connection']);
      this.pending.clear();
      this.emit('close', String(reason));
    });
  }

  /** Logs in with a user name and password, then opens the WebSocket with the token. */
  static async login(base: string, user: string, password: string, options: CmdctlClientOptions = {}): Promise<CmdctlClient> {
    let url: URL;
    try {
      url = new URL(base);
    } catch {
      throw new UsageError(`${base} is not a URL: expected http://HOST:PORT or https://HOST:PORT`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${base}: cmdctl speaks http or https`);
    let answer: Awaited<ReturnType<typeof post>>;
    try {
      answer = await post(new URL('/login', url), JSON.stringify({ username: user, password }), options);
    } catch (err) {
      throw unreachable(url, err);
    }
    if (answer.status === 429) throw new AnswerError(1, errorText(answer.text) ?? `too many logins: try again in ${String(answer.headers['retry-after'])} s`);
    if (answer.status === 401) throw new AnswerError(1, 'login refused: wrong user name or password');
    if (answer.status !== 200) throw new AnswerError(1, `login failed: HTTP ${answer.status} ${answer.text}`);
    const { token } = JSON.parse(answer.text) as { token: string };
    const wsUrl = new URL('/ws', url);
    wsUrl.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${token}` }, ca: options.ca });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new AnswerError(1, `cmdctl refused the WebSocket: HTTP ${res.statusCode}`)));
      ws.once('error', (err) => reject(unreachable(url, err)));
    });
    return new CmdctlClient(ws);
  }

  /** Sends one request (without its id) and resolves with its result. */
  request(request: Record<string, unknown>): Promise<Result> {
    if (this.ws.readyState !== WebSocket.OPEN) return Promise.resolve([-3, 'cmdctl closed the connection']);
    const id = ++this.nextId;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.ws.send(JSON.stringify({ ...request, id }));
    });
  }

  close(): void {
    this.ws.close();
  }

  private onMessage(text: string): void {
    let message: { id?: unknown; result?: Result; event?: string };
    try {
      message = JSON.parse(text) as typeof message;
    } catch {
      return;
    }
    if (typeof message.event === 'string') {
      this.emit('event', message as OperatorEvent);
      return;
    }
    const resolve = typeof message.id === 'number' ? this.pending.get(message.id) : undefined;
    if (!resolve || !Array.isArray(message.result)) return;
    this.pending.delete(message.id as number);
    resolve(message.result);
  }
}
