#!/usr/bin/env node
import path from 'node:path';
import { Command } from 'commander';
import type { Config } from '../../protocol/config-data.js';
import { AnswerError } from '../../protocol/errors.js';
import type { ModuleSession } from '../../protocol/module-session.js';
import { resolveDataPath } from '../cfgmgr/store.js';
import { daemonOptions, onStopRequest, startDaemonModule } from '../daemon.js';
import { axfrFrom, serialNewer, soaSerial, type Primary } from '../dns/axfr-client.js';
import { checkZone } from '../dns/master-file.js';
import { absolute } from '../dns/name.js';
import { ZoneStore } from '../dns/zone-store.js';
import { createLogger } from '../log.js';
import { parseArgs, VERSION } from '../options.js';
import { PROJECT_ROOT } from '../paths.js';

const XFRIN_SPEC = path.join(PROJECT_ROOT, 'src/xfrin/xfrin.spec');
/** Refresh timers are capped so a huge SOA refresh cannot overflow a timer. */
const MAX_TIMER_S = 86_400;

interface Opts {
  dataPath?: string;
  msgqPort?: number;
  verbose: boolean;
}

interface SecondaryZone {
  name: string;
  primary: Primary;
}

const program = daemonOptions(
  new Command('b10-xfrin')
    .description('The b10 zone transfer client: keeps secondary zones in the store up to date from their primaries.')
    .version(VERSION),
).action(async (opts: Opts) => {
    const log = createLogger('xfrin', { verbose: opts.verbose });
    const dataPath = resolveDataPath(opts.dataPath);
    let zones = new Map<string, SecondaryZone>();
    const timers = new Map<string, NodeJS.Timeout>();
    let module: ModuleSession | undefined;

    const storedSerial = (name: string): number | undefined => {
      const store = ZoneStore.open(dataPath);
      try {
        const soa = store.soa(name);
        return soa ? Number(soa.rdata.split(' ')[2]) : undefined;
      } finally {
        store.close();
      }
    };

    /** Transfers the zone and makes auth serve it; the old zone stays when anything goes wrong. */
    const transfer = async (name: string, primary: Primary): Promise<{ zone: string; serial: number; records: number }> => {
      const records = checkZone(await axfrFrom(primary, name), name, `AXFR from ${primary.address}#${primary.port}`);
      const store = ZoneStore.open(dataPath);
      try {
        store.replaceZone(name, records);
      } finally {
        store.close();
      }
      const serial = Number(records.find((r) => r.type === 6)!.rdata.split(' ')[2]);
      log.info({ zone: name, serial, records: records.length, primary }, 'zone transferred');
      try {
        await module?.session.command('Auth', 'loadzone', { origin: name });
      } catch (err) {
        log.warn({ zone: name, err: (err as Error).message }, 'auth was not told of the new zone: it reads it when it starts');
      }
      return { zone: name, serial, records: records.length };
    };

    /** RFC 1996: the serial first; transfer only when the primary's is newer (or there is none here). */
    const refresh = async (name: string): Promise<{ zone: string; serial: number; transferred: boolean }> => {
      const zone = zones.get(name);
      if (!zone) throw new AnswerError(1, `${name} is not a zone of Xfrin's configuration`);
      try {
        const theirs = await soaSerial(zone.primary, name);
        const ours = storedSerial(name);
        if (ours !== undefined && !serialNewer(theirs, ours)) {
          schedule(name, 'refresh');
          return { zone: name, serial: ours, transferred: false };
        }
        const done = await transfer(name, zone.primary);
        schedule(name, 'refresh');
        return { zone: name, serial: done.serial, transferred: true };
      } catch (err) {
        log.warn({ zone: name, err: (err as Error).message }, 'refresh failed: the stored zone stays served');
        schedule(name, 'retry');
        throw new AnswerError(1, (err as Error).message);
      }
    };

    /** The SOA's refresh (or retry) timer: the next refresh on our own. */
    const schedule = (name: string, which: 'refresh' | 'retry'): void => {
      clearTimeout(timers.get(name));
      const store = ZoneStore.open(dataPath);
      let seconds = 300;
      try {
        const soa = store.soa(name);
        if (soa) seconds = Number(soa.rdata.split(' ')[which === 'refresh' ? 3 : 4]);
      } finally {
        store.close();
      }
      const timer = setTimeout(() => void refresh(name).catch(() => {}), Math.min(seconds, MAX_TIMER_S) * 1000);
      timer.unref();
      timers.set(name, timer);
    };

    const zoneArg = (text: unknown): string => absolute(String(text), '.');

    const stop = (reason: string): void => {
      log.info({ reason }, 'xfrin stopping');
      for (const timer of timers.values()) clearTimeout(timer);
      void (module?.close() ?? Promise.resolve()).then(() => process.exit(0));
    };
    onStopRequest(stop);
    module = await startDaemonModule({
      spec: XFRIN_SPEC,
      msgqPort: opts.msgqPort,
      stop,
      log,
      onConfig: (config: Config) => {
        const next = new Map<string, SecondaryZone>();
        for (const z of (config.zones as { name: string; master_addr: string; master_port: number }[]) ?? []) {
          const name = zoneArg(z.name);
          next.set(name, { name, primary: { address: z.master_addr, port: z.master_port } });
        }
        zones = next;
        for (const name of zones.keys()) if (!timers.has(name)) setImmediate(() => void refresh(name).catch(() => {}));
      },
      onCommand: async (name, args) => {
        switch (name) {
          case 'retransfer': {
            const zone = zoneArg(args.zone_name);
            const configured = zones.get(zone)?.primary;
            const address = (args.master as string | undefined) ?? configured?.address;
            if (!address) throw new AnswerError(1, `${zone}: no primary configured or given`);
            const primary = { address, port: (args.port as number | undefined) ?? configured?.port ?? 53 };
            try {
              return await transfer(zone, primary);
            } catch (err) {
              log.warn({ zone, err: (err as Error).message }, 'transfer failed: the stored zone stays served');
              throw new AnswerError(1, (err as Error).message);
            }
          }
          case 'refresh':
            return refresh(zoneArg(args.zone_name));
          case 'notify': {
            const zone = zoneArg(args.zone_name);
            if (!zones.has(zone)) return { zone, ignored: 'not a zone of Xfrin\'s configuration' };
            log.info({ zone, from: args.master }, 'NOTIFY: refreshing');
            void refresh(zone).catch(() => {});
            return { zone, refreshing: true };
          }
          default:
            throw new AnswerError(1, `Unknown command: ${name}`);
        }
      },
    });
    log.info('xfrin ready');
  });

process.exitCode = (await parseArgs(program, process.argv)) ?? process.exitCode;
