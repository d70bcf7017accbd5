import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { ZoneRecord } from './master-file.js';
import { sortKey } from './name.js';

/**
 * The zone store: one SQLite database (`zone.sqlite3` in the data path, as
 * BIND 10's default), shared by `b10 zone`, xfrin (writers) and auth
 * (reader). A zone is replaced in one transaction, so it is there whole or
 * not at all, and readers never see half of one (WAL: they read the last
 * committed state while a writer works).
 *
 * Schema: `zones` (name, serial, when loaded) and `records` (zone, owner,
 * owner with its labels reversed, TTL, type code, canonical RDATA text). The
 * reversed owner, as BIND 10 kept it, sorts a zone's names so that each
 * follows its parent: a listing in zone order, and the tree auth builds, come
 * straight from the index.
 */

export const ZONE_DB = 'zone.sqlite3';
const SCHEMA_VERSION = 1;

export class ZoneStoreError extends Error {
  readonly code = 'ERR_ZONE_STORE';
}

export interface ZoneInfo {
  name: string;
  serial: number;
  records: number;
  loadedAt: string;
}

export class ZoneStore {
  private readonly db: Database.Database;

  private constructor(
    readonly file: string,
    db: Database.Database,
  ) {
    this.db = db;
  }

  /**
   * Opens the store in `dataPath`, creating it (and the directory) if need
   * be unless `create` is false; a store opened read-only is never created.
   */
  static open(dataPath: string, options: { readonly?: boolean; create?: boolean } = {}): ZoneStore {
    const readonly = options.readonly ?? false;
    const create = !readonly && (options.create ?? true);
    const file = path.join(dataPath, ZONE_DB);
    try {
      if (create) mkdirSync(dataPath, { recursive: true });
      const db = new Database(file, { readonly, fileMustExist: !create });
      const store = new ZoneStore(file, db);
      if (readonly) store.checkVersion();
      else store.migrate();
      return store;
    } catch (err) {
      if (err instanceof ZoneStoreError) throw err;
      throw new ZoneStoreError(`${file}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** The schema version, checked: another version, or a file that is no store, is refused with a message naming the file. */
  private checkVersion(): void {
    const row = this.db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
    if (row !== undefined && row.version !== SCHEMA_VERSION) throw new ZoneStoreError(`${this.file}: schema version ${row.version}, this b10 reads ${SCHEMA_VERSION}`);
  }

  private migrate(): void {
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('foreign_keys = ON');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS zones (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        serial INTEGER NOT NULL,
        loaded_at TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS records (
        id INTEGER PRIMARY KEY,
        zone_id INTEGER NOT NULL REFERENCES zones(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        rname TEXT NOT NULL,
        ttl INTEGER NOT NULL,
        type INTEGER NOT NULL,
        rdata TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS records_in_order ON records (zone_id, rname, type);
    `);
    const row = this.db.prepare('SELECT version FROM schema_version').get();
    if (row === undefined) this.db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(SCHEMA_VERSION);
    else this.checkVersion();
  }

  /** Replaces the zone `name` (absolute, lowercase) with `records`, in one transaction. */
  replaceZone(name: string, records: readonly ZoneRecord[]): void {
    const soa = records.find((r) => r.type === 6 && r.name === name);
    if (!soa) throw new ZoneStoreError(`zone ${name} has no SOA at its apex`);
    const serial = Number(soa.rdata.split(' ')[2]);
    const replace = this.db.transaction(() => {
      this.db.prepare('DELETE FROM zones WHERE name = ?').run(name);
      const { lastInsertRowid: zoneId } = this.db
        .prepare('INSERT INTO zones (name, serial, loaded_at) VALUES (?, ?, ?)')
        .run(name, serial, new Date().toISOString());
      const insert = this.db.prepare('INSERT INTO records (zone_id, name, rname, ttl, type, rdata) VALUES (?, ?, ?, ?, ?, ?)');
      for (const r of records) insert.run(zoneId, r.name, sortKey(r.name), r.ttl, r.type, r.rdata);
    });
    replace.immediate();
  }

  zones(): ZoneInfo[] {
    return this.db
      .prepare(
        `SELECT z.name AS name, z.serial AS serial, z.loaded_at AS loadedAt, COUNT(r.id) AS records
         FROM zones z LEFT JOIN records r ON r.zone_id = z.id GROUP BY z.id ORDER BY z.name`,
      )
      .all() as ZoneInfo[];
  }

  /** The zone's records in zone order (SOA first), or undefined when there is no such zone. */
  records(name: string): ZoneRecord[] | undefined {
    const zone = this.db.prepare('SELECT id FROM zones WHERE name = ?').get(name) as { id: number } | undefined;
    if (!zone) return undefined;
    return this.db
      .prepare(
        `SELECT name, ttl, type, rdata FROM records WHERE zone_id = ?
         ORDER BY (type = 6 AND name = ?) DESC, rname, type, id`,
      )
      .all(zone.id, name) as ZoneRecord[];
  }

  /**
   * The zone's records one at a time, in zone order, straight from the
   * database (a transfer of a large zone never holds it whole); undefined
   * when there is no such zone.
   */
  iterateRecords(name: string): IterableIterator<ZoneRecord> | undefined {
    const zone = this.db.prepare('SELECT id FROM zones WHERE name = ?').get(name) as { id: number } | undefined;
    if (!zone) return undefined;
    return this.db.prepare('SELECT name, ttl, type, rdata FROM records WHERE zone_id = ? ORDER BY rname, type, id').iterate(zone.id) as IterableIterator<ZoneRecord>;
  }

  /** The zone's SOA record, undefined when there is no such zone. */
  soa(name: string): ZoneRecord | undefined {
    return this.db
      .prepare('SELECT r.name, r.ttl, r.type, r.rdata FROM records r JOIN zones z ON z.id = r.zone_id WHERE z.name = ? AND r.type = 6 AND r.name = ?')
      .get(name, name) as ZoneRecord | undefined;
  }

  /** Removes a zone; false when there was none. */
  dropZone(name: string): boolean {
    return this.db.prepare('DELETE FROM zones WHERE name = ?').run(name).changes > 0;
  }

  close(): void {
    this.db.close();
  }
}
