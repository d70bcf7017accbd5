import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { AnswerError, AuthError, ConnectionError, NoRecipientError, TimeoutError } from '../../protocol/errors.js';
import { resolveDataPath } from '../cfgmgr/store.js';
import { formatRecord } from '../dns/master-file.js';
import { readZoneFile, zoneName } from '../dns/zone-load.js';
import { announceZoneLoaded } from '../dns/zone-events.js';
import { DEFAULT_MAX_JOURNAL_RECORDS, ZONE_DB, ZoneStore } from '../dns/zone-store.js';
import { connect, withBusOptions, type BusOptions } from './common.js';

/** The group auth answers on, and the command that has it take a zone from the store again. */
const AUTH = 'Auth';
const LOADZONE = 'loadzone';
/** How long `zone load` and `zone drop` wait for auth to say it has taken the change, at the least. */
const TELL_AUTH_MS = 2000;
/**
 * What auth may take per record to build a loaded zone (on a busy machine, every worker at once): a
 * 1,000,000-record zone takes auth several seconds, and a fixed wait would report it unconfirmed.
 */
const TELL_AUTH_MS_PER_RECORD = 0.02;

/** How long to wait for auth to confirm a zone of `records` records: the user's --timeout, or more for a big zone. */
export function tellAuthWait(records: number, timeout: number): number {
  return Math.max(timeout, TELL_AUTH_MS, Math.ceil(TELL_AUTH_MS + records * TELL_AUTH_MS_PER_RECORD));
}

interface ZoneOpts extends BusOptions {
  dataPath?: string;
  maxJournalRecords?: number;
}

function withStore<T>(opts: ZoneOpts, body: (store: ZoneStore) => T): T {
  return using(ZoneStore.open(resolveDataPath(opts.dataPath), { maxJournalRecords: opts.maxJournalRecords }), body);
}

function journalBound(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('a whole number of records, 0 or more');
  return n;
}

/**
 * The store as it is, to read or to drop from: nothing is created. A data
 * path that is not there (a typo in -d, say) is an error naming it; one
 * without a store holds no zones.
 */
function withExistingStore<T>(opts: ZoneOpts, access: { readonly: boolean }, body: (store: ZoneStore) => T, none: T): T {
  const dataPath = resolveDataPath(opts.dataPath);
  if (!statSync(dataPath, { throwIfNoEntry: false })?.isDirectory()) throw new AnswerError(1, `no data path ${dataPath}: no such directory (-d, else B10_DATA_PATH)`);
  if (!existsSync(path.join(dataPath, ZONE_DB))) return none;
  return using(ZoneStore.open(dataPath, { ...access, create: false }), body);
}

function using<T>(store: ZoneStore, body: (store: ZoneStore) => T): T {
  try {
    return body(store);
  } finally {
    store.close();
  }
}

/** What `zone load` and `zone drop` say of telling auth (loadzone: serve the zone as the store has it). */
interface Telling {
  done: string;
  /** What auth does about the zone when it next starts. */
  atStart: string;
  /** Said when auth does not answer in time. */
  unconfirmed: string;
  /** Said when auth refuses: it does so only for a zone it neither has in the store nor serves, the end a drop wants. */
  refused?: string;
  /** Auth serving the zone anew is announced (cc_zones): a load, not a drop. */
  announce?: boolean;
}

const LOADED = (origin: string, waitMs: number): Telling => ({
  done: `auth serves ${origin} as loaded`,
  atStart: `it serves ${origin} when it starts`,
  unconfirmed: `auth did not confirm ${origin} within ${waitMs} ms: it is stored, and auth reads it on restart`,
  announce: true,
});
const DROPPED = (origin: string, waitMs: number): Telling => ({
  done: `auth no longer serves ${origin}`,
  atStart: `it does not serve ${origin} when it starts`,
  unconfirmed: `auth did not confirm dropping ${origin} within ${waitMs} ms: it is gone from the store, and auth stops serving it on restart`,
  refused: `auth did not serve ${origin}`,
});

/** Asks a running auth to serve the zone as now stored (or no longer, when dropped); says on stderr when there is none to ask. */
async function tellAuth(origin: string, opts: ZoneOpts, waitMs: number, telling: Telling): Promise<void> {
  try {
    const session = await connect({ ...opts, timeout: TELL_AUTH_MS });
    try {
      await session.command(AUTH, LOADZONE, { origin }, { timeout: waitMs });
      if (telling.announce) announceZoneLoaded(session, origin, 'load');
      process.stderr.write(`b10: ${telling.done}\n`);
    } finally {
      await session.close();
    }
  } catch (err) {
    if (err instanceof AnswerError && telling.refused) {
      process.stderr.write(`b10: ${telling.refused} (${err.text})\n`);
    } else if (err instanceof NoRecipientError) {
      process.stderr.write(`b10: auth is not running: ${telling.atStart}\n`);
    } else if (err instanceof ConnectionError || err instanceof AuthError) {
      process.stderr.write(`b10: could not tell auth (${err.message}): ${telling.atStart}\n`);
    } else if (err instanceof TimeoutError) {
      process.stderr.write(`b10: ${telling.unconfirmed}\n`);
    } else {
      throw err;
    }
  }
}

function dataPathOption(command: Command): Command {
  return command.option('-d, --data-path <dir>', 'where the zone store lives (default: B10_DATA_PATH, else ./b10)');
}

function loadCommand(): Command {
  return withBusOptions(
    dataPathOption(
      new Command('load')
        .description('load a zone from an RFC 1035 master file into the zone store, replacing it whole (the change journaled when the serial went up), and tell auth')
        .argument('<zone>', 'the zone\'s origin, e.g. example.org')
        .argument('<file>', 'the master file')
        .option('--no-notify', 'do not tell a running auth (it reads the store when it starts)')
        .option('--if-missing', 'load only when the store has no such zone yet (keeps one loaded or transferred since)', false)
        .option('--max-journal-records <n>', `records the zone's journal keeps at most, oldest changes dropped first (default ${DEFAULT_MAX_JOURNAL_RECORDS})`, journalBound),
    ),
  ).action(async (zone: string, file: string, opts: ZoneOpts & { notify: boolean; ifMissing: boolean }) => {
    const origin = zoneName(zone);
    const records = readZoneFile(file, origin, (warning) => process.stderr.write(`b10: ${warning}\n`));
    const loaded = withStore(opts, (store) => {
      if (opts.ifMissing && store.zones().some((z) => z.name === origin)) return false;
      store.replaceZone(origin, records);
      return true;
    });
    if (!loaded) {
      process.stdout.write(`${origin}: already in the store, left as it is\n`);
      return;
    }
    process.stdout.write(`${origin}: ${records.length} records loaded\n`);
    const waitMs = tellAuthWait(records.length, opts.timeout);
    if (opts.notify) await tellAuth(origin, opts, waitMs, LOADED(origin, waitMs));
  });
}

function listCommand(): Command {
  return dataPathOption(new Command('list').description('list the zones in the store: name, serial, records, when loaded'))
    .option('--json', 'print the zones as JSON', false)
    .action((opts: ZoneOpts & { json: boolean }) => {
      const zones = withExistingStore(opts, { readonly: true }, (store) => store.zones(), []);
      if (opts.json) process.stdout.write(`${JSON.stringify(zones)}\n`);
      else for (const z of zones) process.stdout.write(`${z.name}\t${z.serial}\t${z.records}\t${z.loadedAt}\n`);
    });
}

function showCommand(): Command {
  return dataPathOption(
    new Command('show').description('print a stored zone as master-file text, SOA first').argument('<zone>', 'the zone\'s origin'),
  ).action((zone: string, opts: ZoneOpts) => {
    const origin = zoneName(zone);
    const records = withExistingStore(opts, { readonly: true }, (store) => store.records(origin), undefined);
    if (!records) throw new AnswerError(1, `no zone ${origin} in the store`);
    process.stdout.write(`${records.map(formatRecord).join('\n')}\n`);
  });
}

function journalCommand(): Command {
  return dataPathOption(
    new Command('journal')
      .description('list the changes in a zone\'s journal, oldest first: from serial -> to serial, records removed and added, when (what IXFR can send)')
      .argument('<zone>', 'the zone\'s origin'),
  )
    .option('--json', 'print the changes as JSON', false)
    .action((zone: string, opts: ZoneOpts & { json: boolean }) => {
      const origin = zoneName(zone);
      const changes = withExistingStore(opts, { readonly: true }, (store) => store.journal(origin), undefined);
      if (!changes) throw new AnswerError(1, `no zone ${origin} in the store`);
      if (opts.json) process.stdout.write(`${JSON.stringify(changes)}\n`);
      else for (const c of changes) process.stdout.write(`${c.from} -> ${c.to}\t-${c.removed} +${c.added}\t${c.at}\n`);
    });
}

function dropCommand(): Command {
  return withBusOptions(
    dataPathOption(
      new Command('drop')
        .description('remove a zone from the store, and tell auth to stop serving it')
        .argument('<zone>', 'the zone\'s origin')
        .option('--no-notify', 'do not tell a running auth (it reads the store when it starts)'),
    ),
  ).action(async (zone: string, opts: ZoneOpts & { notify: boolean }) => {
    const origin = zoneName(zone);
    if (!withExistingStore(opts, { readonly: false }, (store) => store.dropZone(origin), false)) throw new AnswerError(1, `no zone ${origin} in the store`);
    process.stdout.write(`${origin}: dropped\n`);
    const waitMs = tellAuthWait(0, opts.timeout);
    if (opts.notify) await tellAuth(origin, opts, waitMs, DROPPED(origin, waitMs));
  });
}

export function zoneCommand(): Command {
  return new Command('zone')
    .description('manage the zone store that auth serves from: load master files, list, show, journal, drop')
    .addCommand(loadCommand())
    .addCommand(listCommand())
    .addCommand(showCommand())
    .addCommand(journalCommand())
    .addCommand(dropCommand());
}
