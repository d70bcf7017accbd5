#!/usr/bin/env node
import { hostname } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import type { Config } from '../../protocol/config-data.js';
import { AnswerError, UsageError } from '../../protocol/errors.js';
import type { ModuleSession } from '../../protocol/module-session.js';
import { EVENT_GROUPS } from '../cmdctl/events.js';
import { daemonOptions, onStopRequest, startDaemonModule } from '../daemon.js';
import { createLogger } from '../log.js';
import { runProgram, VERSION } from '../options.js';
import { PROJECT_ROOT } from '../paths.js';
import { Bridge, type BridgeSettings } from './bridge.js';
import { bridgeConfigProblems, defaultHost, natsSettings } from './subjects.js';

export const BRIDGE_SPEC = path.join(PROJECT_ROOT, 'src/bridge/bridge.spec');

interface Opts {
  msgqPort?: number;
  verbose: boolean;
}

/** The settings a configuration stands for; AnswerError when it cannot be run on. */
function settingsFrom(config: Config): BridgeSettings {
  const problems = bridgeConfigProblems(config);
  if (problems.length > 0) throw new AnswerError(1, problems.join('; '));
  const host = String(config.host ?? '');
  return {
    nats: natsSettings(config),
    host: host === '' ? defaultHost(hostname()) : host,
    export: ((config.export ?? []) as unknown[]).map(String),
    events: config.events === true,
    timeout: config.timeout as number,
  };
}

const program = daemonOptions(
  new Command('b10-bridge')
    .description('The b10 fleet bridge: joins this host\'s bus to a NATS cluster, so that `b10 fleet` reaches the exported groups.')
    .version(VERSION),
).action(async (opts: Opts) => {
    const log = createLogger('bridge', { verbose: opts.verbose });
    let bridge: Bridge | undefined;
    let module: ModuleSession | undefined;
    const stop = (reason: string): void => {
      log.info({ reason }, 'bridge stopping');
      void (bridge?.close() ?? Promise.resolve())
        .then(() => module?.close())
        .then(() => process.exit(0));
    };
    onStopRequest(stop);
    module = await startDaemonModule({
      spec: BRIDGE_SPEC,
      msgqPort: opts.msgqPort,
      stop,
      log,
      onConfig: (config, session) => {
        const settings = settingsFrom(config);
        bridge ??= new Bridge(session.session, log);
        try {
          bridge.apply(settings);
        } catch (err) {
          if (err instanceof UsageError) throw new AnswerError(1, err.message);
          throw err;
        }
      },
      onMessage: ({ env, body }) => bridge?.forwardEvent(env.group, body),
      onCommand: (name) => {
        if (name !== 'status') throw new AnswerError(1, `Unknown command: ${name}`);
        return bridge?.status();
      },
    });
    for (const group of EVENT_GROUPS) await module.session.subscribe(group);
    log.info('bridge ready');
  });

runProgram(program);
