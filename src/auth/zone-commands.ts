/**
 * Auth's commands on the zone store for the web console: list the zones,
 * read a zone's records, load a master file sent as text, drop a zone. Auth
 * has the store open; after a load or a drop main.ts serves the zone as
 * stored, as after `b10 zone load` and `loadzone`.
 */
import { AnswerError } from '../../protocol/errors.js';
import { formatRecord, ZoneFileError } from '../dns/master-file.js';
import { readZoneFile, zoneName } from '../dns/zone-load.js';
import { ZoneStoreError, type ZoneStore } from '../dns/zone-store.js';

/** The name a master file sent as text is known by, in its errors and warnings. */
export const SENT_FILE = '(sent)';
/** Records `zone_records` answers at most unless asked for fewer. */
export const DEFAULT_RECORDS = 200;

export interface ZoneRow {
  origin: string;
  /** The SOA serial in the store. */
  serial: number;
  records: number;
  /** When last loaded, transferred or updated (ISO 8601). */
  loaded_at: string;
  /** Whether auth answers for it as stored (a zone stored while auth could not load it is not). */
  served: boolean;
}

/** The stored zones, each with whether auth serves it at the serial stored (`served`: origin to serial). */
export function zoneRows(store: ZoneStore, served: ReadonlyMap<string, number>): ZoneRow[] {
  return store.zones().map((z) => ({ origin: z.name, serial: z.serial, records: z.records, loaded_at: z.loadedAt, served: served.get(z.name) === z.serial }));
}

/**
 * A zone's records as master-file lines, SOA first, those containing
 * `search` (any case) only, at most `limit`: `more` says the list stopped
 * there. The store is read row by row and left at the limit.
 */
export function zoneRecords(store: ZoneStore, origin: string, search: string, limit: number): { origin: string; records: string[]; more: boolean } {
  const name = zoneName(origin);
  const rows = store.iterate(name);
  if (!rows) throw new AnswerError(1, `no zone ${name} in the store`);
  const needle = search.toLowerCase();
  const records: string[] = [];
  let more = false;
  for (const row of rows) {
    const line = formatRecord(row);
    if (needle !== '' && !line.toLowerCase().includes(needle)) continue;
    if (records.length === limit) {
      more = true;
      break;
    }
    records.push(line);
  }
  return { origin: name, records, more };
}

/**
 * Stores the zone a master file sent as text holds, replacing it whole, as
 * `b10 zone load` does; nothing is stored when the text does not parse (the
 * error names the line). `$INCLUDE` is refused: the text came over the bus,
 * and must not read files of auth's host.
 */
export function zoneLoad(store: ZoneStore, origin: string, text: string): { origin: string; records: number; warnings: string[] } {
  const name = zoneName(origin);
  const warnings: string[] = [];
  const read = (file: string): string => {
    if (file !== SENT_FILE) throw new Error('not allowed in a master file sent over the bus');
    return text;
  };
  let records;
  try {
    records = readZoneFile(SENT_FILE, name, (w) => warnings.push(w), read);
    store.replaceZone(name, records);
  } catch (err) {
    if (err instanceof ZoneFileError || err instanceof ZoneStoreError) throw new AnswerError(1, err.message);
    throw err;
  }
  return { origin: name, records: records.length, warnings };
}

/** Removes a zone from the store, as `b10 zone drop` does. */
export function zoneDrop(store: ZoneStore, origin: string): string {
  const name = zoneName(origin);
  if (!store.dropZone(name)) throw new AnswerError(1, `no zone ${name} in the store`);
  return name;
}
