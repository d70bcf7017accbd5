import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { differenceSize, serialNewer, serialOf, zoneDifference, type Difference } from './ixfr.js';
import { formatRecord, type ZoneRecord } from './master-file.js';
import { sortKey } from './name.js';
import { rdataOfText } from './master-file.js';

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
 * goes through a zone in several short transactions knows, by its id and
 * serial still being there, that it is still reading the version it began
 * with.
 *
 * The journal (BIND 10's `diffs`): every change of a zone writes, in the
 * same transaction, the records it removed and added between its old and
 * new serial. `journal` has one row per change (zone by name, from and to
 * serial, counts, when), `diffs` its records (operation 0 removed, 1 added,
 * in RFC 1995 order: the old SOA first of the removed, the new SOA first of
 * the added). The changes of a zone always chain, each from the serial the
 * one before ended at: a change that does not (a serial that did not move
 * forward, a new zone) starts the journal afresh. It is bounded per zone
 * (`maxJournalRecords`, records in diffs): the oldest whole changes go first.
 */

export const ZONE_DB = 'zone.sqlite3';
const SCHEMA_VERSION = 3;
/** Records in a zone's journal at most, when the writer does not say: the oldest changes are dropped past it. */
export const DEFAULT_MAX_JOURNAL_RECORDS = 100_000;
const REMOVED = 0;
const ADDED = 1;
/** Records a transfer reads from the zone at a time, each read a transaction of its own. */
export const RECORDS_PER_READ = 1000;
/**
 * SQLite's page cache while a whole zone is written, KiB: its index takes
 * the records in the file's order, not its own, and with the default 2 MB
 * it kept reading back pages it had just let go (a 1,000,000-record zone
 * wrote 15-30% faster with this). Put back to the default afterwards.
 */
const WRITE_CACHE_KIB = 65_536;
/** Rows a zone's INSERT writes at once: 600 parameters, well under SQLite's 32,766. */
const INSERT_BATCH = 100;
/** Records a staged zone writes a transaction: one per transfer message cost 40 ms more of a 100,000-record zone. */
const STAGE_BATCH = 5000;
/** Records a difference must change for a checkpoint after it (a whole zone written is always followed by one). */
const CHECKPOINT_AFTER_RECORDS = 1000;
/** How long a checkpoint after a write waits for readers to leave the WAL, ms. */
const CHECKPOINT_WAIT_MS = 1000;
/** better-sqlite3's own wait for a lock, put back after a checkpoint, ms. */
const BUSY_WAIT_MS = 5000;

/**
 * How the name of a zone row no reader is to see begins: one being staged,
 * or one replaced and not yet dropped. No zone's name begins so (a name's
 * space is written `\\032`).
 */
const UNSEEN = ' ';
const unseenName = (zoneId: number): string => `${UNSEEN}${zoneId}`;

export class ZoneStoreError extends Error {
  readonly code = 'ERR_ZONE_STORE';
}

/** The zone a reader was going through was replaced or dropped meanwhile. */
export class ZoneChangedError extends ZoneStoreError {}

/** A zone as a transfer reads it: the SOA of the version it began with, then the records of that version. */
export interface ZoneReading {
  /** The zone's id: never given to another zone, nor to this one once replaced. */
  id: number;
  soa: ZoneRecord;
  /** The records in zone order; throws ZoneChangedError once the zone is no longer that version. */
  records: Iterable<ZoneRecord>;
}

/** One change in a zone's journal. */
export interface JournalEntry {
  from: number;
  to: number;
  removed: number;
  added: number;
  /** When it was made, ISO 8601. */
  at: string;
}

/** The differences from a serial to the zone as it is, read in one transaction. */
export interface JournalChain {
  /** The zone's SOA now, which the chain ends at. */
  soa: ZoneRecord;
  chain: Difference[];
  /** Records in the zone now, to weigh the chain against. */
  zoneRecords: number;
}

export interface ZoneInfo {
  name: string;
  serial: number;
  records: number;
  loadedAt: string;
}

export class ZoneStore {
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  /** Each zone's journal as this store last wrote it: its newest change, and its size in records. */
  private readonly journalSizes = new Map<string, { newest: number; records: number }>();

  private constructor(
    readonly file: string,
    db: Database.Database,
    /** Records a zone's journal keeps at most after a change this store writes. */
    readonly maxJournalRecords: number,
  ) {
    this.db = db;
  }

  /**
   * Opens the store in `dataPath`, creating it (and the directory) if need
   * be unless `create` is false; a store opened read-only is never created.
   */
  static open(dataPath: string, options: { readonly?: boolean; create?: boolean; maxJournalRecords?: number } = {}): ZoneStore {
    const readonly = options.readonly ?? false;
    const create = !readonly && (options.create ?? true);
    const file = path.join(dataPath, ZONE_DB);
    const maxJournalRecords = options.maxJournalRecords ?? DEFAULT_MAX_JOURNAL_RECORDS;
    if (!Number.isInteger(maxJournalRecords) || maxJournalRecords < 0) throw new ZoneStoreError(`max journal records must be a whole number, at least 0, not ${maxJournalRecords}`);
    try {
      if (create) mkdirSync(dataPath, { recursive: true, mode: 0o700 });
      const db = new Database(file, { readonly, fileMustExist: !create });
      const store = new ZoneStore(file, db, maxJournalRecords);
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
      CREATE TABLE IF NOT EXISTS journal (
        id INTEGER PRIMARY KEY,
        zone TEXT NOT NULL,
        from_serial INTEGER NOT NULL,
        to_serial INTEGER NOT NULL,
        removed INTEGER NOT NULL,
        added INTEGER NOT NULL,
        made_at TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS journal_of_zone ON journal (zone, id);
      CREATE TABLE IF NOT EXISTS diffs (
        id INTEGER PRIMARY KEY,
        change_id INTEGER NOT NULL REFERENCES journal(id) ON DELETE CASCADE,
        operation INTEGER NOT NULL,
        name TEXT NOT NULL,
        ttl INTEGER NOT NULL,
        type INTEGER NOT NULL,
        rdata BLOB NOT NULL
      );
      CREATE INDEX IF NOT EXISTS diffs_of_change ON diffs (change_id, id);
    `);
    const row = this.db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
    if (row === undefined) this.db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(SCHEMA_VERSION);
    else if (row.version === 1) this.fromTextRdata();
    // Version 2 had no journal: its tables were just made, empty; the zones stay as they are.
    else if (row.version === 2) this.db.prepare('UPDATE schema_version SET version = ?').run(SCHEMA_VERSION);
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
   * transaction, under a new id; then checkpoints the WAL. When the zone
   * was there and its serial moved forward (RFC 1982), the difference is
   * journaled in the same transaction; otherwise its journal starts afresh.
   */
  replaceZone(name: string, records: readonly ZoneRecord[]): void {
    const soa = records.find((r) => r.type === 6 && r.name === name);
    if (!soa) throw new ZoneStoreError(`zone ${name} has no SOA at its apex`);
    const serial = serialOf(soa);
    const replace = this.db.transaction(() => {
      const old = this.sql('SELECT serial FROM zones WHERE name = ?').get(name) as { serial: number } | undefined;
      const difference = old && serialNewer(serial, old.serial) ? zoneDifference(name, this.iterate(name)!, records) : undefined;
      this.sql('DELETE FROM zones WHERE name = ?').run(name);
      const zoneId = this.newZoneId();
      this.sql('INSERT INTO zones (id, name, serial, loaded_at) VALUES (?, ?, ?, ?)').run(zoneId, name, serial, new Date().toISOString());
      this.insertRecords(zoneId, records);
      this.journalWhole(name, difference);
    });
    this.writingZone(() => replace.immediate());
    this.checkpoint();
  }

  /**
   * Begins writing the zone `name` while its records arrive (a transfer):
   * see StagedZone. The store stays open for it until it is committed or
   * aborted; other writers are not held up meanwhile.
   */
  stageZone(name: string): StagedZone {
    const zoneId = this.db
      .transaction(() => {
        const id = this.newZoneId();
        this.sql('INSERT INTO zones (id, name, serial, loaded_at) VALUES (?, ?, 0, ?)').run(id, unseenName(id), new Date().toISOString());
        return id;
      })
      .immediate();
    const before = this.soa(name);
    return new StagedZone(this, name, zoneId, before && serialOf(before));
  }

  /** @internal StagedZone's: `records` written under the staged zone, in a transaction of their own that need not reach the disk. */
  stageRecords(zoneId: number, records: readonly ZoneRecord[]): void {
    this.db.pragma('synchronous = NORMAL');
    try {
      this.writingZone(() => this.db.transaction(() => this.insertRecords(zoneId, records)).immediate());
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }

  /**
   * @internal StagedZone's: the staged zone put in the place of `name` in
   * one transaction, on the disk when it ends, journaled as replaceZone
   * does (`records` are the zone's, kept when a difference was expected;
   * without them the journal starts afresh). The old zone is only renamed
   * out of sight: dropping its records is left to dropUnseen(), after.
   */
  commitStaged(name: string, zoneId: number, serial: number, records: readonly ZoneRecord[] | undefined): number | undefined {
    return this.db
      .transaction(() => {
        // Gone when another dropped it (dropUnseen() of a second xfrin starting on this store): the old zone
        // would go out of sight with nothing in its place.
        if (this.sql('SELECT 1 FROM zones WHERE id = ? AND name = ?').get(zoneId, unseenName(zoneId)) === undefined) {
          throw new ZoneStoreError(`zone ${name}: what was staged of it is no longer in the store (dropped by another writer)`);
        }
        const old = this.sql('SELECT id, serial FROM zones WHERE name = ?').get(name) as { id: number; serial: number } | undefined;
        const difference = old && records && serialNewer(serial, old.serial) ? zoneDifference(name, this.iterate(name)!, records) : undefined;
        if (old) this.sql('UPDATE zones SET name = ? WHERE id = ?').run(unseenName(old.id), old.id);
        this.sql('UPDATE zones SET name = ?, serial = ?, loaded_at = ? WHERE id = ?').run(name, serial, new Date().toISOString(), zoneId);
        this.journalWhole(name, difference);
        return old?.id;
      })
      .immediate();
  }

  /**
   * Drops zones out of sight, with their records: the zone `zoneId`, or
   * with none given every one (those a writer staged or replaced and
   * never dropped, as when it died: only for the one writer that stages, at
   * its start, as another's zone being staged now would go too). Then a
   * checkpoint, as after any whole zone written.
   */
  dropUnseen(zoneId?: number): void {
    const { changes } =
      zoneId === undefined
        ? this.sql(`DELETE FROM zones WHERE name LIKE '${UNSEEN}%'`).run()
        : this.sql('DELETE FROM zones WHERE id = ? AND name = ?').run(zoneId, unseenName(zoneId));
    if (changes > 0) this.checkpoint();
  }

  private newZoneId(): number {
    return (this.sql('UPDATE zone_ids SET last = last + 1 RETURNING last').get() as { last: number }).last;
  }

  /** A whole zone's write, with the larger page cache it wants. */
  private writingZone<T>(write: () => T): T {
    const cache = this.db.pragma('cache_size', { simple: true }) as number;
    this.db.pragma(`cache_size = -${WRITE_CACHE_KIB}`);
    try {
      return write();
    } finally {
      this.db.pragma(`cache_size = ${cache}`);
    }
  }

  /** The journal after a whole zone was written: the difference, or afresh when there is none. Inside a transaction. */
  private journalWhole(name: string, difference: Difference | undefined): void {
    if (difference) this.journalChange(name, difference);
    else this.sql('DELETE FROM journal WHERE zone = ?').run(name);
  }

  /**
   * Applies differences to the zone in order (RFC 1995's: each removes the
   * zone's SOA as it is, first of its removed, and adds the new one, first
   * of its added, and its new serial is newer, RFC 1982), all in one
   * transaction with their journal: every record removed must be in the
   * zone (its TTL aside) and every record added must not, else
   * ZoneStoreError naming it and nothing changes. The zone's serial
   * afterwards.
   */
  applyDifference(zone: string, diff: Difference | readonly Difference[]): { serial: number } {
    const chain: readonly Difference[] = Array.isArray(diff) ? diff : [diff as Difference];
    if (chain.length === 0) throw new ZoneStoreError(`zone ${zone}: no difference to apply`);
    const find = this.sql('SELECT id, ttl FROM records WHERE zone_id = ? AND rname = ? AND type = ? AND rdata = ? LIMIT 1');
    const remove = this.sql('DELETE FROM records WHERE id = ?');
    const insert = this.sql('INSERT INTO records (zone_id, name, rname, ttl, type, rdata) VALUES (?, ?, ?, ?, ?, ?)');
    const apply = this.db.transaction((): number => {
      const row = this.sql('SELECT id, serial FROM zones WHERE name = ?').get(zone) as { id: number; serial: number } | undefined;
      if (!row) throw new ZoneStoreError(`no zone ${zone} in the store`);
      let serial = row.serial;
      for (const d of chain) {
        const from = soleSoa(zone, d.removed, 'removed');
        const to = soleSoa(zone, d.added, 'added');
        if (serialOf(from) !== serial) throw new ZoneStoreError(`zone ${zone}: a difference from serial ${serialOf(from)} does not apply to serial ${serial}`);
        // The journal's changes chain by serial: one that does not move it forward would make that ambiguous.
        if (!serialNewer(serialOf(to), serial)) throw new ZoneStoreError(`zone ${zone}: a difference to serial ${serialOf(to)} does not move the serial ${serial} forward`);
        const removed: ZoneRecord[] = [];
        for (const r of d.removed) {
          const found = find.get(row.id, sortKey(r.name), r.type, r.rdata) as { id: number; ttl: number } | undefined;
          if (!found) throw new ZoneStoreError(`zone ${zone}: cannot remove ${formatRecord(r)}: not in the zone`);
          remove.run(found.id);
          removed.push({ ...r, ttl: found.ttl });
        }
        for (const r of d.added) {
          if (find.get(row.id, sortKey(r.name), r.type, r.rdata)) throw new ZoneStoreError(`zone ${zone}: cannot add ${formatRecord(r)}: already in the zone`);
          insert.run(row.id, r.name, sortKey(r.name), r.ttl, r.type, r.rdata);
        }
        serial = serialOf(to);
        this.journalChange(zone, { removed, added: d.added });
      }
      this.sql('UPDATE zones SET serial = ?, loaded_at = ? WHERE id = ?').run(serial, new Date().toISOString(), row.id);
      return serial;
    });
    const serial = apply.immediate();
    // A small change leaves the WAL to SQLite's own checkpoints (every 1,000 pages); one checkpoint per
    // update would cost more than the update.
    if (differenceSize(chain) > CHECKPOINT_AFTER_RECORDS) this.checkpoint();
    return { serial };
  }

  /**
   * Writes one change into the zone's journal, then drops its oldest changes
   * past the bound. Inside a transaction. The journal's size is kept here
   * between changes, so that a change costs no scan of the journal: it is
   * counted again only when its newest change is not the one this store
   * wrote last (another writer was there meanwhile, or it was cleared).
   */
  private journalChange(zone: string, d: Difference): void {
    const from = soleSoa(zone, d.removed, 'removed');
    const to = soleSoa(zone, d.added, 'added');
    const newest = (this.sql('SELECT MAX(id) AS id FROM journal WHERE zone = ?').get(zone) as { id: number | null }).id;
    const { id } = this.sql('INSERT INTO journal (zone, from_serial, to_serial, removed, added, made_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id').get(
      zone,
      serialOf(from),
      serialOf(to),
      d.removed.length,
      d.added.length,
      new Date().toISOString(),
    ) as { id: number };
    const insert = this.sql('INSERT INTO diffs (change_id, operation, name, ttl, type, rdata) VALUES (?, ?, ?, ?, ?, ?)');
    // The SOAs first, as IXFR sends them.
    for (const r of [from, ...d.removed.filter((x) => x !== from)]) insert.run(id, REMOVED, r.name, r.ttl, r.type, r.rdata);
    for (const r of [to, ...d.added.filter((x) => x !== to)]) insert.run(id, ADDED, r.name, r.ttl, r.type, r.rdata);
    const known = this.journalSizes.get(zone);
    let records =
      known !== undefined && known.newest === newest
        ? known.records + d.removed.length + d.added.length
        : (this.sql('SELECT COALESCE(SUM(removed + added), 0) AS n FROM journal WHERE zone = ?').get(zone) as { n: number }).n;
    const oldest = this.sql('SELECT id, removed + added AS size FROM journal WHERE zone = ? ORDER BY id LIMIT 1');
    const drop = this.sql('DELETE FROM journal WHERE id = ?');
    while (records > this.maxJournalRecords) {
      const change = oldest.get(zone) as { id: number; size: number };
      drop.run(change.id);
      records -= change.size;
    }
    this.journalSizes.set(zone, { newest: id, records });
  }

  /** Inserts a zone's records, INSERT_BATCH rows a statement (one call into SQLite per row cost more than the row). Inside a transaction. */
  private insertRecords(zoneId: number, records: readonly ZoneRecord[]): void {
    const row = '(?, ?, ?, ?, ?, ?)';
    const insert = (rows: number) => this.sql(`INSERT INTO records (zone_id, name, rname, ttl, type, rdata) VALUES ${new Array(rows).fill(row).join(', ')}`);
    const batch = insert(INSERT_BATCH);
    const values: unknown[] = [];
    // An owner's records mostly come together: its sort key is made once for them.
    let owner = '';
    let key = '';
    for (const r of records) {
      if (r.name !== owner) key = sortKey((owner = r.name));
      values.push(zoneId, r.name, key, r.ttl, r.type, r.rdata);
      if (values.length === INSERT_BATCH * 6) {
        batch.run(values);
        values.length = 0;
      }
    }
    if (values.length > 0) insert(values.length / 6).run(values);
  }

  /** A statement prepared once for this store: compiling one costs more than running it on a small change. */
  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) this.statements.set(text, (statement = this.db.prepare(text)));
    return statement;
  }

  /** The zone's journal, oldest change first; undefined when there is no such zone. */
  journal(zone: string): JournalEntry[] | undefined {
    return this.db.transaction(() => {
      if (!this.db.prepare('SELECT 1 FROM zones WHERE name = ?').get(zone)) return undefined;
      return this.db
        .prepare('SELECT from_serial AS "from", to_serial AS "to", removed, added, made_at AS at FROM journal WHERE zone = ? ORDER BY id')
        .all(zone) as JournalEntry[];
    })();
  }

  /**
   * The differences from serial `from` to the zone as it is now, from the
   * journal, read in one transaction (bounded by the journal's bound);
   * undefined when there is no such zone or the journal does not reach back
   * to `from`. An empty chain when `from` is the zone's serial.
   */
  differences(zone: string, from: number): JournalChain | undefined {
    return this.db.transaction((): JournalChain | undefined => {
      const row = this.db.prepare('SELECT id, serial FROM zones WHERE name = ?').get(zone) as { id: number; serial: number } | undefined;
      if (!row) return undefined;
      const soa = this.soa(zone)!;
      const zoneRecords = (this.db.prepare('SELECT COUNT(*) AS n FROM records WHERE zone_id = ?').get(row.id) as { n: number }).n;
      if (from === row.serial) return { soa, chain: [], zoneRecords };
      const changes = this.db.prepare('SELECT id, from_serial AS "from", to_serial AS "to" FROM journal WHERE zone = ? ORDER BY id').all(zone) as { id: number; from: number; to: number }[];
      const start = changes.findLastIndex((c) => c.from === from);
      if (start < 0 || changes.at(-1)!.to !== row.serial) return undefined;
      const read = this.db.prepare('SELECT operation, name, ttl, type, rdata FROM diffs WHERE change_id = ? ORDER BY id');
      const chain = changes.slice(start).map((c): Difference => {
        const d: Difference = { removed: [], added: [] };
        for (const { operation, ...r } of read.all(c.id) as (ZoneRecord & { operation: number })[]) (operation === REMOVED ? d.removed : d.added).push(r);
        return d;
      });
      return { soa, chain, zoneRecords };
    })();
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
         FROM zones z LEFT JOIN records r ON r.zone_id = z.id WHERE z.name NOT LIKE '${UNSEEN}%' GROUP BY z.id ORDER BY z.name`,
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
    const stillThere = this.db.prepare('SELECT 1 FROM zones WHERE id = ? AND serial = ?').pluck();
    // Rows as arrays: no object made per row only to be taken apart.
    const page = this.db
      .prepare(
        `SELECT name, ttl, type, rdata, rname, id FROM records
         WHERE zone_id = ? AND (rname, type, id) > (?, ?, ?) ORDER BY rname, type, id LIMIT ${RECORDS_PER_READ}`,
      )
      .raw();
    type Row = [string, number, number, Buffer, string, number];
    const read = this.db.transaction((after: [string, number, number]): Row[] => {
      if (stillThere.get(head.id, serialOf(head.soa)) === undefined) throw new ZoneChangedError(`zone ${name} changed while it was being read`);
      return page.all(head.id, ...after) as Row[];
    });
    function* records(): Generator<ZoneRecord> {
      let after: [string, number, number] = ['', -1, -1];
      for (;;) {
        const rows = read(after);
        for (const [owner, ttl, type, rdata] of rows) yield { name: owner, ttl, type, rdata };
        if (rows.length < RECORDS_PER_READ) return;
        const last = rows.at(-1)!;
        after = [last[4], last[2], last[5]];
      }
    }
    return { id: head.id, soa: head.soa, records: records() };
  }

  /** The zone's SOA record, undefined when there is no such zone. */
  soa(name: string): ZoneRecord | undefined {
    return this.db
      .prepare('SELECT r.name, r.ttl, r.type, r.rdata FROM records r JOIN zones z ON z.id = r.zone_id WHERE z.name = ? AND r.type = 6 AND r.name = ?')
      .get(name, name) as ZoneRecord | undefined;
  }

  /** Removes a zone and its journal; false when there was none. */
  dropZone(name: string): boolean {
    const dropped = this.db.transaction(() => {
      this.db.prepare('DELETE FROM journal WHERE zone = ?').run(name);
      return this.db.prepare('DELETE FROM zones WHERE name = ?').run(name).changes > 0;
    })();
    if (dropped) this.checkpoint();
    return dropped;
  }

  close(): void {
    this.db.close();
  }
}

/** The one SOA of the zone among a difference's records, RFC 1995's first; ZoneStoreError when there is not exactly one. */
function soleSoa(zone: string, records: readonly ZoneRecord[], which: string): ZoneRecord {
  const soas = records.filter((r) => r.type === 6 && r.name === zone);
  if (soas.length !== 1) throw new ZoneStoreError(`zone ${zone}: a difference has ${soas.length} SOA records ${which}, not 1`);
  return soas[0]!;
}

/**
 * A zone written while its records arrive, as xfrin receives a transfer.
 * Each add() is a short transaction of its own, under a zone id that no
 * name leads to, so readers never see it and other writers wait for no
 * more than one batch; commit() then puts it in the zone's place in one
 * short transaction (the zone is there whole, or the old one stays), and
 * abort() drops it. A writer that died in between leaves it out of sight
 * for dropUnseen().
 */
export class StagedZone {
  private serial: number | undefined;
  /** The zone's records, kept only when the journal will want its difference from the zone there before. */
  private kept: ZoneRecord[] | undefined;
  /** Records added and not yet written: they go STAGE_BATCH at a time. */
  private waiting: ZoneRecord[] = [];
  private count = 0;
  private ended = false;
  /** The id of the zone commit() replaced, until tidy() drops it. */
  private replaced: number | undefined;

  constructor(
    private readonly store: ZoneStore,
    readonly name: string,
    /** The staged zone's row: dropUnseen(zoneId) drops it. */
    readonly zoneId: number,
    /** The serial of the zone there when this began, if there was one. */
    private readonly before: number | undefined,
  ) {}

  /** The next records of the zone, in the order it came, its SOA first. */
  add(records: readonly ZoneRecord[]): void {
    this.stillOpen();
    if (records.length === 0) return;
    if (this.serial === undefined) {
      const soa = records[0]!;
      if (soa.type !== 6 || soa.name !== this.name) throw new ZoneStoreError(`zone ${this.name}: a staged zone begins with its SOA`);
      this.serial = serialOf(soa);
      if (this.before !== undefined && serialNewer(this.serial, this.before)) this.kept = [];
    }
    if (this.kept) for (const r of records) this.kept.push(r);
    for (const r of records) this.waiting.push(r);
    this.count += records.length;
    if (this.waiting.length >= STAGE_BATCH) this.flush();
  }

  private stillOpen(): void {
    if (this.ended) throw new ZoneStoreError(`zone ${this.name}: the staged zone was already committed or aborted`);
  }

  private flush(): void {
    if (this.waiting.length === 0) return;
    this.store.stageRecords(this.zoneId, this.waiting);
    this.waiting = [];
  }

  /**
   * The zone in its place, on the disk; its serial and how many records.
   * The zone it replaced stays out of sight until tidy().
   */
  commit(): { serial: number; records: number } {
    if (this.serial === undefined) throw new ZoneStoreError(`zone ${this.name}: nothing staged`);
    this.stillOpen();
    this.flush();
    this.replaced = this.store.commitStaged(this.name, this.zoneId, this.serial, this.kept);
    this.ended = true;
    this.kept = undefined;
    return { serial: this.serial, records: this.count };
  }

  /** After commit(): drops the zone it replaced, and checkpoints as after any whole zone written. */
  tidy(): void {
    if (this.replaced !== undefined) this.store.dropUnseen(this.replaced);
    else this.store.checkpoint();
    this.replaced = undefined;
  }

  /** Drops what was staged; the zone there stays as it is. */
  abort(): void {
    if (this.ended) return;
    this.ended = true;
    this.kept = undefined;
    this.waiting = [];
    this.store.dropUnseen(this.zoneId);
  }
}
