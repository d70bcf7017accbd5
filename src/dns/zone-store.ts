import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { ZoneRecord } from './master-file.js';
import { sortKey } from './name.js';
import { rdataOfText } from './master-file.js';
import { soaTimers } from './rdata.js';

/**
 * The zone store: one SQLite database (`zone.sqlite3` in the data path, as
 * BIND 10's default), shared by `b10 zone`, xfrin (writers) and auth
 * (reader). A zone is replaced in one transaction, so it is there whole or
 * not at all, and readers never see half of one (WAL: they read the last
 * committed state while a writer works).
 *
 * Schema: `zones` (name, serial, when loaded) and `records` (zone, owner,
 * owner with its labels reversed, TTL, type code, RDATA in uncompressed wire
 * form). The reversed owner, as BIND 10 kept it, sorts a zone's names so
 * that each follows its parent: a listing in zone order, and the tree auth
 * builds, come straight from the index. RDATA is kept as wire form, not
 * text: auth builds a zone from it with no parsing (every auth worker, at
 * every start and reload), xfrout sends it as it is, and a transferred zone
 * is stored as received; `b10 zone show` prints it as text.
 *
 * A zone's id is never used twice (`zone_ids` counts them): a reader that
 * goes through a zone in several short transactions knows, by its id still
 * being there, that it is still reading the version it began with.
 */

export const ZONE_DB = 'zone.sqlite3';
const SCHEMA_VERSION = 2;
/** Records a transfer reads from the zone at a time, each read a transaction of its own. */
export const RECORDS_PER_READ = 1000;
/** How long a checkpoint after a write waits for readers to leave the WAL, ms. */
const CHECKPOINT_WAIT_MS = 1000;
/** better-sqlite3's own wait for a lock, put back after a checkpoint, ms. */
const BUSY_WAIT_MS = 5000;

export class ZoneStoreError extends Error {
  readonly code = 'ERR_ZONE_STORE';
}

/** The zone a reader was going through was replaced or dropped meanwhile. */
export class ZoneChangedError extends ZoneStoreError {}

/** A zone as a transfer reads it: the SOA of the version it began with, then the records of that version. */
export interface ZoneReading {
  soa: ZoneRecord;
  /** The records in zone order; throws ZoneChangedError once the zone is no longer that version. */
  records: Iterable<ZoneRecord>;
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
      if (create) mkdirSync(dataPath, { recursive: true, mode: 0o700 });
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
        rdata BLOB NOT NULL
      );
      CREATE INDEX IF NOT EXISTS records_in_order ON records (zone_id, rname, type);
      CREATE TABLE IF NOT EXISTS zone_ids (last INTEGER NOT NULL);
      INSERT INTO zone_ids (last) SELECT COALESCE(MAX(id), 0) FROM zones WHERE NOT EXISTS (SELECT 1 FROM zone_ids);
    `);
    const row = this.db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
    if (row === undefined) this.db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(SCHEMA_VERSION);
    else if (row.version === 1) this.fromTextRdata();
    else this.checkVersion();
  }

  /** Version 1 kept RDATA as canonical text: each is turned into wire form, in one transaction. */
  private fromTextRdata(): void {
    const rows = this.db.prepare('SELECT id, type, rdata FROM records');
    const update = this.db.prepare('UPDATE records SET rdata = ? WHERE id = ?');
    this.db.transaction(() => {
      for (const { id, type, rdata } of rows.all() as { id: number; type: number; rdata: string }[]) {
        update.run(rdataOfText(type, rdata), id);
      }
      this.db.prepare('UPDATE schema_version SET version = ?').run(SCHEMA_VERSION);
    })();
  }

  /**
   * Replaces the zone `name` (absolute, lowercase) with `records`, in one
   * transaction, under a new id; then checkpoints the WAL.
   */
  replaceZone(name: string, records: readonly ZoneRecord[]): void {
    const soa = records.find((r) => r.type === 6 && r.name === name);
    if (!soa) throw new ZoneStoreError(`zone ${name} has no SOA at its apex`);
    const serial = soaTimers(soa.rdata).serial;
    const replace = this.db.transaction(() => {
      this.db.prepare('DELETE FROM zones WHERE name = ?').run(name);
      const { last: zoneId } = this.db.prepare('UPDATE zone_ids SET last = last + 1 RETURNING last').get() as { last: number };
      this.db.prepare('INSERT INTO zones (id, name, serial, loaded_at) VALUES (?, ?, ?, ?)').run(zoneId, name, serial, new Date().toISOString());
      const insert = this.db.prepare('INSERT INTO records (zone_id, name, rname, ttl, type, rdata) VALUES (?, ?, ?, ?, ?, ?)');
      for (const r of records) insert.run(zoneId, r.name, sortKey(r.name), r.ttl, r.type, r.rdata);
    });
    replace.immediate();
    this.checkpoint();
  }

  /**
   * Changes the zone `zone` by a difference, in one transaction: each
   * removed record must be there (ZoneStoreError, and nothing changes, when
   * one is not), `removed` holds the old SOA and `added` the new one.
   */
  applyDifference(zone: string, diff: { removed: ZoneRecord[]; added: ZoneRecord[] }): { serial: number } {
    const soa = diff.added.find((r) => r.type === 6 && r.name === zone);
    if (!soa) throw new ZoneStoreError(`a difference to ${zone} without its new SOA`);
    const serial = soaTimers(soa.rdata).serial;
    const apply = this.db.transaction(() => {
      const row = this.db.prepare('SELECT id FROM zones WHERE name = ?').get(zone) as { id: number } | undefined;
      if (!row) throw new ZoneStoreError(`no zone ${zone} in the store`);
      const remove = this.db.prepare('DELETE FROM records WHERE id = (SELECT id FROM records WHERE zone_id = ? AND rname = ? AND type = ? AND rdata = ? LIMIT 1)');
      for (const r of diff.removed) {
        if (remove.run(row.id, sortKey(r.name), r.type, r.rdata).changes === 0) throw new ZoneStoreError(`${r.name} type ${r.type}: a record to remove is not in ${zone}`);
      }
      const insert = this.db.prepare('INSERT INTO records (zone_id, name, rname, ttl, type, rdata) VALUES (?, ?, ?, ?, ?, ?)');
      for (const r of diff.added) insert.run(row.id, r.name, sortKey(r.name), r.ttl, r.type, r.rdata);
      this.db.prepare('UPDATE zones SET serial = ? WHERE id = ?').run(serial, row.id);
    });
    apply.immediate();
    return { serial };
  }

  /**
   * Copies the WAL into the database and truncates it to nothing. Without
   * this the WAL keeps the size of the largest zone ever written, and grows
   * past it while a reader stays in an old snapshot. It waits a short while
   * for readers to leave; false when some stayed (the next write tries again).
   */
  checkpoint(): boolean {
    this.db.pragma(`busy_timeout = ${CHECKPOINT_WAIT_MS}`);
    try {
      const [result] = this.db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
      return result?.busy === 0;
    } finally {
      this.db.pragma(`busy_timeout = ${BUSY_WAIT_MS}`);
    }
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
    const rows = this.iterate(name);
    return rows && [...rows];
  }

  /** The same, one row at a time: a zone is built from them without the whole list in memory at once. */
  iterate(name: string): IterableIterator<ZoneRecord> | undefined {
    const zone = this.db.prepare('SELECT id FROM zones WHERE name = ?').get(name) as { id: number } | undefined;
    if (!zone) return undefined;
    return this.db
      .prepare(
        `SELECT name, ttl, type, rdata FROM records WHERE zone_id = ?
         ORDER BY (type = 6 AND name = ?) DESC, rname, type, id`,
      )
      .iterate(zone.id, name) as IterableIterator<ZoneRecord>;
  }

  /**
   * The zone for a transfer, undefined when there is no such zone. Its
   * records come RECORDS_PER_READ at a time, in zone order, each read a
   * short transaction of its own: a large zone is never held whole, and a
   * client that reads slowly holds no transaction open (one left open keeps
   * the WAL from being checkpointed, and it grows with every write). A read
   * after the zone was replaced or dropped throws ZoneChangedError rather
   * than mix two versions.
   */
  readZone(name: string): ZoneReading | undefined {
    const head = this.db.transaction(() => {
      const zone = this.db.prepare('SELECT id FROM zones WHERE name = ?').get(name) as { id: number } | undefined;
      return zone && { id: zone.id, soa: this.soa(name)! };
    })();
    if (!head) return undefined;
    const stillThere = this.db.prepare('SELECT 1 FROM zones WHERE id = ?').pluck();
    const page = this.db.prepare(
      `SELECT name, ttl, type, rdata, rname, id FROM records
       WHERE zone_id = ? AND (rname, type, id) > (?, ?, ?) ORDER BY rname, type, id LIMIT ${RECORDS_PER_READ}`,
    );
    type Row = ZoneRecord & { rname: string; id: number };
    const read = this.db.transaction((after: [string, number, number]): Row[] => {
      if (stillThere.get(head.id) === undefined) throw new ZoneChangedError(`zone ${name} changed while it was being read`);
      return page.all(head.id, ...after) as Row[];
    });
    function* records(): Generator<ZoneRecord> {
      let after: [string, number, number] = ['', -1, -1];
      for (;;) {
        const rows = read(after);
        for (const { name: owner, ttl, type, rdata } of rows) yield { name: owner, ttl, type, rdata };
        if (rows.length < RECORDS_PER_READ) return;
        const last = rows.at(-1)!;
        after = [last.rname, last.type, last.id];
      }
    }
    return { soa: head.soa, records: records() };
  }

  /** The zone's SOA record, undefined when there is no such zone. */
  soa(name: string): ZoneRecord | undefined {
    return this.db
      .prepare('SELECT r.name, r.ttl, r.type, r.rdata FROM records r JOIN zones z ON z.id = r.zone_id WHERE z.name = ? AND r.type = 6 AND r.name = ?')
      .get(name, name) as ZoneRecord | undefined;
  }

  /** Removes a zone; false when there was none. */
  dropZone(name: string): boolean {
    const dropped = this.db.prepare('DELETE FROM zones WHERE name = ?').run(name).changes > 0;
    if (dropped) this.checkpoint();
    return dropped;
  }

  close(): void {
    this.db.close();
  }
}
