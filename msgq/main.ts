#!/usr/bin/env node
import net from 'node:net';
import { Command, Option } from 'commander';
import { DEFAULT_LIMITS, DEFAULT_MAX_QUEUE, DEFAULT_MSGQ_HOST, DEFAULT_STALL_GRACE_MS } from '../protocol/limits.js';
import { resolveTokenFile } from '../protocol/token.js';
import { resolveMsgqPort } from '../protocol/transport.js';
import { isLoopback } from '../src/listen.js';
import { onStopRequest } from '../src/daemon.js';
import { createLogger } from '../src/log.js';
import { EXIT_FAILURE, EXIT_USAGE, runProgram, VERSION, parseCount, parseMillisecondsOrZero, parsePort, parseSize } from '../src/options.js';
import { DEFAULT_ADMISSION } from './admission.js';
import { MsgQ, SocketFileError } from './server.js';
import { loadOrCreateToken } from './token-file.js';

interface Opts {
  port?: number;
  socketFile?: string;
  address: string;
  maxFrame: number;
  maxHeader: number;
  maxQueue: number;
  stallGrace: number;
  allowStop: boolean;
  allowRemote: boolean;
  dataPath?: string;
  tokenFile?: string;
  maxClients: number;
  maxClientsPerAddress: number;
  verbose: boolean;
}

const program = new Command('b10-msgq')
  .description('The b10 message bus: routes messages between every b10 module and tool.')
  .version(VERSION)
  .addOption(new Option('-p, --port <port>', 'TCP port to listen on (default: B10_MSGQ_PORT, else 9912)').argParser(parsePort))
  .addOption(
    new Option('-s, --socket-file <path>', 'listen on this Unix socket file as well, as the original msgq did')
      .env('B10_MSGQ_SOCKET_FILE'),
  )
  .option('-a, --address <address>', 'address to listen on (a loopback address unless --allow-remote)', DEFAULT_MSGQ_HOST)
  .option('--allow-remote', 'allow a non-loopback --address: anyone who can reach it and holds the token may use the bus', false)
  .addOption(new Option('-d, --data-path <dir>', 'where the bus token file msgq.token is (default: B10_DATA_PATH, else ./b10)'))
  .addOption(
    new Option('--token-file <file>', 'the bus token file; created (mode 0600) when missing (default: B10_MSGQ_TOKEN_FILE, else msgq.token in the data path)'),
  )
  .option('--max-clients <n>', 'connections at once, TCP and socket file together', parseCount, DEFAULT_ADMISSION.maxClients)
  .option('--max-clients-per-address <n>', 'TCP connections at once from one address', parseCount, DEFAULT_ADMISSION.maxClientsPerAddress)
  .option('--max-frame <bytes>', 'largest frame accepted (suffix k or M)', parseSize, DEFAULT_LIMITS.maxFrame)
  .option('--max-header <bytes>', 'largest routing header accepted', parseSize, DEFAULT_LIMITS.maxHeader)
  .option('--max-queue <bytes>', 'unread bytes a client may leave before it is disconnected', parseSize, DEFAULT_MAX_QUEUE)
  .option(
    '--stall-grace <ms>',
    'how long senders are held back for a reader that does not take what it is sent; after that only --max-queue applies',
    parseMillisecondsOrZero,
    DEFAULT_STALL_GRACE_MS,
  )
  .option('--allow-stop', 'honour "stop" messages from loopback clients', false)
  .option('-v, --verbose', 'log debug messages', false)
  .action(async (opts: Opts) => {
    const log = createLogger('msgq', { verbose: opts.verbose });
    let port: number;
    try {
      port = resolveMsgqPort(opts.port);
    } catch (err) {
      log.fatal((err as Error).message);
      process.exit(EXIT_USAGE);
    }
    if (opts.maxHeader > opts.maxFrame) {
      log.fatal('--max-header cannot exceed --max-frame');
      process.exit(EXIT_USAGE);
    }
    if (net.isIP(opts.address) === 0 && opts.address !== 'localhost') {
      log.fatal(`--address must be an IP address, not "${opts.address}"`);
      process.exit(EXIT_USAGE);
    }
    if (!isLoopback(opts.address) && !opts.allowRemote) {
      log.fatal(`refusing to listen on ${opts.address}: the bus would be reachable from other hosts (give --allow-remote to mean it)`);
      process.exit(EXIT_USAGE);
    }
    const tokenFile = resolveTokenFile({ tokenFile: opts.tokenFile, dataPath: opts.dataPath });
    let token: string;
    try {
      const loaded = await loadOrCreateToken(tokenFile);
      token = loaded.token;
      if (loaded.created) log.info({ tokenFile }, 'bus token created');
    } catch (err) {
      log.fatal({ tokenFile }, (err as Error).message);
      process.exit(EXIT_FAILURE);
    }
    const msgq = new MsgQ(
      {
        port,
        address: opts.address,
        socketFile: opts.socketFile,
        limits: { maxFrame: opts.maxFrame, maxHeader: opts.maxHeader },
        maxQueue: opts.maxQueue,
        stallGraceMs: opts.stallGrace,
        allowStop: opts.allowStop,
        token,
        admission: { maxClients: opts.maxClients, maxClientsPerAddress: opts.maxClientsPerAddress },
      },
      log,
    );
    // Before listening: whoever sees "msgq listening" may stop it at once.
    onStopRequest((reason) => void msgq.stop(reason));
    try {
      await msgq.listen();
    } catch (err) {
      const { code, address: where } = err as NodeJS.ErrnoException & { address?: string };
      if (err instanceof SocketFileError) log.fatal({ code }, `cannot listen on ${err.file}: ${err.message}`);
      else if (code === 'EADDRINUSE' && where && where.includes('/')) log.fatal({ code }, `cannot listen on ${where}: it is in use`);
      else if (code === 'EADDRINUSE') log.fatal({ code }, `cannot listen on ${opts.address}:${port}: port ${port} is already in use`);
      else log.fatal({ code }, `cannot listen: ${(err as Error).message}`);
      process.exit(EXIT_FAILURE);
    }
    await msgq.stopped;
    process.exit(0);
  });

runProgram(program);
