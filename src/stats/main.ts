#!/usr/bin/env node
import path from 'node:path';
import { Command } from 'commander';
import type { Config } from '../../protocol/config-data.js';
import { AnswerError } from '../../protocol/errors.js';
import type { ModuleSession } from '../../protocol/module-session.js';
import { daemonOptions, onStopRequest, startDaemonModule } from '../daemon.js';
import { createLogger } from '../log.js';
import { runProgram, VERSION } from '../options.js';
import { PROJECT_ROOT } from '../paths.js';
import { Poller } from './poller.js';
import { StatsStore } from './store.js';

const STATS_SPEC = path.join(PROJECT_ROOT, 'src/stats/stats.spec');
const DEFAULT_POLL_MS = 5000;

interface Opts {
  msgqPort?: number;
  verbose: boolean;
}

const program = daemonOptions(
  new Command('b10-stats')
    .description('The b10 statistics collector: polls every module\'s counters and answers `show` with the last figures.')
    .version(VERSION),
).action(async (opts: Opts) => {
    const log = createLogger('stats', { verbose: opts.verbose });
    const store = new StatsStore();
    let poller: Poller | undefined;
    let intervalMs = DEFAULT_POLL_MS;
    let module: ModuleSession | undefined;
    const stop = (reason: string): void => {
      log.info({ reason }, 'stats stopping');
      poller?.stop();
      void (module?.close() ?? Promise.resolve()).then(() => process.exit(0));
    };
    onStopRequest(stop);
    module = await startDaemonModule({
      spec: STATS_SPEC,
      msgqPort: opts.msgqPort,
      stop,
      log,
      onConfig: (config: Config) => {
        intervalMs = Math.round((config.poll_interval as number) * 1000);
        if (poller) poller.intervalMs = intervalMs;
      },
      onCommand: (name, args) => {
        if (name !== 'show') throw new AnswerError(1, `Unknown command: ${name}`);
        return store.show(typeof args.owner === 'string' ? args.owner : undefined);
      },
    });
    poller = new Poller(module.session, store, log, intervalMs);
    poller.start();
    log.info({ pollIntervalMs: intervalMs }, 'stats ready');
  });

runProgram(program);
