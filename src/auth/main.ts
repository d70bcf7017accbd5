#!/usr/bin/env node
import type { Socket } from 'node:net';
import path from 'node:path';
import { Command, Option } from 'commander';
import type { Config } from '../../protocol/config-data.js';
import { AnswerError } from '../../protocol/errors.js';
import { createCommand } from '../../protocol/message.js';
import type { ModuleSession } from '../../protocol/module-session.js';
import { resolveDataPath } from '../cfgmgr/store.js';
import { AXFR_HANDOFF, daemonOptions, onStopRequest, startDaemonModule, SUPERVISED_ENV, UPDATE_ANSWER, type UpdateAnswer } from '../daemon.js';
import { KeyringFollower } from '../dns/keyring.js';
import { absolute } from '../dns/name.js';
import { changesFromBus, type ZoneChange } from '../dns/zone-changes.js';
import { Zone } from '../dns/zone.js';
import { ZoneStore } from '../dns/zone-store.js';
import { createLogger } from '../log.js';
import { EXIT_FAILURE, parseArgs, parseCount, parseMilliseconds, parsePort, VERSION } from '../options.js';
import { PROJECT_ROOT } from '../paths.js';
import { XfrinZones } from '../xfrin/follow.js';
import { formatEndpoint, ListenError } from './endpoints.js';
import { rateLimitFrom, type RateLimitItems } from './rrl.js';
import { AuthServer, DEFAULT_AUTH_LIMITS, type Endpoint } from './server.js';
import { UpdateRelay } from './update-relay.js';
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
    let module: ModuleSession | undefined;
    // Under the boss, transfers go to xfrout with the client's connection itself.
    const handOff = (socket: Socket, query: Buffer): boolean => {
      if (process.env[SUPERVISED_ENV] !== '1' || !process.connected || !process.send) return false;
      process.send({ type: AXFR_HANDOFF, query: query.toString('base64') }, socket, {}, (err) => {
        if (err) log.warn({ err }, 'cannot hand a transfer to the boss');
      });
      return true;
    };
    // A NOTIFY for one of Xfrin's zones is answered here, REFUSED unless it comes from the zone's primary,
    // and passed to Xfrin when it does.
    const xfrinZones = await XfrinZones.load(log);
    const onNotify = (zone: string, from: string, key?: string): number | undefined =>
      xfrinZones.answerNotify(zone, from, () => {
        log.info({ zone, from, key }, 'NOTIFY received: passed to Xfrin');
        if (module?.session.isConnected) module.session.send('Xfrin', createCommand('notify', { zone_name: zone, master: from }));
      });
    // Under the boss, updates go to ddns and its answers come back the same way.
    const updates = new UpdateRelay((handoff) => {
      if (process.env[SUPERVISED_ENV] !== '1' || !process.connected || !process.send) return false;
      process.send(handoff, (err: Error | null) => {
        if (err) log.warn({ err }, 'cannot hand an update to the boss');
      });
      return true;
    }, log);
    process.on('message', (message: unknown) => {
      if ((message as UpdateAnswer | null)?.type === UPDATE_ANSWER) updates.settle(message as UpdateAnswer);
    });
    // The IPC listener must not keep auth alive by itself.
    process.channel?.unref();
    const server = new AuthServer(
      log,
      { tcpIdleMs: opts.tcpIdleTimeout, maxTcpConnections: opts.tcpMaxConnections },
      handOff,
      onNotify,
      (packet, query, client) => updates.forward(packet, query, client),
    );
    let store: ZoneStore;
    try {
      store = ZoneStore.open(resolveDataPath(opts.dataPath));
      for (const { name } of store.zones()) server.setZone(new Zone(name, store.iterate(name)!));
    } catch (err) {
      log.fatal(`cannot start: ${(err as Error).message}`);
      process.exit(EXIT_FAILURE);
    }
    log.info({ zones: server.zoneList() }, 'zones loaded');

    const fallback: Endpoint[] = [{ address: opts.address, port: dnsPort(opts.port) }];
    let relisten: Promise<void> = Promise.resolve();
    // DNS is served before the bus is reached, and goes on whatever the bus does.
    // Changes of address are applied one after the other, never interleaved;
    // one that cannot be made whole changes nothing (server.listen).
    const listenOn = (endpoints: Endpoint[]): Promise<void> => {
      const run = relisten.then(async () => {
        const { bound, changed } = await server.listen(endpoints);
        if (changed) log.info({ endpoints: bound }, 'auth listening');
      });
      relisten = run.catch(() => {});
      return run;
    };
    try {
      await listenOn(fallback);
    } catch (err) {
      log.fatal(`cannot start: ${(err as Error).message}`);
      process.exit(EXIT_FAILURE);
    }

    /** The zone as it is after `changes`, built from the one served when they start from its serial; else undefined. */
    const changed = (name: string, changes: ZoneChange[] | undefined): Zone | undefined => {
      let zone = server.zone(name);
      for (const change of changes ?? []) {
        if (zone?.serial !== change.from) return undefined;
        zone = zone.withChanges(change.removed, change.added);
      }
      return changes && zone;
    };

    const loadZone = (origin: string, changes: ZoneChange[] | undefined): unknown => {
      const name = absolute(origin, '.');
      let zone = changed(name, changes);
      if (zone) {
        log.debug({ zone: name, serial: zone.serial, changes: changes!.length }, 'zone changed in memory');
      } else {
        const records = store.iterate(name);
        if (!records) {
          if (!server.removeZone(name)) throw new AnswerError(1, `no zone ${name} in the store`);
          log.info({ zone: name }, 'zone dropped: no longer served');
          return { origin: name, served: false };
        }
        zone = new Zone(name, records);
        log.info({ zone: name, serial: zone.serial, records: zone.records }, 'zone loaded');
      }
      server.setZone(zone);
      // Served now: xfrout tells the secondaries.
      if (module?.session.isConnected) module.session.send('Xfrout', createCommand('zone_changed', { origin: name }));
      return { origin: name, serial: zone.serial, records: zone.records };
    };

    const stop = (reason: string): void => {
      log.info({ reason }, 'auth stopping');
      updates.close();
      void server.close().then(async () => {
        await module?.close();
        store.close();
        process.exit(0);
      });
    };
    onStopRequest(stop);
    module = await startDaemonModule({
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
          const still = server.endpoints().map(formatEndpoint).join(', ');
          if (module === undefined) {
            // The stored configuration, at start: its address may not be up yet. DNS on the
            // default address beats none, and a refusal here would end auth (and the boss restarts it, in vain).
            log.error({ reason: err.message, endpoints: server.endpoints() }, `stored listen_on cannot be bound: answering on ${still} until Auth/listen_on is set again`);
          } else {
            log.warn({ reason: err.message, endpoints: server.endpoints() }, 'listen_on refused: answering where it did');
            throw new AnswerError(1, `listen_on: ${err.message}; still answering on ${still}`);
          }
        }
        server.setRateLimit(rateLimitFrom((config.rate_limit as RateLimitItems | undefined) ?? {}));
      },
      onCommand: (name, args) => {
        switch (name) {
          case 'loadzone':
            return loadZone(String(args.origin), changesFromBus(args.changes));
          case 'zones':
            return zoneRows(store, new Map(server.zoneList().map((z) => [z.origin, z.serial])));
          case 'zone_records':
            return zoneRecords(store, String(args.origin), typeof args.search === 'string' ? args.search : '', typeof args.limit === 'number' ? args.limit : DEFAULT_RECORDS);
          case 'zone_load': {
            const loaded = zoneLoad(store, String(args.origin), String(args.text));
            loadZone(loaded.origin, undefined);
            return loaded;
          }
          case 'zone_drop': {
            const origin = zoneDrop(store, String(args.origin));
            if (server.removeZone(origin)) log.info({ zone: origin }, 'zone dropped: no longer served');
            return { origin, dropped: true };
          }
          case 'getstats':
            return server.counters.snapshot();
          default:
            throw new AnswerError(1, `Unknown command: ${name}`);
        }
      },
    });
    KeyringFollower.follow(module, log, (keyring) => (server.keyring = keyring));
    await xfrinZones.follow(module);
    // A zone stored between auth's read of the store and its joining the bus (xfrin's first transfer, say)
    // was announced to nobody: each stored zone not served as it is stored now is loaded.
    const served = new Map(server.zoneList().map((z) => [z.origin, z.serial]));
    for (const { name, serial } of store.zones()) {
      if (served.get(name) === serial) continue;
      try {
        loadZone(name, undefined);
      } catch (err) {
        log.warn({ zone: name, err: (err as Error).message }, 'zone stored while auth started not loaded');
      }
    }
  });

process.exitCode = (await parseArgs(program, process.argv)) ?? process.exitCode;
