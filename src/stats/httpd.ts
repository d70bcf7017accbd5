import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tokensMatch } from '../../protocol/token.js';
import { checkEndpoints, formatEndpoint, type Endpoint } from '../auth/endpoints.js';
import { listenOn } from '../listen.js';
import type { Logger } from '../log.js';
import { prometheusText } from './metrics.js';
import type { ModuleFigures } from './store.js';

export type { Endpoint } from '../auth/endpoints.js';

/** StatsHttpd cannot listen where it was asked: the message says where and why. */
export class HttpdListenError extends Error {}

/** An old listener closed to make way for a move: where it listened, to listen there again should the move fail. */
interface Retired {
  server: http.Server;
  bound: Endpoint;
}

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
   * An old listener that holds a wanted port (127.0.0.1:8000 moving to
   * 0.0.0.0:8000) is closed first, and listens again should the move fail.
   */
  async listen(endpoints: readonly Endpoint[]): Promise<Endpoint[]> {
    try {
      checkEndpoints(endpoints);
    } catch (err) {
      throw new HttpdListenError((err as Error).message);
    }
    const wanted = new Set(endpoints.map(formatEndpoint));
    const opened = new Map<string, http.Server>();
    const retired = new Map<string, Retired>();
    try {
      for (const endpoint of endpoints) {
        const key = formatEndpoint(endpoint);
        if (this.servers.has(key) || opened.has(key)) continue;
        opened.set(key, await this.open(endpoint, wanted, retired));
      }
    } catch (err) {
      for (const server of opened.values()) closeServer(server);
      for (const [key, { server, bound }] of retired) {
        await listenOn(server, { host: bound.address, port: bound.port }).catch((why: unknown) => {
          this.servers.delete(key);
          this.log.error({ err: (why as Error).message }, `lost ${formatEndpoint(bound)} while putting it back after a failed move`);
        });
      }
      throw err;
    }
    for (const [key, server] of this.servers) {
      if (wanted.has(key)) continue;
      if (!retired.has(key)) closeServer(server);
      this.servers.delete(key);
    }
    for (const [key, server] of opened) this.servers.set(key, server);
    return this.bound();
  }

  /** A new listener on `endpoint`; when only old listeners not `wanted` hold its port, they are closed (into `retired`) to make way. */
  private async open(endpoint: Endpoint, wanted: ReadonlySet<string>, retired: Map<string, Retired>): Promise<http.Server> {
    const key = formatEndpoint(endpoint);
    const server = http.createServer((req, res) => void this.handle(req, res));
    try {
      await listenOn(server, { host: endpoint.address, port: endpoint.port });
      return server;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const inTheWay = [...this.servers].filter(([k, s]) => !wanted.has(k) && !retired.has(k) && (s.address() as AddressInfo).port === endpoint.port);
      if (code !== 'EADDRINUSE' || endpoint.port === 0 || inTheWay.length === 0) {
        throw new HttpdListenError(`cannot listen on ${key}: ${code === 'EADDRINUSE' ? 'the port is taken' : (err as Error).message}`);
      }
      for (const [k, s] of inTheWay) {
        const { address, port } = s.address() as AddressInfo;
        await new Promise<void>((resolve) => {
          s.close(() => resolve());
          s.closeAllConnections();
        });
        retired.set(k, { server: s, bound: { address, port } });
      }
      return this.open(endpoint, wanted, retired);
    }
  }

  /** Where it listens now, ports picked for port 0 included. */
  bound(): Endpoint[] {
    return [...this.servers.values()].map((server) => {
      const { address, port } = server.address() as AddressInfo;
      return { address, port };
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
