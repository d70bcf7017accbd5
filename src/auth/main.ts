#!/usr/bin/env node
import path from 'node:path';
import { Command, Option } from 'commander';
import type { Config } from '../../protocol/config-data.js';
import { AnswerError } from '../../protocol/errors.js';
import { createCommand } from '../../protocol/message.js';
import type { ModuleSession } from '../../protocol/module-session.js';
import { resolveDataPath } from '../cfgmgr/store.js';
import { daemonOptions, onStopRequest, startDaemonModule } from '../daemon.js';
import { KeyringFollower } from '../dns/keyring.js';
import { createLogger } from '../log.js';
import { EXIT_FAILURE, runProgram, parseCount, parseMilliseconds, parsePort, VERSION } from '../options.js';
import { PROJECT_ROOT } from '../paths.js';
import { ZoneStore } from '../dns/zone-store.js';
import { XfrinZones } from '../xfrin/follow.js';
import { LocalAnswering, storedWorkers, WorkersAnswering, type Answering } from './answering.js';
import { formatEndpoint, ListenError } from './endpoints.js';
import type { RateLimitItems } from './rrl.js';
import { DEFAULT_AUTH_LIMITS, type Endpoint } from './server.js';
import type { Loaded } from './serving.js';
import { AuthWorkers, workersFor } from './workers.js';
import { DEFAULT_RECORDS, zoneDrop, zoneLoad, zoneRecords, zoneRows } from './zone-commands.js';

const AUTH_SPEC = path.join(PROJECT_ROOT, 'src/auth/auth.spec');

interface Opts {
  port?: number;
  address: string;
  dataPath?: string;
  msgqPort?: number;
  tcpIdleTimeout: number;
  tcpMaxConnections: number;
  verbose: boolean;
}

function dnsPort(option: number | undefined): number {
  if (option !== undefined) return option;
  const fromEnv = Number(process.env.B10_DNS_PORT);
  return Number.isInteger(fromEnv) && fromEnv >= 0 && fromEnv <= 65535 && process.env.B10_DNS_PORT !== '' ? fromEnv : 5300;
}

const program = daemonOptions(
  new Command('b10-auth')
    .description('The b10 authoritative DNS server: answers from the zone store over UDP and TCP.')
    .version(VERSION)
    .addOption(new Option('-p, --port <port>', 'DNS port (default: B10_DNS_PORT, else 5300; 0 picks one)').argParser(parsePort))
    .option('-a, --address <address>', 'address to answer on, unless the configuration names others', '127.0.0.1')
    .option('--tcp-idle-timeout <ms>', 'close a TCP connection that completes no query for this long (from its accept or last query)', parseMilliseconds, DEFAULT_AUTH_LIMITS.tcpIdleMs)
    .option('--tcp-max-connections <n>', 'TCP connections open at once at most; more are closed at once', parseCount, DEFAULT_AUTH_LIMITS.maxTcpConnections),
).action(async (opts: Opts) => {
    const log = createLogger('auth', { verbose: opts.verbose });
    const dataPath = resolveDataPath(opts.dataPath);
    let module: ModuleSession | undefined;
    // A NOTIFY for one of Xfrin's zones is answered here, REFUSED unless it comes from the zone's primary,
    // and passed to Xfrin when it does. Read with Auth/workers, which tells how auth answers.
    const [xfrinZones, storedCount] = await Promise.all([XfrinZones.load(log), storedWorkers(dataPath, log)]);
    const onNotify = (zone: string, from: string, key?: string): number | undefined =>
      xfrinZones.answerNotify(zone, from, () => {
        log.info({ zone, from, key }, 'NOTIFY received: passed to Xfrin');
        if (module?.session.isConnected) module.session.send('Xfrin', createCommand('notify', { zone_name: zone, master: from }));
      });
    const limits = { tcpIdleMs: opts.tcpIdleTimeout, maxTcpConnections: opts.tcpMaxConnections };
    let workers = storedCount;
    // 1 keeps the shape auth always had, one process answering; above, workers, whose count follows Auth/workers live.
    let pool: AuthWorkers | undefined;
    let answering: Answering;
    try {
      if (workers > 1) {
        // A worker answers a NOTIFY itself, on Xfrin's zones as they are passed to it; this process logs and passes it as for its own.
        pool = new AuthWorkers(workers, { dataPath, ...limits, verbose: opts.verbose }, log, ({ zone, from, key }) => onNotify(zone, from, key));
        void pool.configure({ secondaries: xfrinZones.known() });
        xfrinZones.onChange = () => pool!.configure({ secondaries: xfrinZones.known() });
        answering = new WorkersAnswering(pool, dataPath);
      } else {
        answering = new LocalAnswering(log, limits, dataPath, onNotify);
      }
    } catch (err) {
      log.fatal(`cannot start: ${(err as Error).message}`);
      process.exit(EXIT_FAILURE);
    }

    const fallback: Endpoint[] = [{ address: opts.address, port: dnsPort(opts.port) }];
    let relisten: Promise<void> = Promise.resolve();
    // DNS waits for nothing on the bus, and goes on whatever the bus does.
    // Changes of address are applied one after the other, never interleaved;
    // one that cannot be made whole changes nothing (server.listen).
    const listenOn = (endpoints: Endpoint[]): Promise<void> => {
      const run = relisten.then(async () => {
        const { bound, changed } = await answering.listen(endpoints);
        if (changed) log.info({ endpoints: bound, workers }, 'auth listening');
      });
      relisten = run.catch(() => {});
      return run;
    };
    // The bus is reached meanwhile (auth's workers take a while to start): a configuration it gives is
    // applied once DNS is served on the fallback, and auth tells the boss it is up only then.
    let stopping = false;
    const served = listenOn(fallback).then(
      async () => log.info({ zones: await answering.zones(), workers }, 'zones loaded'),
      (err: unknown) => {
        // A bus `shutdown` while starting stops the workers as they start: no failure, and nothing after.
        if (stopping) return new Promise<never>(() => {});
        log.fatal(`cannot start: ${(err as Error).message}`);
        process.exit(EXIT_FAILURE);
      },
    );

    // The zone commands (the console's) read and write the store themselves, through a handle of their own.
    let store: ZoneStore | undefined;
    const commandStore = (): ZoneStore => (store ??= ZoneStore.open(dataPath));

    const loadZone = async (origin: string, changes: unknown): Promise<Loaded> => {
      const loaded = await answering.loadZone(origin, changes);
      // Served now: xfrout tells the secondaries.
      if ('serial' in loaded && module?.session.isConnected) module.session.send('Xfrout', createCommand('zone_changed', { origin: loaded.origin }));
      return loaded;
    };

    const stop = (reason: string): void => {
      stopping = true;
      log.info({ reason }, 'auth stopping');
      void answering.close().then(async () => {
        await module?.close();
        store?.close();
        process.exit(0);
      });
    };
    // Signals stop auth this way once DNS is served; until then they end it at once, as they always did.
    void served.then(() => onStopRequest(stop));
    const joined = startDaemonModule({
      spec: AUTH_SPEC,
      msgqPort: opts.msgqPort,
      stop,
      log,
      onMessage: (message) => xfrinZones.onMessage(message),
      onConfig: async (config: Config) => {
        const configured = (config.listen_on as Endpoint[] | undefined) ?? [];
        try {
          await listenOn(configured.length > 0 ? configured : fallback);
        } catch (err) {
          if (!(err instanceof ListenError)) throw err;
          const still = answering.endpoints().map(formatEndpoint).join(', ');
          if (module === undefined) {
            // The stored configuration, at start: its address may not be up yet. DNS on the
            // default address beats none, and a refusal here would end auth (and the boss restarts it, in vain).
            log.error({ reason: err.message, endpoints: answering.endpoints() }, `stored listen_on cannot be bound: answering on ${still} until Auth/listen_on is set again`);
          } else {
            log.warn({ reason: err.message, endpoints: answering.endpoints() }, 'listen_on refused: answering where it did');
            throw new AnswerError(1, `listen_on: ${err.message}; still answering on ${still}`);
          }
        }
        await answering.setRateLimit((config.rate_limit as RateLimitItems | undefined) ?? {});
        const wanted = workersFor(config.workers);
        if (module !== undefined && wanted !== undefined && wanted !== workers) {
          if (pool && wanted > 1) {
            // Not waited for: workers load every zone before they answer, which may take longer than a
            // configuration change may. A move of listen_on meanwhile waits for it.
            workers = wanted;
            void pool.resize(wanted);
          } else {
            // One process or workers: the other shape needs auth started again.
            log.warn({ workers, configured: wanted }, 'Auth/workers changed: it takes effect when auth is restarted (b10 restart auth)');
          }
        }
      },
      // Asked of a starting auth, a command waits until its zones are served.
      onCommand: async (name, args) => {
        await served;
        switch (name) {
          case 'loadzone':
            return loadZone(String(args.origin), args.changes);
          case 'zones':
            return answering.zones().then((served) => zoneRows(commandStore(), new Map(served.map((z) => [z.origin, z.serial]))));
          case 'zone_records':
            return zoneRecords(commandStore(), String(args.origin), typeof args.search === 'string' ? args.search : '', typeof args.limit === 'number' ? args.limit : DEFAULT_RECORDS);
          case 'zone_load': {
            const loaded = zoneLoad(commandStore(), String(args.origin), String(args.text));
            return loadZone(loaded.origin, undefined).then(() => loaded);
          }
          case 'zone_drop': {
            const origin = zoneDrop(commandStore(), String(args.origin));
            // No longer in the store: every process answering stops serving it.
            return loadZone(origin, undefined).then(() => ({ origin, dropped: true }));
          }
          case 'getstats':
            return answering.stats();
          case 'workers':
            return answering.workers();
          default:
            throw new AnswerError(1, `Unknown command: ${name}`);
        }
      },
    });
    [module] = await Promise.all([joined, served]);
    KeyringFollower.follow(module, log, (keyring) => answering.setKeyring(keyring, module!.getRemoteValue('tsig_keys', 'keys') as string[]));
    await xfrinZones.follow(module);
    // A zone stored between auth's read of the store and its joining the bus (xfrin's first transfer, say)
    // was announced to nobody: each stored zone not served as it is stored now is loaded.
    const serving = new Map((await answering.zones()).map((z) => [z.origin, z.serial]));
    for (const { name, serial } of answering.storedZones()) {
      if (serving.get(name) === serial) continue;
      try {
        await loadZone(name, undefined);
      } catch (err) {
        log.warn({ zone: name, err: (err as Error).message }, 'zone stored while auth started not loaded');
      }
    }
  });

runProgram(program);
