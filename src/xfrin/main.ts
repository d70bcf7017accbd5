#!/usr/bin/env node
import { isIP } from 'node:net';
import { Command } from 'commander';
import type { Config } from '../../protocol/config-data.js';
import { AnswerError } from '../../protocol/errors.js';
import type { ModuleSession } from '../../protocol/module-session.js';
import { resolveDataPath } from '../cfgmgr/store.js';
import { daemonOptions, onStopRequest, startDaemonModule } from '../daemon.js';
import { axfrStream, ixfrFrom, soaSerial, TransferError, type Primary } from '../dns/axfr-client.js';
import { differenceSize, serialNewer, type IxfrResult } from '../dns/ixfr.js';
import { KeyringFollower } from '../dns/keyring.js';
import { checkZone, ZoneChecker, type ZoneRecord } from '../dns/master-file.js';
import { absolute } from '../dns/name.js';
import { soaTimers } from '../dns/rdata.js';
import type { TsigKey } from '../dns/tsig.js';
import { announceZoneLoaded } from '../dns/zone-events.js';
import { DEFAULT_MAX_JOURNAL_RECORDS, ZoneStore, ZoneStoreError } from '../dns/zone-store.js';
import { createLogger } from '../log.js';
import { LogThrottle } from '../log-throttle.js';
import { runProgram, VERSION } from '../options.js';
import { TransferCounters } from '../stats/transfer-counters.js';
import { Coalescer, Limiter } from './scheduler.js';
import { StoreWriter } from './store-writer.js';
import { notifyVerdict, SecondaryConfigError, secondaryZones, XFRIN_SPEC, type SecondaryZone } from './secondaries.js';

/** Refresh timers are capped so a huge SOA refresh cannot overflow a timer. */
const MAX_TIMER_S = 86_400;
/** Transfers at once when the configuration does not say (named's transfers-in). */
const DEFAULT_TRANSFERS_IN = 10;
/** How long a transfer in may take when the configuration does not say (named's max-transfer-time-in), seconds. */
const DEFAULT_MAX_TRANSFER_S = 7200;

interface Opts {
  dataPath?: string;
  msgqPort?: number;
  verbose: boolean;
}

/** One refresh to run: `force` transfers whatever the serials say; `primary` is a retransfer's own master. */
interface Job {
  force: boolean;
  primary?: Primary;
}

interface Refreshed {
  zone: string;
  serial: number;
  transferred: boolean;
  /** How: IXFR (records: those removed and added) or AXFR (records: the zone's). */
  transfer?: 'IXFR' | 'AXFR';
  records?: number;
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
    const transfers = new Limiter(DEFAULT_TRANSFERS_IN);
    const refusedNotifies = new LogThrottle();
    let maxJournalRecords = DEFAULT_MAX_JOURNAL_RECORDS;
    let maxTransferMs = DEFAULT_MAX_TRANSFER_S * 1000;
    const storeWriter = new StoreWriter(dataPath);
    let module: ModuleSession | undefined;
    let startKeyring!: (follower: KeyringFollower) => void;
    const keyring = new Promise<KeyringFollower>((resolve) => (startKeyring = resolve));

    /**
     * The key a zone's exchanges are signed with, once the keyring was read
     * (the first refresh comes as the module starts); TransferError when the
     * zone names a key the keyring lacks.
     */
    const keyOf = async (name: string): Promise<TsigKey | undefined> => {
      const keyName = zones.get(name)?.tsigKey;
      if (keyName === undefined) return undefined;
      const follower = await keyring;
      await follower.loaded;
      const key = follower.current.get(keyName);
      if (!key) throw new TransferError(`${name}: its tsig_key ${keyName} is not in tsig_keys`);
      return key;
    };
    const counters = new TransferCounters();

    /**
     * Whether what a transfer of an xfrin that died left in the store (out
     * of every reader's sight) was dropped: at the first use of the store,
     * or by the store thread as it starts, before it stages anything.
     */
    let leftoversDropped = false;
    const withStore = <T>(body: (store: ZoneStore) => T): T => {
      const store = ZoneStore.open(dataPath, { maxJournalRecords });
      try {
        if (!leftoversDropped) {
          leftoversDropped = true;
          store.dropUnseen();
        }
        return body(store);
      } finally {
        store.close();
      }
    };
    /** A timer of the stored zone's SOA. */
    const soaField = (name: string, field: 'serial' | 'refresh' | 'retry'): number | undefined => {
      const soa = withStore((store) => store.soa(name));
      return soa ? soaTimers(soa.rdata)[field] : undefined;
    };

    /** Has auth serve the zone as now stored. */
    const tellAuth = async (name: string): Promise<void> => {
      try {
        await module?.session.command('Auth', 'loadzone', { origin: name });
        if (module) announceZoneLoaded(module.session, name, 'transfer');
      } catch (err) {
        log.warn({ zone: name, err: (err as Error).message }, 'auth was not told of the new zone: it reads it when it starts');
      }
    };

    /** Stores a whole zone received (by AXFR, or as an IXFR's answer), checked first. */
    const storeWhole = (name: string, received: ZoneRecord[], source: string): { serial: number; records: number } => {
      const records = checkZone(received, name, source);
      withStore((store) => store.replaceZone(name, records));
      return { serial: soaTimers(records.find((r) => r.type === 6)!.rdata).serial, records: records.length };
    };

    /**
     * IXFR as the zone's request_ixfr says, when there is a zone here to
     * start from: the differences applied in one transaction, or the whole
     * zone when the primary sends it. Undefined when AXFR is to be asked
     * instead (IXFR failed or did not apply, and the zone allows AXFR).
     */
    const tryIxfr = async (zone: SecondaryZone, primary: Primary, counted: { bytes: number }): Promise<Refreshed | undefined> => {
      const { name } = zone;
      const ours = withStore((store) => store.soa(name));
      if (zone.requestIxfr === 'no' || !ours) return undefined;
      const from = `${primary.address}#${primary.port}`;
      const giveUp = (why: string): undefined => {
        counters.count(name, 'IXFR', 'failed', 0, counted.bytes);
        if (zone.requestIxfr === 'only') throw new Error(`IXFR of ${name} from ${from}: ${why} (request_ixfr is "only": no AXFR)`);
        log.info({ zone: name, primary, why }, 'IXFR not done: asking AXFR');
        return undefined;
      };
      const key = await keyOf(name);
      let answer: IxfrResult;
      try {
        answer = await ixfrFrom(primary, name, ours, undefined, key, counted, maxTransferMs);
      } catch (err) {
        return giveUp((err as Error).message);
      }
      if (answer.kind === 'current') return { zone: name, serial: answer.serial, transferred: false };
      if (answer.kind === 'whole') {
        const stored = storeWhole(name, answer.records, `IXFR from ${from}`);
        log.info({ zone: name, serial: stored.serial, transfer: 'AXFR', asked: 'IXFR', records: stored.records, primary }, 'zone transferred');
        return { zone: name, ...stored, transferred: true, transfer: 'AXFR' };
      }
      try {
        withStore((store) => store.applyDifference(name, answer.chain));
      } catch (err) {
        if (!(err instanceof ZoneStoreError)) throw err;
        return giveUp(`the differences do not apply: ${err.message}`);
      }
      const records = differenceSize(answer.chain);
      log.info({ zone: name, serial: answer.serial, transfer: 'IXFR', changes: answer.chain.length, records, primary }, 'zone transferred');
      return { zone: name, serial: answer.serial, transferred: true, transfer: 'IXFR', records };
    };

    /**
     * Transfers the zone (IXFR unless forced or configured otherwise, else
     * AXFR) and makes auth serve it; the old zone stays when anything goes wrong.
     */
    const transfer = async (zone: SecondaryZone, primary: Primary, force: boolean): Promise<Refreshed> => {
      const { name } = zone;
      const ixfr = { bytes: 0 };
      let done = force ? undefined : await tryIxfr(zone, primary, ixfr);
      if (done?.transferred) counters.count(name, done.transfer!, 'success', done.records, ixfr.bytes);
      if (!done) {
        const axfr = { bytes: 0 };
        const began = performance.now();
        const key = await keyOf(name);
        // From now on only the store thread stages, and it drops leftovers itself when it starts.
        leftoversDropped = true;
        const staged = storeWriter.stage(name, maxJournalRecords);
        let stored: { serial: number; records: number };
        try {
          const checker = new ZoneChecker(name, `AXFR from ${primary.address}#${primary.port}`);
          await axfrStream(primary, name, (records) => staged.add(checker.takeAll(records)), { key, counted: axfr, maxMs: maxTransferMs });
          checker.finish();
          stored = await staged.commit();
        } catch (err) {
          await staged.abort().catch(() => {});
          counters.count(name, 'AXFR', 'failed', 0, axfr.bytes);
          throw err;
        }
        counters.count(name, 'AXFR', 'success', stored.records, axfr.bytes);
        // ms: from the connection to the zone stored (committed, on the disk), as named's "Transfer completed"
        // counts it. Dropping the zone it replaced, and auth's reload, follow.
        log.info({ zone: name, serial: stored.serial, transfer: 'AXFR', records: stored.records, primary, ms: Math.round(performance.now() - began) }, 'zone transferred');
        await staged.tidy().catch((err: Error) => log.warn({ zone: name, err: err.message }, 'the zone replaced is left out of sight in the store: xfrin drops it when it next starts'));
        done = { zone: name, ...stored, transferred: true, transfer: 'AXFR' };
      }
      if (done.transferred) await tellAuth(name);
      return done;
    };

    /** RFC 1996: the serial first, unless forced; transfer only when the primary's is newer (or there is none here). */
    const runRefresh = async (name: string, job: Job): Promise<Refreshed> => {
      const zone = zones.get(name);
      if (!zone) throw new AnswerError(1, `${name} is not a zone of Xfrin's configuration`);
      const primary = job.primary ?? zone.primary;
      if (!primary) throw new AnswerError(1, `${name} has no primary configured: retransfer it with a master`);
      try {
        if (!job.force) {
          const theirs = await soaSerial(primary, name, undefined, await keyOf(name));
          const ours = soaField(name, 'serial');
          if (ours !== undefined && !serialNewer(theirs, ours)) {
            schedule(name, 'refresh');
            return { zone: name, serial: ours, transferred: false };
          }
        }
        // The whole transfer holds its place, the store write included: that is when the zone is in memory.
        const done = await transfers.run(
          () => transfer(zone, primary, job.force),
          () => log.info({ zone: name, running: transfers.running, queued: transfers.queued + 1 }, 'transfer queued: transfers_in reached'),
        );
        schedule(name, 'refresh');
        return done;
      } catch (err) {
        log.warn({ zone: name, err: (err as Error).message }, `${job.force ? 'transfer' : 'refresh'} failed: the stored zone stays served`);
        schedule(name, 'retry');
        throw new AnswerError(1, (err as Error).message);
      }
    };
    const refreshes = new Coalescer<Job, Refreshed>(runRefresh, (queued, next) => ({
      force: queued.force || next.force,
      primary: next.primary ?? queued.primary,
    }));
    const refreshSoon = (name: string): void => void refreshes.request(name, { force: false }).result.catch(() => {});

    /** The SOA's refresh (or retry) timer: the next refresh on our own, for a zone with a primary. */
    const schedule = (name: string, which: 'refresh' | 'retry'): void => {
      clearTimeout(timers.get(name));
      timers.delete(name);
      if (!zones.get(name)?.primary) return;
      const seconds = soaField(name, which) ?? 300;
      const timer = setTimeout(() => refreshSoon(name), Math.min(seconds, MAX_TIMER_S) * 1000);
      timer.unref();
      timers.set(name, timer);
    };

    const configure = (config: Config): void => {
      const transfersIn = config.transfers_in as number;
      if (!Number.isInteger(transfersIn) || transfersIn < 1) throw new AnswerError(1, `transfers_in must be at least 1, not ${transfersIn}`);
      const journalBound = config.max_journal_records as number;
      if (!Number.isInteger(journalBound) || journalBound < 0) throw new AnswerError(1, `max_journal_records must be at least 0, not ${journalBound}`);
      const transferSeconds = (config.max_transfer_time_in as number | undefined) ?? DEFAULT_MAX_TRANSFER_S;
      if (!Number.isInteger(transferSeconds) || transferSeconds < 1) throw new AnswerError(1, `max_transfer_time_in must be at least 1 (seconds), not ${transferSeconds}`);
      let next: Map<string, SecondaryZone>;
      try {
        next = secondaryZones(config);
      } catch (err) {
        if (err instanceof SecondaryConfigError) throw new AnswerError(1, err.message);
        throw err;
      }
      const before = zones;
      zones = next;
      maxJournalRecords = journalBound;
      maxTransferMs = transferSeconds * 1000;
      transfers.setMax(transfersIn);
      // A zone gone, or left without a primary, has no refresh of its own any more.
      for (const name of before.keys()) {
        if (zones.get(name)?.primary) continue;
        clearTimeout(timers.get(name));
        timers.delete(name);
      }
      // A new zone, or one with another primary, is refreshed now rather than at its next timer.
      for (const [name, zone] of zones) {
        if (zone.primary && JSON.stringify(zone) !== JSON.stringify(before.get(name))) setImmediate(() => refreshSoon(name));
      }
    };

    const zoneArg = (text: unknown): string => absolute(String(text), '.');

    /** retransfer: only Xfrin's zones; a master of one's own only for a zone that has none configured. */
    const retransfer = (args: Config): Promise<Refreshed> => {
      const name = zoneArg(args.zone_name);
      const zone = zones.get(name);
      if (!zone) throw new AnswerError(1, `${name} is not a zone of Xfrin's configuration: add it to Xfrin/zones to transfer it`);
      if (args.master === undefined && args.port === undefined) {
        if (!zone.primary) throw new AnswerError(1, `${name} has no primary configured: give its master (and port)`);
        return refreshes.request(name, { force: true }).result;
      }
      if (zone.primary) {
        throw new AnswerError(
          1,
          `${name} has its primary configured (${zone.primary.address}#${zone.primary.port}): master and port are only for a zone without one; change Xfrin/zones to transfer from elsewhere`,
        );
      }
      const address = String(args.master ?? '');
      if (isIP(address) === 0) throw new AnswerError(1, `master "${address}" is not an IP address`);
      const port = (args.port as number | undefined) ?? 53;
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new AnswerError(1, `port ${port} is not a port`);
      return refreshes.request(name, { force: true, primary: { address, port } }).result;
    };

    /** A NOTIFY auth passed on: acted on only when it comes from the zone's primary, and then coalesced. */
    const notify = (args: Config): unknown => {
      const zone = zoneArg(args.zone_name);
      const from = String(args.master ?? '');
      const verdict = notifyVerdict(zones, zone, from);
      if (verdict === 'not-secondary') return { zone, rcode: 'NOTAUTH', ignored: 'not a zone of Xfrin\'s configuration' };
      if (verdict === 'refuse') {
        const held = refusedNotifies.take(`${zone} ${from}`);
        if (held !== undefined) log.warn({ zone, from, primary: zones.get(zone)?.primary, heldBack: held }, 'NOTIFY refused: not from the zone\'s primary');
        return { zone, rcode: 'REFUSED' };
      }
      const { result, requested } = refreshes.request(zone, { force: false });
      result.catch(() => {});
      log.info({ zone, from, refresh: requested }, 'NOTIFY from the primary: refresh requested');
      return { zone, rcode: 'NOERROR', refresh: requested };
    };

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
      onConfig: configure,
      onCommand: async (name, args) => {
        switch (name) {
          case 'retransfer':
            return retransfer(args);
          case 'refresh': {
            const zone = zoneArg(args.zone_name);
            if (!zones.has(zone)) throw new AnswerError(1, `${zone} is not a zone of Xfrin's configuration`);
            return refreshes.request(zone, { force: false }).result;
          }
          case 'notify':
            return notify(args);
          case 'getstats':
            return counters.snapshot();
          default:
            throw new AnswerError(1, `Unknown command: ${name}`);
        }
      },
    });
    startKeyring(KeyringFollower.follow(module, log));
    log.info('xfrin ready');
  });

runProgram(program);
