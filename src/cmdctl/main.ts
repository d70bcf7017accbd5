#!/usr/bin/env node
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Config } from '../../protocol/config-data.js';
import { AnswerError } from '../../protocol/errors.js';
import type { ModuleSession } from '../../protocol/module-session.js';
import { resolveDataPath } from '../cfgmgr/store.js';
import { daemonOptions, onStopRequest, startDaemonModule } from '../daemon.js';
import { createLogger } from '../log.js';
import { EXIT_FAILURE, EXIT_USAGE, runProgram, parseCount, parseMilliseconds, parsePort, VERSION } from '../options.js';
import { PROJECT_ROOT } from '../paths.js';
import { Accounts, watchAccounts } from './accounts.js';
import { EVENT_GROUPS, eventFrom } from './events.js';
import { MAX_TOKEN_TTL_MS } from './logins.js';
import { isLoopback } from '../listen.js';
import { CmdctlServer, DEFAULT_CMDCTL_LIMITS, type Endpoint } from './server.js';

const CMDCTL_SPEC = path.join(PROJECT_ROOT, 'src/cmdctl/cmdctl.spec');
const CONSOLE_DIR = path.join(PROJECT_ROOT, 'src/cmdctl/console');
const DEFAULT_PORT = 8080;
const DEFAULT_ADDRESS = '127.0.0.1';
/** How often the accounts file is looked at: a removed user's sockets close within about this long. */
const ACCOUNTS_POLL_MS = 500;

interface Opts {
  port?: number;
  address?: string;
  cert?: string;
  key?: string;
  dataPath?: string;
  msgqPort?: number;
  tokenTtl: number;
  commandTimeout: number;
  requestTimeout: number;
  maxConnections: number;
  maxConnectionsPerAddress: number;
  verbose: boolean;
}

function parseTokenTtl(value: string): number {
  const ms = parseMilliseconds(value);
  if (ms > MAX_TOKEN_TTL_MS) throw new InvalidArgumentError(`requires at most ${MAX_TOKEN_TTL_MS} ms (24 days).`);
  return ms;
}

/** Why an endpoint may not be used; undefined when it may. */
function refusal(address: string, tls: boolean): string | undefined {
  if (tls || isLoopback(address)) return undefined;
  return `refusing to listen on ${address} without TLS: passwords and tokens would cross the network in clear (give --cert and --key)`;
}

/** Command line first, then the environment the boss sets (--cmdctl-port), then the configuration, then the defaults. */
async function endpointFrom(opts: Opts, config: Config): Promise<Endpoint> {
  const fromEnv = process.env.B10_CMDCTL_PORT ? parsePort(process.env.B10_CMDCTL_PORT) : undefined;
  const port = opts.port ?? fromEnv ?? (config.port as number | undefined) ?? DEFAULT_PORT;
  const address = opts.address ?? (config.address as string | undefined) ?? DEFAULT_ADDRESS;
  const certFile = opts.cert ?? (config.cert_file as string | undefined);
  const keyFile = opts.key ?? (config.key_file as string | undefined);
  if ((certFile === undefined) !== (keyFile === undefined)) throw new AnswerError(1, 'TLS needs both a certificate and a key');
  const why = refusal(address, certFile !== undefined);
  if (why) throw new AnswerError(1, why);
  if (certFile === undefined || keyFile === undefined) return { address, port };
  const read = async (file: string, what: string): Promise<Buffer> => {
    try {
      return await readFile(file);
    } catch (err) {
      throw new AnswerError(1, `cannot read the TLS ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  return { address, port, tls: { cert: await read(certFile, 'certificate'), key: await read(keyFile, 'key') } };
}

function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  if (a.address !== b.address || a.port !== b.port) return false;
  if (!a.tls || !b.tls) return a.tls === b.tls;
  return a.tls.cert.equals(b.tls.cert) && a.tls.key.equals(b.tls.key);
}

const program = daemonOptions(
  new Command('b10-cmdctl')
    .description('The b10 operators\' gateway: log in over HTTP, then reach the modules over a WebSocket or the web console at /.')
    .version(VERSION)
    .addOption(new Option('-p, --port <port>', `HTTP port (default: B10_CMDCTL_PORT, else the configuration, else ${DEFAULT_PORT}; 0 picks one and logs it)`).argParser(parsePort))
    .option('-a, --address <address>', `address to listen on (default: the configuration, else ${DEFAULT_ADDRESS}); anything but loopback needs TLS`)
    .option('--cert <file>', 'PEM certificate: serve HTTPS and WSS (with --key)')
    .option('--key <file>', 'PEM private key for --cert')
    .option('--token-ttl <ms>', 'how long a login token lives; its sockets close then', parseTokenTtl, DEFAULT_CMDCTL_LIMITS.tokenTtlMs)
    .option('--command-timeout <ms>', 'how long a module has to answer a request', parseMilliseconds, DEFAULT_CMDCTL_LIMITS.commandTimeoutMs)
    .option('--request-timeout <ms>', 'how long a client has for its TLS handshake and a whole HTTP request', parseMilliseconds, DEFAULT_CMDCTL_LIMITS.requestTimeoutMs)
    .option('--max-connections <n>', 'connections open at once, WebSockets included; more are closed at once', parseCount, DEFAULT_CMDCTL_LIMITS.maxConnections)
    .option('--max-connections-per-address <n>', 'the same, from one address', parseCount, DEFAULT_CMDCTL_LIMITS.maxConnectionsPerAddress),
).action(async (opts: Opts) => {
  const log = createLogger('cmdctl', { verbose: opts.verbose });
  // What the command line alone gets wrong is refused before the bus is involved.
  const early = opts.address === undefined ? undefined : refusal(opts.address, opts.cert !== undefined);
  if (early || (opts.cert === undefined) !== (opts.key === undefined)) {
    log.fatal(early ?? '--cert and --key go together');
    process.exit(EXIT_USAGE);
  }
  const dataPath = resolveDataPath(opts.dataPath);
  let module: ModuleSession | undefined;
  const limits = {
    ...DEFAULT_CMDCTL_LIMITS,
    tokenTtlMs: opts.tokenTtl,
    commandTimeoutMs: opts.commandTimeout,
    requestTimeoutMs: opts.requestTimeout,
    maxConnections: opts.maxConnections,
    maxConnectionsPerAddress: opts.maxConnectionsPerAddress,
  };
  const server = new CmdctlServer({ accounts: () => Accounts.load(dataPath), bus: () => module!.session, log, consoleDir: CONSOLE_DIR, limits });
  // `b10 user remove` and a new password end the logins they concern, open sockets included.
  const unwatch = watchAccounts(dataPath, ACCOUNTS_POLL_MS, () => void server.recheckAccounts());
  const stop = (reason: string): void => {
    log.info({ reason }, 'cmdctl stopping');
    unwatch();
    void server.close().then(async () => {
      await module?.close();
      process.exit(0);
    });
  };
  onStopRequest(stop);

  /** Listens where the configuration says; a change that cannot be applied is refused and the old endpoint kept. */
  let requested: Endpoint | undefined;
  const apply = async (config: Config): Promise<void> => {
    let endpoint: Endpoint | undefined;
    let port: number;
    try {
      endpoint = await endpointFrom(opts, config);
      if (requested && sameEndpoint(endpoint, requested)) return;
      port = await server.listen(endpoint);
    } catch (err) {
      const message = err instanceof AnswerError ? err.text : `cannot listen on ${endpoint?.address}:${endpoint?.port}: ${(err as Error).message}`;
      if (requested) throw new AnswerError(1, message);
      log.fatal(message);
      process.exit(EXIT_FAILURE);
    }
    requested = endpoint;
    log.info({ address: endpoint.address, port, tls: endpoint.tls !== undefined }, 'cmdctl listening');
  };
  module = await startDaemonModule({
    spec: CMDCTL_SPEC,
    msgqPort: opts.msgqPort,
    stop,
    log,
    onConfig: async (config, session) => {
      module = session;
      await apply(config);
    },
    onMessage: ({ env, body }) => {
      const event = eventFrom(env.group, body);
      if (event) server.publish(event);
    },
  });
  for (const group of EVENT_GROUPS) await module.session.subscribe(group);
  if ((await Accounts.load(dataPath)).names().length === 0) {
    log.warn(`no accounts yet: nobody can log in until one is added with "b10 user add NAME -d ${dataPath}"`);
  }
});

runProgram(program);
