import http from 'node:http';
import { tokensMatch } from '../../protocol/token.js';
import { checkEndpoints, formatEndpoint, type Endpoint } from '../auth/endpoints.js';
import { listenOn } from '../listen.js';
import type { Logger } from '../log.js';
import { prometheusText } from './metrics.js';
import type { ModuleFigures } from './store.js';

export type { Endpoint } from '../auth/endpoints.js';

/** StatsHttpd cannot listen where it was asked: the message says where and why. */
export class HttpdListenError extends Error {}

/** Where the figures come from: Stats' `show` answer, asked per request. */
export type FiguresSource = () => Promise<Record<string, ModuleFigures>>;

/**
 * The HTTP side of b10-stats-httpd: `GET /metrics` (Prometheus text) and
 * `GET /stats` (JSON) on every endpoint of listen_on, each request asking
 * Stats afresh. With a bearer token set, every request must carry it.
 */
export class StatsHttpServer {
  private readonly servers = new Map<string, http.Server>();
  /** Every request must say `Authorization: Bearer <token>` while set. */
  token: string | undefined;

  constructor(
    private readonly figures: FiguresSource,
    private readonly log: Logger,
  ) {}

  /**
   * Listens on exactly `endpoints` from now on, all or nothing: the new
   * ones are bound before any old one is closed, and when one cannot be,
   * those opened are closed again and nothing changes (HttpdListenError).
   */
  async listen(endpoints: readonly Endpoint[]): Promise<Endpoint[]> {
    try {
      checkEndpoints(endpoints);
    } catch (err) {
      throw new HttpdListenError((err as Error).message);
    }
    const wanted = new Set(endpoints.map(formatEndpoint));
    const opened = new Map<string, http.Server>();
    for (const endpoint of endpoints) {
      const key = formatEndpoint(endpoint);
      if (this.servers.has(key) || opened.has(key)) continue;
      const server = http.createServer((req, res) => void this.handle(req, res));
      try {
        await listenOn(server, { host: endpoint.address, port: endpoint.port });
      } catch (err) {
        for (const s of opened.values()) closeServer(s);
        const code = (err as NodeJS.ErrnoException).code;
        throw new HttpdListenError(`cannot listen on ${key}: ${code === 'EADDRINUSE' ? 'the port is taken' : (err as Error).message}`);
      }
      opened.set(key, server);
    }
    for (const [key, server] of this.servers) {
      if (wanted.has(key)) continue;
      closeServer(server);
      this.servers.delete(key);
    }
    for (const [key, server] of opened) this.servers.set(key, server);
    return this.bound();
  }

  /** Where it listens now, ports picked for port 0 included. */
  bound(): Endpoint[] {
    return [...this.servers.values()].map((server) => {
      const address = server.address() as { address: string; port: number };
      return { address: address.address, port: address.port };
    });
  }

  close(): void {
    for (const server of this.servers.values()) closeServer(server);
    this.servers.clear();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const reply = (status: number, type: string, body: string, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': type, ...headers });
      res.end(body);
    };
    if (this.token !== undefined && !this.authorized(req.headers.authorization)) {
      reply(401, 'text/plain; charset=utf-8', 'a bearer token is needed: Authorization: Bearer <token>\n', { 'www-authenticate': 'Bearer' });
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' && path !== '/stats') {
      reply(404, 'text/plain; charset=utf-8', 'not found: GET /metrics (Prometheus) or /stats (JSON)\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      reply(405, 'text/plain; charset=utf-8', 'only GET\n', { allow: 'GET, HEAD' });
      return;
    }
    let figures: Record<string, ModuleFigures>;
    try {
      figures = await this.figures();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'no figures from Stats for a scrape');
      reply(503, 'text/plain; charset=utf-8', `no figures: Stats did not answer (${(err as Error).message})\n`);
      return;
    }
    if (path === '/stats') {
      reply(200, 'application/json', `${JSON.stringify(figures)}\n`);
      return;
    }
    const { contentType, text } = await prometheusText(figures);
    reply(200, contentType, text);
  }

  private authorized(header: string | undefined): boolean {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    return match !== null && tokensMatch(match[1]!, this.token!);
  }
}

/** Stops accepting and ends the connections kept alive, so the port is free at once. */
function closeServer(server: http.Server): void {
  server.close();
  server.closeAllConnections();
}
