import { Command } from 'commander';
import { AnswerError, AuthError, ConnectionError, NoRecipientError, TimeoutError } from '../../protocol/errors.js';
import { resolveDataPath } from '../cfgmgr/store.js';
import { formatRecord, parseMasterFile } from '../dns/master-file.js';
import { absolute, NameError } from '../dns/name.js';
import { ZoneStore } from '../dns/zone-store.js';
import { connect, withBusOptions, type BusOptions } from './common.js';

/** The group auth answers on, and the command that has it take a zone from the store again. */
const AUTH = 'Auth';
const LOADZONE = 'loadzone';
/** How long `zone load` waits for auth to say it has the zone. */
const TELL_AUTH_MS = 2000;

interface ZoneOpts extends BusOptions {
  dataPath?: string;
}

function zoneName(text: string): string {
  try {
    return absolute(text, '.');
  } catch (err) {
    if (err instanceof NameError) throw new AnswerError(1, `bad zone name: ${err.message}`);
    throw err;
  }
}

function withStore<T>(opts: ZoneOpts, body: (store: ZoneStore) => T): T {
  const store = ZoneStore.open(resolveDataPath(opts.dataPath));
  try {
    return body(store);
  } finally {
    store.close();
  }
}

/** Asks a running auth to serve the zone as now stored; says on stderr when there is none to ask. */
async function tellAuth(origin: string, opts: ZoneOpts): Promise<void> {
  try {
    const session = await connect({ ...opts, timeout: TELL_AUTH_MS });
    try {
      await session.command(AUTH, LOADZONE, { origin });
      process.stderr.write(`b10: auth serves ${origin} as loaded\n`);
    } finally {
      await session.close();
    }
  } catch (err) {
    if (err instanceof NoRecipientError) {
      process.stderr.write(`b10: auth is not running: it serves ${origin} when it starts\n`);
    } else if (err instanceof ConnectionError || err instanceof AuthError) {
      process.stderr.write(`b10: could not tell auth (${err.message}): it serves ${origin} when it starts\n`);
    } else if (err instanceof TimeoutError) {
      process.stderr.write(`b10: auth did not confirm ${origin} within ${TELL_AUTH_MS} ms: it is stored, and auth reads it on restart\n`);
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
        .description('load a zone from an RFC 1035 master file into the zone store, replacing it whole, and tell auth')
        .argument('<zone>', 'the zone\'s origin, e.g. example.org')
        .argument('<file>', 'the master file')
        .option('--no-notify', 'do not tell a running auth (it reads the store when it starts)'),
    ),
  ).action(async (zone: string, file: string, opts: ZoneOpts & { notify: boolean }) => {
    const origin = zoneName(zone);
    // Parsed in full before the store is touched: a bad file loads nothing.
    const records = parseMasterFile(file, origin);
    withStore(opts, (store) => store.replaceZone(origin, records));
    process.stdout.write(`${origin}: ${records.length} records loaded\n`);
    if (opts.notify) await tellAuth(origin, opts);
  });
}

function listCommand(): Command {
  return dataPathOption(new Command('list').description('list the zones in the store: name, serial, records, when loaded'))
    .option('--json', 'print the zones as JSON', false)
    .action((opts: ZoneOpts & { json: boolean }) => {
      const zones = withStore(opts, (store) => store.zones());
      if (opts.json) process.stdout.write(`${JSON.stringify(zones)}\n`);
      else for (const z of zones) process.stdout.write(`${z.name}\t${z.serial}\t${z.records}\t${z.loadedAt}\n`);
    });
}

function showCommand(): Command {
  return dataPathOption(
    new Command('show').description('print a stored zone as master-file text, SOA first').argument('<zone>', 'the zone\'s origin'),
  ).action((zone: string, opts: ZoneOpts) => {
    const origin = zoneName(zone);
    const records = withStore(opts, (store) => store.records(origin));
    if (!records) throw new AnswerError(1, `no zone ${origin} in the store`);
    process.stdout.write(`${records.map(formatRecord).join('\n')}\n`);
  });
}

function dropCommand(): Command {
  return dataPathOption(
    new Command('drop').description('remove a zone from the store').argument('<zone>', 'the zone\'s origin'),
  ).action((zone: string, opts: ZoneOpts) => {
    const origin = zoneName(zone);
    if (!withStore(opts, (store) => store.dropZone(origin))) throw new AnswerError(1, `no zone ${origin} in the store`);
    process.stdout.write(`${origin}: dropped\n`);
  });
}

export function zoneCommand(): Command {
  return new Command('zone')
    .description('manage the zone store that auth serves from: load master files, list, show, drop')
    .addCommand(loadCommand())
    .addCommand(listCommand())
    .addCommand(showCommand())
    .addCommand(dropCommand());
}
