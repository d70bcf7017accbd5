#!/usr/bin/env node
import net from 'node:net';
import path from 'node:path';
import { Command, Option } from 'commander';
import type { ModuleSession } from '../../protocol/module-session.js';
import { resolveDataPath } from '../cfgmgr/store.js';
import { daemonOptions, onStopRequest, startDaemonModule } from '../daemon.js';
import { createLogger } from '../log.js';
import { EXIT_FAILURE, EXIT_USAGE, parseArgs, parseMilliseconds, parsePort, VERSION } from '../options.js';
import { PROJECT_ROOT } from '../paths.js';
import { Accounts } from './accounts.js';
import { CmdctlServer, DEFAULT_CMDCTL_LIMITS } from './server.js';

const CMDCTL_SPEC = path.join(PROJECT_ROOT, 'src/cmdctl/cmdctl.spec');

interface Opts {
  port: number;
  address: string;
  dataPath?: string;
  msgqPort?: number;
  tokenTtl: number;
  commandTimeout: number;
  verbose: boolean;
}

function isLoopback(address: string): boolean {
  return address === '::1' || address === 'localhost' || (net.isIPv4(address) && address.startsWith('127.'));
}

const program = daemonOptions(
  new Command('b10-cmdctl')
    .description('The b10 operators\' gateway: log in over HTTP, then send commands to the modules over a WebSocket.')
    .version(VERSION)
    .addOption(new Option('-p, --port <port>', 'HTTP port (0 picks one, and logs it)').argParser(parsePort).default(8080))
    .option('-a, --address <address>', 'address to listen on (loopback only until TLS is configured)', '127.0.0.1')
    .option('--token-ttl <ms>', 'how long a login token lives', parseMilliseconds, DEFAULT_CMDCTL_LIMITS.tokenTtlMs)
    .option('--command-timeout <ms>', 'how long a module has to answer a request', parseMilliseconds, DEFAULT_CMDCTL_LIMITS.commandTimeoutMs),
).action(async (opts: Opts) => {
  const log = createLogger('cmdctl', { verbose: opts.verbose });
  if (!isLoopback(opts.address)) {
    log.fatal(`refusing to listen on ${opts.address} without TLS: passwords and tokens would cross the network in clear`);
    process.exit(EXIT_USAGE);
  }
  const dataPath = resolveDataPath(opts.dataPath);
  let module: ModuleSession | undefined;
  // Accounts are read at each login, so `b10 user add` takes effect without a restart.
  const limits = { ...DEFAULT_CMDCTL_LIMITS, tokenTtlMs: opts.tokenTtl, commandTimeoutMs: opts.commandTimeout };
  const server = new CmdctlServer(() => Accounts.load(dataPath), () => module!.session, log, limits);
  const stop = (reason: string): void => {
    log.info({ reason }, 'cmdctl stopping');
    void server.close().then(async () => {
      await module?.close();
      process.exit(0);
    });
  };
  onStopRequest(stop);
  module = await startDaemonModule({ spec: CMDCTL_SPEC, msgqPort: opts.msgqPort, stop, log });
  try {
    const port = await server.listen(opts.port, opts.address);
    log.info({ address: opts.address, port }, 'cmdctl listening');
  } catch (err) {
    log.fatal(`cannot listen on ${opts.address}:${opts.port}: ${(err as Error).message}`);
    process.exit(EXIT_FAILURE);
  }
});

process.exitCode = (await parseArgs(program, process.argv)) ?? process.exitCode;
