import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { COUNTERS_ENV } from '../src/auth/counters.js';
import { parseMasterFile } from '../src/dns/master-file.js';
import { ZoneStore } from '../src/dns/zone-store.js';
import { startBus } from '../src/testing/index.js';
import { start } from '../test/helpers/processes.js';
import { median } from './boss.js';
import { dnsperf, queryText, tools, ZONE, zoneText } from './dns.js';

/** Rounds of each: counting on, then off, alternated so drifts of a shared machine hit both alike. */
const ROUNDS = 3;

export interface CounterFigures {
  /** dnsperf's queries per second for each round, auth counting. */
  on: number[];
  /** The same with B10_AUTH_COUNTERS=off. */
  off: number[];
  /** Median on / median off: the share of its speed auth keeps while counting (target >= 0.97). */
  ratio: number;
}

/** b10-auth with its counters and without them, on one zone and one query mix, in one run. */
export async function benchCounters(): Promise<CounterFigures | string> {
  const why = tools();
  if (why) return why;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'b10-statsbench-'));
  const zoneFile = path.join(dir, `${ZONE}.zone`);
  const queryFile = path.join(dir, 'queries');
  await writeFile(zoneFile, zoneText());
  await writeFile(queryFile, queryText());
  const store = ZoneStore.open(dir);
  store.replaceZone(`${ZONE}.`, parseMasterFile(zoneFile, ZONE));
  store.close();
  const bus = await startBus();
  const figures: CounterFigures = { on: [], off: [], ratio: 0 };
  try {
    for (let round = 0; round < ROUNDS * 2; round++) {
      const counting = round % 2 === 0;
      const auth = start('src/auth/main.js', ['-p', '0', '-d', dir], { env: { ...bus.env, [COUNTERS_ENV]: counting ? 'on' : 'off' }, lifeline: true });
      try {
        const listening = await auth.waitForLog((l) => l.msg === 'auth listening', 'auth listening');
        (counting ? figures.on : figures.off).push(await dnsperf((listening.endpoints as { port: number }[])[0]!.port, queryFile, false));
      } finally {
        await auth.stop();
      }
    }
  } finally {
    await bus.stop();
    await rm(dir, { recursive: true, force: true });
  }
  figures.ratio = median(figures.on) / median(figures.off);
  return figures;
}
