#!/usr/bin/env node
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import { resolveMsgqPort } from '../protocol/transport.js';
import { writeFileAtomic } from '../src/atomic-file.js';
import { resolveDataPath } from '../src/cfgmgr/store.js';
import { createLogger } from '../src/log.js';
import { EXIT_FAILURE, runProgram, parseMilliseconds, parsePort, VERSION } from '../src/options.js';
import { Boss } from './boss.js';
import { DEFAULT_POLICY } from './restart.js';

interface Opts {
  verbose: boolean;
  port: number;
  cmdctlPort?: number;
  msgqPort?: number;
  msgqSocketFile?: string;
  dataPath?: string;
  pidFile?: string;
  restartPeriod: number;
  restartMax: number;
  readyTimeout: number;
  stopGrace: number;
}

const program = new Command('bind10')
  .description('Start b10: msgq, the config manager and every configured component; supervise them; stop them all.')
  .version(VERSION)
  .option('-v, --verbose', 'log debug messages, and run the components verbose too', false)
  .option('-p, --port <port>', 'DNS port for auth', parsePort, 5300)
  .addOption(new Option('--cmdctl-port <port>', 'cmdctl\'s HTTP port (default: its configuration, else 8080; 0 picks a free one and logs it)').argParser(parsePort))
  .addOption(new Option('-m, --msgq-port <port>', 'msgq port (default: B10_MSGQ_PORT, else 9912; 0 picks a free one)').argParser(parsePort))
  .addOption(
    new Option('--msgq-socket-file <path>', 'msgq listens on this Unix socket file too, for the original BIND 10 Python modules')
      .env('B10_MSGQ_SOCKET_FILE'),
  )
  .option('-d, --data-path <dir>', 'where the configuration lives (default: B10_DATA_PATH, else ./b10)')
  .option('--pid-file <file>', 'write the boss\'s pid here while it runs')
  .option('--restart-period <ms>', 'run time that counts as healthy, and the first wait before restarting a component that failed sooner', parseMilliseconds, DEFAULT_POLICY.period)
  .option('--restart-max <ms>', 'the longest wait before a restart: each quick failure in a row doubles the wait up to this', parseMilliseconds, DEFAULT_POLICY.maxPeriod)
  .option('--ready-timeout <ms>', 'how long a component may take to register with the config manager', parseMilliseconds, 10_000)
  .option('--stop-grace <ms>', 'how long each shutdown step (bus shutdown, then SIGTERM) waits before the next', parseMilliseconds, 2000)
  .action(async (opts: Opts) => {
    // Left at its default, the cap grows with a longer period; set, it must allow the period.
    const restartMax =
      program.getOptionValueSource('restartMax') === 'default' ? Math.max(opts.restartMax, opts.restartPeriod) : opts.restartMax;
    if (restartMax < opts.restartPeriod) {
      program.error(`error: --restart-max (${restartMax}) must be at least --restart-period (${opts.restartPeriod})`, { exitCode: 2 });
    }
    const log = createLogger('boss', { verbose: opts.verbose });
    const boss = new Boss(
      {
        msgqPort: resolveMsgqPort(opts.msgqPort),
        msgqSocketFile: opts.msgqSocketFile ? path.resolve(opts.msgqSocketFile) : undefined,
        dnsPort: opts.port,
        cmdctlPort: opts.cmdctlPort,
        dataPath: resolveDataPath(opts.dataPath),
        verbose: opts.verbose,
        policy: { ...DEFAULT_POLICY, period: opts.restartPeriod, maxPeriod: restartMax },
        readyTimeout: opts.readyTimeout,
        stopGrace: opts.stopGrace,
      },
      log,
    );
    const pidFile = opts.pidFile;
    if (pidFile) {
      try {
        await writeFileAtomic(pidFile, `${process.pid}\n`);
      } catch (err) {
        log.fatal(`cannot write the pid file ${pidFile}: ${(err as Error).message}`);
        process.exit(EXIT_FAILURE);
      }
    }
    const finish = async (code: number): Promise<never> => {
      if (pidFile) await rm(pidFile, { force: true });
      process.exit(code);
    };
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void boss.shutdown(signal));
    try {
      await boss.start();
    } catch (err) {
      log.fatal(`b10 did not start: ${(err as Error).message}`);
      await finish(EXIT_FAILURE);
    }
    await finish(await boss.done);
  });

runProgram(program);
