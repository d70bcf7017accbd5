import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { AnswerError } from '../protocol/errors.js';
import { zoneDrop, zoneLoad, zoneRecords, zoneRows } from '../src/auth/zone-commands.js';
import { ZoneStore } from '../src/dns/zone-store.js';
import { ROOT } from './helpers/processes.js';
import { tempDir } from './helpers/tmp.js';

const BASIC = readFileSync(path.join(ROOT, 'test/fixtures/zones/basic.zone'), 'utf8');

async function store(): Promise<ZoneStore> {
  const s = ZoneStore.open(await tempDir());
  onTestFinished(() => s.close());
  return s;
}

const refusal = (run: () => unknown): string => {
  try {
    run();
  } catch (err) {
    if (err instanceof AnswerError) return err.text;
    throw err;
  }
  throw new Error('not refused');
};

describe("auth's zone commands (zones, zone_records, zone_load, zone_drop)", () => {
  it('zone_load_text_as_a_file: master-file text is stored as b10 zone load stores the file; zones lists it with serial, records, when, and whether served at that serial', async () => {
    const s = await store();
    expect(zoneLoad(s, 'Example.COM', BASIC)).toEqual({ origin: 'example.com.', records: 16, warnings: [] });
    const [row] = zoneRows(s, new Map([['example.com.', 2024010101]]));
    expect(row).toMatchObject({ origin: 'example.com.', serial: 2024010101, records: 16, served: true });
    expect(Date.parse(row!.loaded_at)).not.toBeNaN();
    expect(zoneRows(s, new Map())[0]!.served).toBe(false);
  });

  it('bad_text_stores_nothing: a text that does not parse is refused naming its line, and the zone stored before stays as it was', async () => {
    const s = await store();
    zoneLoad(s, 'example.com', BASIC);
    const broken = BASIC.replace(/^www .*$/m, 'www IN A 999.1.2.3');
    const line = broken.split('\n').findIndex((l) => l.startsWith('www IN A 999')) + 1;
    expect(refusal(() => zoneLoad(s, 'example.com', broken))).toMatch(new RegExp(`^\\(sent\\):${line}: .*999\\.1\\.2\\.3`));
    expect(refusal(() => zoneLoad(s, 'example.com', '$TTL 300\n@ NS ns1\n'))).toMatch(/no SOA record at the zone apex example\.com\./);
    expect(zoneRows(s, new Map())[0]).toMatchObject({ serial: 2024010101, records: 16 });
  });

  it('include_refused: $INCLUDE in sent text does not read the host\'s files', async () => {
    const s = await store();
    expect(refusal(() => zoneLoad(s, 'example.com', `$INCLUDE ${path.join(ROOT, 'test/fixtures/zones/basic.zone')}\n`))).toMatch(/\$INCLUDE .*basic\.zone: not allowed in a master file sent over the bus/);
    expect(zoneRows(s, new Map())).toEqual([]);
  });

  it('records_searched_and_bounded: records come SOA first as master-file lines, filtered by any-case text, at most limit with more said', async () => {
    const s = await store();
    zoneLoad(s, 'example.com', BASIC);
    const all = zoneRecords(s, 'example.com', '', 100);
    expect(all.records).toHaveLength(16);
    expect(all.records[0]).toMatch(/^example\.com\.\t3600\tIN\tSOA\t/);
    expect(all.more).toBe(false);
    const found = zoneRecords(s, 'example.com', 'WWW.example', 100);
    expect(found.records.length).toBeGreaterThan(0);
    expect(found.records.every((r) => r.toLowerCase().includes('www.example'))).toBe(true);
    expect(zoneRecords(s, 'example.com', '', 3)).toMatchObject({ records: all.records.slice(0, 3), more: true });
    expect(refusal(() => zoneRecords(s, 'example.net', '', 3))).toBe('no zone example.net. in the store');
  });

  it('drop_then_gone: a dropped zone is no longer stored; dropping it again says there is none', async () => {
    const s = await store();
    zoneLoad(s, 'example.com', BASIC);
    expect(zoneDrop(s, 'EXAMPLE.com.')).toBe('example.com.');
    expect(zoneRows(s, new Map())).toEqual([]);
    expect(refusal(() => zoneDrop(s, 'example.com'))).toBe('no zone example.com. in the store');
    expect(refusal(() => zoneDrop(s, 'a..b'))).toMatch(/^bad zone name: /);
  });
});
