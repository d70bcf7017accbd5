#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import type { Config } from '../../protocol/config-data.js';
import { AnswerError } from '../../protocol/errors.js';
import type { ModuleSession } from '../../protocol/module-session.js';
import { formatEndpoint } from '../auth/endpoints.js';
import { daemonOptions, onStopRequest, startDaemonModule } from '../daemon.js';
import { createLogger } from '../log.js';
import { runProgram, VERSION } from '../options.js';
import { PROJECT_ROOT } from '../paths.js';
import { exposureProblem, readBearerToken } from './exposure.js';
import { HttpdListenError, StatsHttpServer, type Endpoint } from './httpd.js';
import type { ModuleFigures } from './store.js';

const HTTPD_SPEC = path.join(PROJECT_ROOT, 'src/stats/stats-httpd.spec');
/** How long a request waits for Stats' answer. */
const SHOW_TIMEOUT_MS = 3000;

interface Opts {
  msgqPort?: number;
  verbose: boolean;
}

const program = daemonOptions(
  new Command('b10-stats-httpd')
    .description('Serves the statistics b10-stats collects over HTTP: /metrics for Prometheus, /stats as JSON.')
    .version(VERSION),
).action(async (opts: Opts) => {
    const log = createLogger('stats-httpd', { verbose: opts.verbose });
    let module: ModuleSession | undefined;
    const server = new StatsHttpServer(
      async () => {
        if (!module) throw new Error('not on the bus yet');
        return (await module.session.command('Stats', 'show', undefined, { timeout: SHOW_TIMEOUT_MS })) as Record<string, ModuleFigures>;
      },
      log,
    );
    const stop = (reason: string): void => {
      log.info({ reason }, 'stats-httpd stopping');
      server.close();
      void (module?.close() ?? Promise.resolve()).then(() => process.exit(0));
    };
    onStopRequest(stop);

    const configure = async (config: Config): Promise<void> => {
      const endpoints = (config.listen_on as Endpoint[] | undefined) ?? [];
      const tokenFile = typeof config.token_file === 'string' && config.token_file !== '' ? config.token_file : undefined;
      const problem = exposureProblem(endpoints, tokenFile);
      if (problem) throw new AnswerError(1, problem);
      const token = tokenFile === undefined ? undefined : readBearerToken(tokenFile);
      // A new token holds from before the new addresses open; the old one is back if they cannot.
      const previous = server.token;
      server.token = token ?? previous;
      try {
        const bound = await server.listen(endpoints);
        log.info({ endpoints: bound, token: token !== undefined }, 'stats-httpd listening');
      } catch (err) {
        server.token = previous;
        if (!(err instanceof HttpdListenError)) throw err;
        throw new AnswerError(1, `listen_on: ${err.message}; still serving on ${server.bound().map(formatEndpoint).join(', ') || 'nothing'}`);
      }
      server.token = token;
    };

    module = await startDaemonModule({
      spec: HTTPD_SPEC,
      msgqPort: opts.msgqPort,
      stop,
      log,
      onConfig: async (config: Config) => {
        try {
          await configure(config);
        } catch (err) {
          // The stored configuration, at start: refusing it would end the daemon, and the boss would restart it in vain.
          if (module !== undefined || !(err instanceof AnswerError)) throw err;
          log.error({ reason: err.text }, 'stored configuration refused: serving nothing until StatsHttpd is configured again');
        }
      },
    });
  });

runProgram(program);
