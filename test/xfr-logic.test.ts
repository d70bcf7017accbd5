import { statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { formatRecord, rdataOfText, type ZoneRecord } from '../src/dns/master-file.js';
import { RECORDS_PER_READ, ZONE_DB, ZoneChangedError, ZoneStore } from '../src/dns/zone-store.js';
import { LogThrottle } from '../src/log-throttle.js';
import { Coalescer, Limiter } from '../src/xfrin/scheduler.js';
import { notifyVerdict, SecondaryConfigError, secondaryZones } from '../src/xfrin/secondaries.js';
import { PreparedZones, restamp } from '../src/xfrout/prepared.js';
import { tempDir } from './helpers/tmp.js';

/** A promise and the functions that settle it, for runs the test finishes by hand. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('xfrin scheduling', () => {
  it('coalescer: requests during a run make exactly one more run, merged; each caller gets the result of the run it waits for', async () => {
    const runs: { key: string; job: { force: boolean }; done: ReturnType<typeof deferred<number>> }[] = [];
    const coalescer = new Coalescer<{ force: boolean }, number>(
      (key, job) => {
        const done = deferred<number>();
        runs.push({ key, job, done });
        return done.promise;
      },
      (a, b) => ({ force: a.force || b.force }),
    );
    const first = coalescer.request('z.', { force: false });
    const second = coalescer.request('z.', { force: false });
    const third = coalescer.request('z.', { force: true });
    const fourth = coalescer.request('z.', { force: false });
    const other = coalescer.request('y.', { force: false });
    expect([first, second, third, fourth, other].map((r) => r.requested)).toEqual(['started', 'queued', 'joined', 'joined', 'started']);
    await tick();
    expect(runs.map((r) => r.key)).toEqual(['z.', 'y.']);

    runs[0]!.done.resolve(1);
    expect(await first.result).toBe(1);
    await tick();
    expect(runs).toHaveLength(3);
    expect(runs[2]!.job).toEqual({ force: true });
    runs[2]!.done.reject(new Error('cut'));
    await expect(second.result).rejects.toThrow('cut');
    await expect(fourth.result).rejects.toThrow('cut');
    await tick();
    expect(runs).toHaveLength(3);
    expect(coalescer.request('z.', { force: false }).requested).toBe('started');
  });

  it('limiter: never more than the cap at once, the rest in order; a raised cap starts waiting tasks at once', async () => {
    const limiter = new Limiter(2);
    const gates = [0, 1, 2, 3].map(() => deferred<void>());
    const order: number[] = [];
    let waited = 0;
    const all = gates.map((gate, i) =>
      limiter.run(async () => {
        order.push(i);
        await gate.promise;
      }, () => waited++),
    );
    await tick();
    expect(order).toEqual([0, 1]);
    expect([limiter.running, limiter.queued, waited]).toEqual([2, 2, 2]);
    gates[1]!.resolve();
    await tick();
    expect(order).toEqual([0, 1, 2]);
    limiter.setMax(3);
    await tick();
    expect(order).toEqual([0, 1, 2, 3]);
    expect(limiter.running).toBe(3);
    for (const gate of gates) gate.resolve();
    await Promise.all(all);
    expect([limiter.running, limiter.queued]).toEqual([0, 0]);
  });
});

describe('NOTIFY sources and refused-NOTIFY logging', () => {
  it('secondaries: the configured primary only; a zone without one takes NOTIFY from nobody; bad names and duplicates named', () => {
    const zones = secondaryZones({
      zones: [
        { name: 'Sec.Test', master_addr: '192.0.2.1', master_port: 53 },
        { name: 'v6.test', master_addr: '2001:db8::1', master_port: 5353 },
        { name: 'free.test', master_port: 53, request_ixfr: 'only' },
      ],
    });
    expect(zones.get('sec.test.')).toEqual({ name: 'sec.test.', primary: { address: '192.0.2.1', port: 53 }, requestIxfr: 'yes' });
    expect(zones.get('free.test.')?.requestIxfr).toBe('only');
    expect(() => secondaryZones({ zones: [{ name: 'a.test', master_port: 53, request_ixfr: 'maybe' }] })).toThrow('zones[0]: request_ixfr must be "yes", "no" or "only", not "maybe"');
    expect(notifyVerdict(zones, 'sec.test.', '192.0.2.1')).toBe('accept');
    expect(notifyVerdict(zones, 'sec.test.', '::ffff:192.0.2.1')).toBe('accept');
    expect(notifyVerdict(zones, 'sec.test.', '192.0.2.2')).toBe('refuse');
    expect(notifyVerdict(zones, 'v6.test.', '2001:db8:0::1')).toBe('accept');
    expect(notifyVerdict(zones, 'free.test.', '192.0.2.1')).toBe('refuse');
    expect(notifyVerdict(zones, 'sec.test.', 'not an address')).toBe('refuse');
    expect(notifyVerdict(zones, 'other.test.', '192.0.2.1')).toBe('not-secondary');
    expect(() => secondaryZones({ zones: [{ name: 'a..test', master_port: 53 }] })).toThrow(SecondaryConfigError);
    expect(() => secondaryZones({ zones: [{ name: 'a.test', master_port: 53 }, { name: 'A.test.', master_port: 53 }] })).toThrow(
      'zones[1]: a.test. is listed twice',
    );
  });

  it('log_throttle: once a period per key, with the count held back; a flood of new keys is bounded', () => {
    const throttle = new LogThrottle(60_000, 3);
    expect(throttle.take('z 192.0.2.1', 0)).toBe(0);
    expect(throttle.take('z 192.0.2.1', 1000)).toBeUndefined();
    expect(throttle.take('z 192.0.2.1', 2000)).toBeUndefined();
    expect(throttle.take('z 192.0.2.2', 2000)).toBe(0);
    expect(throttle.take('z 192.0.2.1', 60_000)).toBe(2);
    expect(throttle.take('z 192.0.2.3', 60_001)).toBe(0);
    expect(throttle.take('z 192.0.2.4', 60_002)).toBeUndefined();
    expect(throttle.take('z 192.0.2.4', 120_001)).toBe(0);
  });
});

describe('zone store: reads in short transactions, ids never reused, WAL checkpointed', () => {
  const zone = (name: string, serial: number, sameName: number): ZoneRecord[] => [
    { name, ttl: 60, type: 6, rdata: rdataOfText(6, `ns.${name} h.${name} ${serial} 2 3 4 5`) },
    { name, ttl: 60, type: 2, rdata: rdataOfText(2, `ns.${name}`) },
    ...Array.from({ length: sameName }, (_, i) => ({ name: `www.${name}`, ttl: 60, type: 1, rdata: rdataOfText(1, `10.0.${i >> 8}.${i & 255}`) })),
    ...Array.from({ length: sameName }, (_, i) => ({ name: `www.${name}`, ttl: 60, type: 16, rdata: rdataOfText(16, `"t${i}"`) })),
  ];

  it('read_zone: every record once, in zone order, across many reads of one RRset; a change meanwhile stops the reader', async () => {
    const dir = await tempDir();
    const store = ZoneStore.open(dir);
    try {
      store.replaceZone('a.test.', zone('a.test.', 1, RECORDS_PER_READ * 2 + 7));
      const read = store.readZone('a.test.')!;
      const records = [...read.records];
      expect(formatRecord(read.soa)).toContain(' 1 2 3 4 5');
      expect(records).toHaveLength(2 + 2 * (RECORDS_PER_READ * 2 + 7));
      const text = (r: ZoneRecord): string => formatRecord(r);
      // store.records() has the SOA first, then the same zone order.
      expect(records.filter((r) => r.type !== 6).map(text)).toEqual(store.records('a.test.')!.slice(1).map(text));
      expect(store.readZone('none.test.')).toBeUndefined();

      // Replaced while read: the reader stops instead of going on in the new version.
      const replaced = store.readZone('a.test.')!.records[Symbol.iterator]();
      for (let i = 0; i < RECORDS_PER_READ; i++) replaced.next();
      store.replaceZone('a.test.', zone('a.test.', 2, RECORDS_PER_READ * 2 + 7));
      expect(() => {
        while (!replaced.next().done);
      }).toThrow(ZoneChangedError);

      // Dropped and loaded again (the highest id freed, and taken again by the old rule): stopped all the same.
      store.replaceZone('b.test.', zone('b.test.', 1, RECORDS_PER_READ));
      const dropped = store.readZone('b.test.')!.records[Symbol.iterator]();
      dropped.next();
      store.dropZone('b.test.');
      store.replaceZone('b.test.', zone('b.test.', 1, RECORDS_PER_READ));
      expect(() => {
        while (!dropped.next().done);
      }).toThrow(ZoneChangedError);
    } finally {
      store.close();
    }
  });

  it('checkpoint: a load leaves the WAL empty, also while another connection reads between its reads', async () => {
    const dir = await tempDir();
    const wal = path.join(dir, `${ZONE_DB}-wal`);
    const writer = ZoneStore.open(dir);
    const reader = ZoneStore.open(dir, { readonly: true });
    try {
      writer.replaceZone('a.test.', zone('a.test.', 1, 3000));
      expect(statSync(wal).size).toBe(0);
      const reading = reader.readZone('a.test.')!.records[Symbol.iterator]();
      reading.next();
      writer.replaceZone('c.test.', zone('c.test.', 1, 3000));
      expect(statSync(wal).size).toBe(0);
      while (!reading.next().done);
    } finally {
      reader.close();
      writer.close();
    }
  });
});

describe('zone store: a zone staged while it arrives', () => {
  const zone = (name: string, serial: number, hosts: number): ZoneRecord[] => [
    { name, ttl: 60, type: 6, rdata: rdataOfText(6, `ns.${name} h.${name} ${serial} 2 3 4 5`) },
    { name, ttl: 60, type: 2, rdata: rdataOfText(2, `ns.${name}`) },
    ...Array.from({ length: hosts }, (_, i) => ({ name: `h${i}.${name}`, ttl: 60, type: 1, rdata: rdataOfText(1, `10.0.${i >> 8}.${i & 255}`) })),
  ];
  const serialOf = (store: ZoneStore, name: string): number | undefined => store.zones().find((z) => z.name === name)?.serial;
  const rows = (dir: string): number => {
    const db = new Database(path.join(dir, ZONE_DB), { readonly: true });
    try {
      return (db.prepare('SELECT COUNT(*) AS n FROM records').get() as { n: number }).n;
    } finally {
      db.close();
    }
  };

  it('staged_zone_unseen: readers see the old zone until the commit, then the new one whole; the old one\'s rows go at tidy', async () => {
    const dir = await tempDir();
    const writer = ZoneStore.open(dir);
    const reader = ZoneStore.open(dir, { readonly: true });
    try {
      writer.replaceZone('a.test.', zone('a.test.', 1, 10));
      const staged = writer.stageZone('a.test.');
      const records = zone('a.test.', 2, 12_000);
      for (let at = 0; at < records.length; at += 1000) staged.add(records.slice(at, at + 1000));
      // Written already (more than a batch), and out of every reader's sight.
      expect(rows(dir)).toBeGreaterThan(12);
      expect(reader.zones()).toEqual([expect.objectContaining({ name: 'a.test.', serial: 1, records: 12 })]);
      expect(reader.records('a.test.')).toHaveLength(12);
      expect(staged.commit()).toEqual({ serial: 2, records: 12_002 });
      expect(reader.zones()).toEqual([expect.objectContaining({ name: 'a.test.', serial: 2, records: 12_002 })]);
      expect(rows(dir)).toBe(12_002 + 12);
      staged.tidy();
      expect(rows(dir)).toBe(12_002);
      // The serial moved forward: the difference (the SOA, and the hosts added) is journaled as replaceZone does.
      expect(writer.journal('a.test.')).toEqual([expect.objectContaining({ from: 1, to: 2, removed: 1, added: 11_991 })]);
    } finally {
      reader.close();
      writer.close();
    }
  });

  it('staged_zone_aborted: the zone there stays as it was, and nothing staged is left', async () => {
    const dir = await tempDir();
    const store = ZoneStore.open(dir);
    try {
      store.replaceZone('a.test.', zone('a.test.', 1, 10));
      const staged = store.stageZone('a.test.');
      staged.add(zone('a.test.', 2, 6000));
      staged.abort();
      expect(serialOf(store, 'a.test.')).toBe(1);
      expect(rows(dir)).toBe(12);
      expect(() => staged.add(zone('a.test.', 2, 1))).toThrow(/already committed or aborted/);
      // A new zone aborted: no zone at all.
      const fresh = store.stageZone('b.test.');
      fresh.add(zone('b.test.', 1, 10));
      fresh.abort();
      expect(store.zones().map((z) => z.name)).toEqual(['a.test.']);
    } finally {
      store.close();
    }
  });

  it('staged_by_a_writer_that_died: left out of sight, and dropped by dropUnseen; the zones committed stay', async () => {
    const dir = await tempDir();
    const dead = ZoneStore.open(dir);
    dead.replaceZone('a.test.', zone('a.test.', 1, 10));
    dead.stageZone('a.test.').add(zone('a.test.', 2, 6000));
    const replaced = dead.stageZone('b.test.');
    replaced.add(zone('b.test.', 1, 10));
    replaced.commit();
    dead.close();
    const store = ZoneStore.open(dir);
    try {
      expect(store.zones().map((z) => [z.name, z.serial])).toEqual([['a.test.', 1], ['b.test.', 1]]);
      expect(rows(dir)).toBeGreaterThan(6000);
      store.dropUnseen();
      expect(rows(dir)).toBe(24);
      expect(store.records('a.test.')).toHaveLength(12);
    } finally {
      store.close();
    }
  });

  it('staged_zone_dropped_by_another_writer: its commit fails and the zone there stays served, not replaced by nothing', async () => {
    const dir = await tempDir();
    const store = ZoneStore.open(dir);
    try {
      store.replaceZone('a.test.', zone('a.test.', 1, 10));
      const staged = store.stageZone('a.test.');
      // Exactly a batch: all of it written already, nothing left for the commit to write.
      staged.add(zone('a.test.', 2, 4998));
      // A second xfrin starting on the same store drops what it takes for a dead one's leftovers.
      const other = ZoneStore.open(dir);
      other.dropUnseen();
      other.close();
      expect(() => staged.commit()).toThrow(/no longer in the store/);
      expect(store.zones()).toEqual([expect.objectContaining({ name: 'a.test.', serial: 1, records: 12 })]);
      staged.abort();
      expect(rows(dir)).toBe(12);
    } finally {
      store.close();
    }
  });

  it('staged_zone_without_its_soa_first: refused, as a transfer must begin with it', async () => {
    const dir = await tempDir();
    const store = ZoneStore.open(dir);
    try {
      const staged = store.stageZone('a.test.');
      expect(() => staged.add(zone('a.test.', 1, 3).slice(1))).toThrow(/begins with its SOA/);
      expect(() => staged.commit()).toThrow(/nothing staged/);
      staged.abort();
      expect(rows(dir)).toBe(0);
    } finally {
      store.close();
    }
  });
});

describe('xfrout prepared messages', () => {
  const messages = (n: number, size: number): Buffer[] => Array.from({ length: n }, (_, i) => Buffer.alloc(size, i));
  const drain = (it: Iterable<Buffer>, stopAfter = Infinity): number => {
    let n = 0;
    for (const _ of it) if (++n >= stopAfter) break;
    return n;
  };

  it('prepared_versions: kept for the id, serial and TSIG room sent, not for another; a transfer cut short keeps nothing', () => {
    const kept = new PreparedZones(1000);
    const version = { id: 3, serial: 7, room: 0 };
    expect(drain(kept.keep('a.test.', version, messages(3, 100)), 2)).toBe(2);
    expect(kept.get('a.test.', version)).toBeUndefined();
    drain(kept.keep('a.test.', version, messages(3, 100)));
    expect(kept.get('a.test.', version)).toHaveLength(3);
    expect(kept.get('a.test.', { ...version, id: 4 })).toBeUndefined();
    expect(kept.get('a.test.', { ...version, serial: 8 })).toBeUndefined();
    expect(kept.get('a.test.', { ...version, room: 61 })).toBeUndefined();
    expect(kept.get('b.test.', version)).toBeUndefined();
  });

  it('prepared_bound: past the bound the zone sent least recently goes; a zone larger than the bound is not kept', () => {
    const kept = new PreparedZones(1000);
    const version = { id: 1, serial: 1, room: 0 };
    drain(kept.keep('a.test.', version, messages(4, 100)));
    drain(kept.keep('b.test.', version, messages(4, 100)));
    expect(kept.get('a.test.', version)).toHaveLength(4);
    drain(kept.keep('c.test.', version, messages(4, 100)));
    expect(kept.get('b.test.', version)).toBeUndefined();
    expect(kept.get('a.test.', version)).toHaveLength(4);
    drain(kept.keep('big.test.', version, messages(11, 100)));
    expect(kept.get('big.test.', version)).toBeUndefined();
    expect(kept.get('c.test.', version)).toHaveLength(4);
  });

  it('restamp: the copy answers the new query (id, flags, the question\'s type); the kept message is left as it was', () => {
    const first = Buffer.from([0x12, 0x34, 0x84, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0x61, 0, 0, 252, 0, 1]);
    const again = restamp(first, 0xbeef, 0x8400, 251);
    expect(again.readUInt16BE(0)).toBe(0xbeef);
    expect(again.readUInt16BE(15)).toBe(251);
    expect(first.readUInt16BE(0)).toBe(0x1234);
    expect(first.readUInt16BE(15)).toBe(252);
    const later = Buffer.from([0x12, 0x34, 0x84, 0x00, 0, 0, 0, 1, 0, 0, 0, 0, 9, 9]);
    expect([...restamp(later, 1, 0x8400, 251).subarray(2)]).toEqual([...later.subarray(2)]);
  });
});
