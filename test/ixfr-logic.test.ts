import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { transferMessages } from '../src/dns/axfr.js';
import { IxfrFormatError, IxfrReader, ixfrSequence, serialOf, zoneDifference, type Difference } from '../src/dns/ixfr.js';
import { formatRecord, rdataOfText, type ZoneRecord } from '../src/dns/master-file.js';
import { encodeQuery, parseQuery, type Query } from '../src/dns/message.js';
import { MessageWriter } from '../src/dns/message-writer.js';
import { nameToWire } from '../src/dns/name.js';
import { readResponse } from '../src/dns/response.js';
import { ZONE_DB, ZoneStore, ZoneStoreError } from '../src/dns/zone-store.js';
import { ixfrClientSerial } from '../src/xfrout/transfer.js';
import { tempDir } from './helpers/tmp.js';

const Z = 'j.test.';
const rr = (name: string, type: number, text: string, ttl = 60): ZoneRecord => ({ name, ttl, type, rdata: rdataOfText(type, text) });
const soa = (serial: number): ZoneRecord => rr(Z, 6, `ns.${Z} h.${Z} ${serial} 2 3 4 5`);
const a = (host: string, ip: string, ttl = 60): ZoneRecord => rr(`${host}.${Z}`, 1, ip, ttl);
const ns = rr(Z, 2, `ns.${Z}`);
const text = (records: readonly ZoneRecord[]): string[] => records.map(formatRecord);
/** A parsed IXFR query for the zone from `ours`, as a client sends it. */
function ixfrQuery(ours: ZoneRecord): Query {
  const w = new MessageWriter(7, 0);
  w.questionOf(nameToWire(Z), 251);
  w.record('authority', nameToWire(Z), 6, ours.ttl, ours.rdata);
  const parsed = parseQuery(w.finish());
  if (parsed.kind !== 'query') throw new Error(parsed.kind);
  return parsed.query;
}
const zone = (serial: number, ...more: ZoneRecord[]): ZoneRecord[] => [soa(serial), ns, a('ns', '192.0.2.1'), ...more];

describe('IXFR: differences and the reading of answers (pure)', () => {
  it('zone_difference: only what changed, a TTL change as removal and addition, the SOAs first', () => {
    const before = zone(1, a('www', '192.0.2.10'), a('old', '192.0.2.20'), a('ttl', '192.0.2.30', 60));
    const after = zone(2, a('www', '192.0.2.10'), a('new', '192.0.2.40'), a('ttl', '192.0.2.30', 120));
    const d = zoneDifference(Z, before, after);
    expect(text(d.removed)).toEqual(text([soa(1), a('old', '192.0.2.20'), a('ttl', '192.0.2.30', 60)]));
    expect(text(d.added)).toEqual(text([soa(2), a('new', '192.0.2.40'), a('ttl', '192.0.2.30', 120)]));
    // Nothing but the serial changed: the SOAs alone.
    expect(text(zoneDifference(Z, zone(2), zone(3)).removed)).toEqual(text([soa(2)]));
  });

  it('ixfr_reader: a chain of two differences read back from the sequence xfrout sends, across messages', () => {
    const chain: Difference[] = [
      { removed: [soa(1), a('www', '192.0.2.10')], added: [soa(2), a('www', '192.0.2.11')] },
      { removed: [soa(2)], added: [soa(3), a('more', '192.0.2.12')] },
    ];
    const reader = new IxfrReader(Z, 1);
    for (const r of ixfrSequence(soa(3), chain)) reader.push(r);
    expect(reader.result?.kind).toBe('incremental');
    const result = reader.result as { serial: number; chain: Difference[] };
    expect(result.serial).toBe(3);
    expect(result.chain.map((d) => [text(d.removed), text(d.added)])).toEqual(chain.map((d) => [text(d.removed), text(d.added)]));

    // The same through real messages: every record once, in order.
    const messages = [...transferMessages(ixfrQuery(soa(1)), ixfrSequence(soa(3), chain))];
    const again = new IxfrReader(Z, 1);
    for (const m of messages) {
      for (const r of readResponse(m).answers) again.push(r);
      again.messageEnd();
    }
    expect(again.result?.kind).toBe('incremental');
  });

  it('ixfr_reader: an AXFR-style answer is the whole zone; a lone SOA not newer is current; a wrong start is an error', () => {
    const whole = new IxfrReader(Z, 1);
    for (const r of [soa(5), ns, a('www', '192.0.2.1'), soa(5)]) whole.push(r);
    expect(whole.result).toMatchObject({ kind: 'whole', serial: 5 });
    expect(text((whole.result as { records: ZoneRecord[] }).records)).toEqual(text([soa(5), ns, a('www', '192.0.2.1')]));

    const current = new IxfrReader(Z, 5);
    current.push(soa(5));
    expect(current.result).toBeUndefined();
    current.messageEnd();
    expect(current.result).toEqual({ kind: 'current', serial: 5 });

    // A newer lone SOA is not "current": the rest is awaited.
    const waiting = new IxfrReader(Z, 4);
    waiting.push(soa(5));
    waiting.messageEnd();
    expect(waiting.result).toBeUndefined();

    expect(() => new IxfrReader(Z, 1).push(ns)).toThrow(IxfrFormatError);
    const elsewhere = new IxfrReader(Z, 1);
    elsewhere.push(soa(5));
    expect(() => elsewhere.push(soa(3))).toThrow(/begin at serial 3, not at ours \(1\)/);
    const gap = new IxfrReader(Z, 1);
    for (const r of [soa(5), soa(1), soa(2)]) gap.push(r);
    expect(() => gap.push(soa(3))).toThrow(/from serial 3 follows one that ended at 2/);
  });
});

describe('zone store journal', () => {
  it('replace_zone: a change with a newer serial is journaled; an older serial or a new zone starts the journal afresh', async () => {
    const store = ZoneStore.open(await tempDir());
    try {
      store.replaceZone(Z, zone(1, a('www', '192.0.2.10')));
      expect(store.journal(Z)).toEqual([]);
      store.replaceZone(Z, zone(2, a('www', '192.0.2.11')));
      store.replaceZone(Z, zone(3, a('www', '192.0.2.11'), a('new', '192.0.2.12')));
      expect(store.journal(Z)!.map(({ from, to, removed, added }) => ({ from, to, removed, added }))).toEqual([
        { from: 1, to: 2, removed: 2, added: 2 },
        { from: 2, to: 3, removed: 1, added: 2 },
      ]);
      const found = store.differences(Z, 1)!;
      expect(found.chain).toHaveLength(2);
      expect(text(found.chain[0]!.removed)).toEqual(text([soa(1), a('www', '192.0.2.10')]));
      expect(serialOf(found.soa)).toBe(3);
      expect(store.differences(Z, 3)!.chain).toEqual([]);
      expect(store.differences(Z, 7)).toBeUndefined();
      // Serial not moved forward: the old differences no longer lead to this zone.
      store.replaceZone(Z, zone(3, a('www', '192.0.2.99')));
      expect(store.journal(Z)).toEqual([]);
      expect(store.differences(Z, 1)).toBeUndefined();
      expect(store.journal('none.test.')).toBeUndefined();
    } finally {
      store.close();
    }
  });

  it('apply_difference: all or nothing; a missing deletion is named and changes nothing; a chain applies in order', async () => {
    const store = ZoneStore.open(await tempDir());
    try {
      store.replaceZone(Z, zone(1, a('www', '192.0.2.10')));
      const missing = { removed: [soa(1), a('gone', '192.0.2.1')], added: [soa(2)] };
      expect(() => store.applyDifference(Z, missing)).toThrow(ZoneStoreError);
      expect(() => store.applyDifference(Z, missing)).toThrow(/cannot remove gone\.j\.test\.\s+60\s+IN\s+A\s+192\.0\.2\.1: not in the zone/);
      expect(store.zones()[0]!.serial).toBe(1);
      expect(text(store.records(Z)!)).toEqual(text(zone(1, a('www', '192.0.2.10'))));
      expect(() => store.applyDifference(Z, { removed: [soa(4)], added: [soa(5)] })).toThrow(/from serial 4 does not apply to serial 1/);
      expect(() => store.applyDifference(Z, { removed: [soa(1)], added: [soa(1)] })).toThrow(/to serial 1 does not move the serial 1 forward/);
      expect(() => store.applyDifference('none.test.', { removed: [], added: [] })).toThrow(/no zone none\.test\./);

      // A TTL the primary does not repeat: removed all the same, journaled with the TTL it had.
      const chain: Difference[] = [
        { removed: [soa(1), a('www', '192.0.2.10', 999)], added: [soa(2), a('www', '192.0.2.11')] },
        { removed: [soa(2)], added: [soa(3), a('more', '192.0.2.12')] },
      ];
      expect(store.applyDifference(Z, chain)).toEqual({ serial: 3 });
      expect(text(store.records(Z)!).sort()).toEqual(text(zone(3, a('www', '192.0.2.11'), a('more', '192.0.2.12'))).sort());
      expect(store.journal(Z)!.map((c) => [c.from, c.to])).toEqual([[1, 2], [2, 3]]);
      expect(text(store.differences(Z, 1)!.chain[0]!.removed)).toEqual(text([soa(1), a('www', '192.0.2.10', 60)]));
      // Adding what is there already is refused, the whole chain with it.
      expect(() => store.applyDifference(Z, [{ removed: [soa(3)], added: [soa(4)] }, { removed: [soa(4)], added: [soa(5), a('more', '192.0.2.12')] }])).toThrow(/already in the zone/);
      expect(store.zones()[0]!.serial).toBe(3);
    } finally {
      store.close();
    }
  });

  it('bounded: past max journal records the oldest whole changes go; a change larger than the bound leaves none', async () => {
    const dir = await tempDir();
    const store = ZoneStore.open(dir, { maxJournalRecords: 5 });
    try {
      store.replaceZone(Z, zone(1));
      for (let serial = 2; serial <= 5; serial++) store.applyDifference(Z, { removed: [soa(serial - 1)], added: [soa(serial), a(`h${serial}`, '192.0.2.1')] });
      // Each change is 3 records: only the newest fits in 5.
      expect(store.journal(Z)!.map((c) => [c.from, c.to])).toEqual([[4, 5]]);
      expect(store.differences(Z, 3)).toBeUndefined();
      expect(store.differences(Z, 4)!.chain).toHaveLength(1);
      store.replaceZone(Z, zone(6, ...Array.from({ length: 10 }, (_, i) => a(`x${i}`, '192.0.2.2'))));
      expect(store.journal(Z)).toEqual([]);
    } finally {
      store.close();
    }
    expect(() => ZoneStore.open(dir, { maxJournalRecords: -1 })).toThrow(/at least 0/);
  });

  it('migration: a store of schema version 2 keeps its zones and gains a journal', async () => {
    const dir = await tempDir();
    // Version 2's schema, as b10 wrote it before the journal.
    const old = new Database(path.join(dir, ZONE_DB));
    old.exec(`
      CREATE TABLE schema_version (version INTEGER NOT NULL);
      INSERT INTO schema_version VALUES (2);
      CREATE TABLE zones (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, serial INTEGER NOT NULL, loaded_at TEXT NOT NULL);
      CREATE TABLE records (id INTEGER PRIMARY KEY, zone_id INTEGER NOT NULL REFERENCES zones(id) ON DELETE CASCADE,
        name TEXT NOT NULL, rname TEXT NOT NULL, ttl INTEGER NOT NULL, type INTEGER NOT NULL, rdata BLOB NOT NULL);
      CREATE INDEX records_in_order ON records (zone_id, rname, type);
      CREATE TABLE zone_ids (last INTEGER NOT NULL);
      INSERT INTO zone_ids VALUES (1);
      INSERT INTO zones VALUES (1, '${Z}', 1, '2026-01-01T00:00:00.000Z');
    `);
    const insert = old.prepare('INSERT INTO records (zone_id, name, rname, ttl, type, rdata) VALUES (1, ?, ?, ?, ?, ?)');
    for (const r of zone(1, a('www', '192.0.2.10'))) insert.run(r.name, r.name.split('.').reverse().join('\u0000'), r.ttl, r.type, r.rdata);
    old.close();

    // A reader of the new version refuses the old one until a writer has migrated it.
    expect(() => ZoneStore.open(dir, { readonly: true })).toThrow(/schema version 2, this b10 reads 3/);
    const store = ZoneStore.open(dir);
    try {
      expect(store.zones()).toMatchObject([{ name: Z, serial: 1, records: 4 }]);
      expect(text(store.records(Z)!)).toEqual(text(zone(1, a('www', '192.0.2.10'))));
      expect(store.journal(Z)).toEqual([]);
      store.replaceZone(Z, zone(2, a('www', '192.0.2.11')));
      expect(store.journal(Z)!.map((c) => [c.from, c.to])).toEqual([[1, 2]]);
    } finally {
      store.close();
    }
    const reader = ZoneStore.open(dir, { readonly: true });
    expect(reader.zones()).toHaveLength(1);
    reader.close();
  });
});

describe('IXFR query', () => {
  it('ixfr_client_serial: the SOA of the zone in the authority section; none there is undefined', () => {
    const w = new MessageWriter(7, 0);
    w.questionOf(nameToWire(Z), 251);
    w.record('authority', nameToWire(Z), 6, 60, soa(42).rdata);
    expect(ixfrClientSerial(w.finish(), Z)).toBe(42);
    expect(ixfrClientSerial(encodeQuery(7, 0, Z, 251), Z)).toBeUndefined();
    expect(ixfrClientSerial(Buffer.from([1, 2, 3]), Z)).toBeUndefined();
    // Another zone's SOA is not the client's serial.
    const other = new MessageWriter(7, 0);
    other.questionOf(nameToWire(Z), 251);
    other.record('authority', nameToWire('x.test.'), 6, 60, soa(42).rdata);
    expect(ixfrClientSerial(other.finish(), Z)).toBeUndefined();
  });
});
