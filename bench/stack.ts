import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseMasterFile } from '../src/dns/master-file.js';
import { ZoneStore } from '../src/dns/zone-store.js';
import { start, type Proc } from '../test/helpers/processes.js';
import { freePort } from './ports.js';

/** What a bench's stack is made of: its components, by name, as Boss/components holds them. */
export type Components = Record<string, { process: string; kind: string; address: string; priority: number }>;

/**
 * A b10 stack of `components` in `dir` with `config` stored beside them,
 * msgq and DNS on ports free now; returned once the boss says "b10
 * started", its stop pushed on `stops`.
 */
export async function benchStack(dir: string, components: Components, config: Record<string, unknown>, stops: (() => Promise<void>)[]): Promise<{ authPort: number; msgqPort: number; boss: Proc }> {
  const [authPort, msgqPort] = await Promise.all([freePort(), freePort()]);
  await writeFile(path.join(dir, 'b10-config.db'), JSON.stringify({ version: 2, Boss: { components }, ...config }));
  const boss = start('boss/main.js', ['-m', String(msgqPort), '-p', String(authPort), '-d', dir]);
  stops.push(() => boss.stop(5000));
  await boss.waitForLog((l) => l.msg === 'b10 started', 'b10 started');
  return { authPort, msgqPort, boss };
}

/** Writes `text` as the master file of `zone` in `dir` and loads it into the store there; the file's path. */
export async function storeZoneFile(dir: string, zone: string, text: string): Promise<string> {
  const file = path.join(dir, `${zone}.zone`);
  await writeFile(file, text);
  const store = ZoneStore.open(dir);
  try {
    store.replaceZone(`${zone}.`, parseMasterFile(file, zone));
  } finally {
    store.close();
  }
  return file;
}
