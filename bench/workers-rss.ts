import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CONFIG_FILE } from '../src/cfgmgr/store.js';
import { startNamed } from '../test/helpers/named.js';
import { startBus } from '../src/testing/index.js';
import { start } from '../test/helpers/processes.js';
import { storeZoneFile } from './stack.js';

/**
 * Memory of auth's workers (Auth/workers) with a 1,000,000-record zone
 * loaded, against named -n 1 on the same zone file, one after the other on
 * the same machine: VmRSS of named, of auth's primary, and of each worker
 * once auth answers (every worker has loaded the zone). The zone has a real
 * shape: A and AAAA hosts, some MX, CNAME and TXT, NS delegations with glue.
 */
export const RSS_RECORDS = 1_000_000;
const ZONE = 'rss.test';
const NAMED = '/usr/sbin/named';

export interface WorkersRss {
  records: number;
  workers: number;
  namedMb: number;
  primaryMb: number;
  workersMb: number[];
}

function zoneText(): string {
  const lines = [`$ORIGIN ${ZONE}.`, '$TTL 3600', '@ SOA ns1 hostmaster 1 3600 900 604800 300', '@ NS ns1', '@ NS ns2', 'ns1 A 192.0.2.1', 'ns2 A 192.0.2.2', '@ MX 10 mail', 'mail A 192.0.2.25'];
  const v4 = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  for (let i = 0; lines.length < RSS_RECORDS + 2; i++) {
    lines.push(`h${i} A ${v4(i)}`);
    if (i % 2 === 0) lines.push(`h${i} AAAA 2001:db8::${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}`);
    if (i % 10 === 1) lines.push(`h${i} MX 10 mail`);
    if (i % 20 === 3) lines.push(`www${i} CNAME h${i}`);
    if (i % 25 === 5) lines.push(`h${i} TXT "v=spf1 ip4:${v4(i)} -all"`);
    if (i % 100 === 7) lines.push(`sub${i} NS ns1.sub${i}`, `sub${i} NS ns2.sub${i}`, `ns1.sub${i} A ${v4(i + 1)}`, `ns2.sub${i} A ${v4(i + 2)}`);
  }
  // The two $ lines are no records.
  return `${lines.slice(0, RSS_RECORDS + 2).join('\n')}\n`;
}

/** A process's resident memory now, MB, from /proc. */
export async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!kb) throw new Error(`no VmRSS for ${pid}`);
  return Number(kb[1]) / 1024;
}

export async function benchWorkersRss(workers = 2): Promise<WorkersRss | string> {
  if (!existsSync(NAMED)) return 'named is not installed: apt-get install bind9 (npm run bench installs it with the DNS bench when run as root)';
  const dir = await mkdtemp(path.join(os.tmpdir(), 'b10-rssbench-'));
  try {
    const zoneFile = await storeZoneFile(dir, ZONE, zoneText());

    const named = await startNamed({ zones: [{ name: ZONE, file: zoneFile }] });
    let namedMb: number;
    try {
      namedMb = await rssMb(named.proc.child.pid!);
    } finally {
      await named.stop();
    }

    await writeFile(path.join(dir, CONFIG_FILE), JSON.stringify({ version: 2, Auth: { workers } }));
    // A bus of its own: without one auth gives up after a few seconds, and loading the zone into every
    // worker can take longer on a busy machine.
    const bus = await startBus();
    try {
      const auth = start('src/auth/main.js', ['-p', '0', '-d', dir], { env: bus.env });
      try {
        await auth.waitForLog((l) => l.msg === 'zones loaded', 'auth answering with every worker');
        const pids = auth.logs.filter((l) => l.msg === 'auth worker started').map((l) => l.workerPid as number);
        return {
          records: RSS_RECORDS,
          workers,
          namedMb,
          primaryMb: await rssMb(auth.child.pid!),
          workersMb: await Promise.all(pids.map(rssMb)),
        };
      } finally {
        await auth.stop();
      }
    } finally {
      await bus.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The bench's lines, each figure with its target: every worker within 2x named's RSS. */
export async function workersRssLines(): Promise<string[]> {
  const rss = await benchWorkersRss();
  if (typeof rss === 'string') return [`auth workers' memory: skipped: ${rss}`];
  const mb = (v: number): string => `${v.toFixed(0)} MB`;
  const worst = Math.max(...rss.workersMb);
  return [
    `auth workers' memory, ${rss.records.toLocaleString('en-US')}-record zone (VmRSS once serving; named -n 1 on the same file, same run)`,
    `  named                ${mb(rss.namedMb)}`,
    `  auth primary         ${mb(rss.primaryMb)}  (holds no zone)`,
    `  per worker           ${rss.workersMb.map(mb).join(', ')} = ${(worst / rss.namedMb).toFixed(2)}x named's  (target <= 2.0x)`,
  ];
}
