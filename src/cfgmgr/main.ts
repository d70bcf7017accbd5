#!/usr/bin/env node
import path from 'node:path';
import { Command, Option } from 'commander';
import type { Config } from '../../protocol/config-data.js';
import { B10Error, NoRecipientError } from '../../protocol/errors.js';
import { createCommand, createNotification, parseAnswer } from '../../protocol/message.js';
import { CONFIG_MANAGER, CONFIG_NOTIFICATIONS, CONFIG_UPDATE, MODULE_SPEC } from '../../protocol/module-session.js';
import { BOSS } from '../../protocol/groups.js';
import { Session } from '../../protocol/session.js';
import type { ModuleSpec } from '../../protocol/spec.js';
import { writeFileAtomic } from '../atomic-file.js';
import { daemonReconnectWindow, onMsgqUp, onStopRequest } from '../daemon.js';
import { createLogger } from '../log.js';
import { EXIT_FAILURE, runProgram, parseMilliseconds, parsePort, VERSION } from '../options.js';
import { ConfigManager } from './manager.js';
import { loadPlugins, type ConfigPlugin } from './plugins.js';
import {
  backUpFile,
  CONFIG_FILE,
  configFileText,
  ensureDir,
  readConfigFile,
  readSpecsFile,
  resolveDataPath,
  SPECS_FILE,
  specsFileText,
  type StoredConfig,
} from './store.js';

/** The configuration holds the TSIG secrets (tsig_keys): readable by its owner only. */
const CONFIG_FILE_MODE = 0o600;

interface Opts {
  dataPath?: string;
  configFile: string;
  clearConfig: boolean;
  msgqPort?: number;
  msgqSocketFile?: string;
  timeout: number;
  verbose: boolean;
}

const program = new Command('b10-cfgmgr')
  .description('The b10 config manager: stores every module\'s configuration and hands it out over the bus.')
  .version(VERSION)
  .option('-d, --data-path <dir>', 'where the configuration lives (default: B10_DATA_PATH, else ./b10)')
  .option('-c, --config-file <name>', 'configuration file name within the data path, or an absolute path', CONFIG_FILE)
  .option('--clear-config', 'move the current configuration aside (to .bak, .bak.1 ...) and start empty', false)
  .addOption(new Option('-m, --msgq-port <port>', 'msgq port (default: B10_MSGQ_PORT, else 9912)').argParser(parsePort))
  .addOption(new Option('--msgq-socket-file <path>', 'reach msgq through its Unix socket file instead of TCP').env('B10_MSGQ_SOCKET_FILE'))
  .option('-t, --timeout <ms>', 'how long a module may take to accept a configuration change', parseMilliseconds, 4000)
  .option('-v, --verbose', 'log debug messages', false)
  .action(async (opts: Opts) => {
    const log = createLogger('cfgmgr', { verbose: opts.verbose });
    const dataPath = resolveDataPath(opts.dataPath);
    const configFile = path.resolve(dataPath, opts.configFile);
    const specsFile = path.join(path.dirname(configFile), SPECS_FILE);

    let config: StoredConfig;
    let specs: Map<string, ModuleSpec>;
    let plugins: Map<string, ConfigPlugin>;
    try {
      await ensureDir(path.dirname(configFile));
      if (opts.clearConfig) {
        const moved = await backUpFile(configFile);
        if (moved) log.info({ file: configFile, backup: moved }, 'configuration moved aside, starting empty');
      }
      let migrated = false;
      config = await readConfigFile(configFile, (from) => {
        migrated = true;
        log.info({ file: configFile, from }, 'configuration file migrated to the current version');
      });
      if (migrated) await writeFileAtomic(configFile, configFileText(config), CONFIG_FILE_MODE);
      specs = await readSpecsFile(specsFile, (why) => log.warn({ file: specsFile, why }, 'registered specs dropped: modules register again'));
      plugins = await loadPlugins();
      for (const [name, plugin] of plugins) specs.set(name, plugin.spec);
    } catch (err) {
      log.fatal({ code: (err as B10Error).code }, `cannot start: ${(err as Error).message}`);
      process.exit(EXIT_FAILURE);
    }
    log.info({ file: configFile, modules: Object.keys(config) }, 'configuration loaded');

    let session: Session;
    try {
      session = await Session.connect({
        port: opts.msgqPort,
        socketFile: opts.msgqPort === undefined ? opts.msgqSocketFile : undefined,
        reconnectWindow: daemonReconnectWindow(),
      });
    } catch (err) {
      log.fatal(`cannot start: ${(err as Error).message}`);
      process.exit(EXIT_FAILURE);
    }

    const manager = new ConfigManager(
      config,
      specs,
      {
        async pushConfig(module, moduleConfig: Config) {
          try {
            const reply = await session.request(module, createCommand(CONFIG_UPDATE, moduleConfig), { timeout: opts.timeout });
            return parseAnswer(reply.body);
          } catch (err) {
            if (err instanceof NoRecipientError) return undefined;
            throw err;
          }
        },
        announce(module, moduleConfig) {
          session.send(CONFIG_NOTIFICATIONS, createNotification(CONFIG_UPDATE, { module_name: module, config: moduleConfig }));
        },
        announceSpec(module) {
          session.send(CONFIG_NOTIFICATIONS, createNotification(MODULE_SPEC, { module_name: module }));
        },
        saveConfig: (all) => writeFileAtomic(configFile, configFileText(all), CONFIG_FILE_MODE),
        saveSpecs: (all) => writeFileAtomic(specsFile, specsFileText(new Map(all))),
      },
      log,
      plugins,
    );

    let stopping = false;
    const stop = (reason: string): void => {
      if (stopping) return;
      stopping = true;
      log.info({ reason }, 'config manager stopping');
      void session.close();
    };
    onStopRequest(stop);

    onMsgqUp(() => session.reconnectNow());
    session.on('disconnect', (reason) => log.warn({ reason: reason.message }, 'lost msgq: reconnecting'));
    session.on('reconnect', ({ lname, downMs }) => log.info({ lname, downMs }, 'reconnected to msgq'));
    await session.subscribe(CONFIG_MANAGER);
    // The readiness event the boss waits for.
    session.send(BOSS, { running: CONFIG_MANAGER });
    log.info({ lname: session.lname }, 'config manager ready');

    for await (const { env, body } of session) {
      if (env.group !== CONFIG_MANAGER || env.reply !== undefined) continue;
      // Each command is answered on its own: a module that asks for config
      // while it takes a change must not wait behind that change.
      void manager.handle(body).then(
        ({ answer, shutdown }) => {
          if (session.isClosed) return;
          session.reply(env, answer);
          if (shutdown) stop('shutdown command');
        },
        (err: unknown) => log.error({ err }, 'command failed'),
      );
    }
    if (!stopping) log.error('connection to msgq lost');
    await manager.settled();
    log.info('config manager stopped');
    // The boss's IPC channel would otherwise keep the process alive.
    process.exit(stopping ? 0 : EXIT_FAILURE);
  });

runProgram(program);
