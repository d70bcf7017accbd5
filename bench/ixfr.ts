import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { axfrFrom, ixfrFrom } from '../src/dns/axfr-client.js';
import { differenceSize } from '../src/dns/ixfr.js';
import { rdataOfText } from '../src/dns/master-file.js';
import type { ZoneRecord } from '../src/dns/master-file.js';
import { ZoneStore } from '../src/dns/zone-store.js';
import { median } from './boss.js';
import { benchStack } from './stack.js';

/**
 * IXFR against AXFR out of b10's xfrout, same zone, same run: a zone of
 * 100,000 records with one record changed (serial 1 to 2, journaled by the
 * store), then b10's own client asks IXFR from serial 1 (the difference:
 * 6 records) and AXFR (the whole zone), through auth's hand-off to xfrout.
 * Each is timed from connect to the last record; medians of ROUNDS.
 */
const RECORDS = 100_000;
const ROUNDS = 5;
const ZONE = 'ixfr.test.';

export interface IxfrFigures {
  ixfrMs: number;
  axfrMs: number;
  ixfrRecords: number;
  axfrRecords: number;
}

function zone(serial: number, www: string): ZoneRecord[] {
  const rr = (name: string, type: number, text: string): ZoneRecord => ({ name, ttl: 3600, type, rdata: rdataOfText(type, text) });
  const records = [rr(ZONE, 6, `ns1.${ZONE} hostmaster.${ZONE} ${serial} 3600 900 604800 300`), rr(ZONE, 2, `ns1.${ZONE}`), rr(`ns1.${ZONE}`, 1, '192.0.2.1'), rr(`www.${ZONE}`, 1, www)];
  for (let i = 0; records.length < RECORDS; i++) records.push(rr(`h${i}.${ZONE}`, 1, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`));
  return records;
}

async function timed<T>(work: () => Promise<T>): Promise<[number, T]> {
  const t0 = process.hrtime.bigint();
  const result = await work();
  return [Number(process.hrtime.bigint() - t0) / 1e6, result];
}

export async function benchIxfr(): Promise<IxfrFigures> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'b10-ixfrbench-'));
  const stops: (() => Promise<void>)[] = [];
  try {
    const before = zone(1, '192.0.2.80');
    const store = ZoneStore.open(dir);
    store.replaceZone(ZONE, before);
    store.replaceZone(ZONE, zone(2, '192.0.2.81'));
    store.close();

    const { authPort } = await benchStack(
      dir,
      {
        xfrout: { process: 'b10-xfrout', kind: 'needed', address: 'Xfrout', priority: 20 },
        auth: { process: 'b10-auth', kind: 'needed', address: 'Auth', priority: 10 },
      },
      {},
      stops,
    );

    const primary = { address: '127.0.0.1', port: authPort };
    const ixfrMs: number[] = [];
    const axfrMs: number[] = [];
    let ixfrRecords = 0;
    let axfrRecords = 0;
    // A warm-up of each, then rounds that alternate.
    await ixfrFrom(primary, ZONE, before[0]!, 60_000);
    await axfrFrom(primary, ZONE, 60_000);
    for (let round = 0; round < ROUNDS; round++) {
      const [ms, got] = await timed(() => ixfrFrom(primary, ZONE, before[0]!, 60_000));
      if (got.kind !== 'incremental') throw new Error(`IXFR from serial 1 answered ${got.kind}`);
      // The difference, and the current SOA that opens and closes the answer.
      ixfrRecords = differenceSize(got.chain) + 2;
      ixfrMs.push(ms);
      const [axMs, whole] = await timed(() => axfrFrom(primary, ZONE, 60_000));
      axfrRecords = whole.length + 1;
      axfrMs.push(axMs);
    }
    return { ixfrMs: median(ixfrMs), axfrMs: median(axfrMs), ixfrRecords, axfrRecords };
  } finally {
    for (const stop of stops.reverse()) await stop();
    await rm(dir, { recursive: true, force: true });
  }
}
