import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Session } from '../protocol/session.js';
import { TOKEN_FILE_NAME } from '../protocol/token.js';
import { DIST } from '../src/paths.js';
import { benchStack } from './stack.js';

/**
 * `b10 zone load` of a 1,000,000-record zone against named-compilezone on
 * the same file. The zone has the shape of a real one: hosts with A, AAAA,
 * MX and TXT, CNAME aliases, and delegations (two NS each) with their glue.
 * b10's figure is the CLI process end to end (start, parse, check, the
 * SQLite transaction into the store of a running stack) and its peak RSS;
 * named's is named-compilezone parsing, checking and writing the zone in
 * raw format (what named writes for its secondaries). Then auth is told to
 * serve the zone (loadzone over the bus) and that is timed too, with auth's
 * peak RSS, as a user's `b10 zone load` goes on to have auth serve it.
 */
export const ZONELOAD_RECORDS = 1_000_000;
const ZONE = 'load.test';
const COMPILEZONE = '/usr/bin/named-compilezone';
const TIME = '/usr/bin/time';

export interface ZoneLoadFigures {
  records: number;
  b10Ms: number;
  /** User and system CPU time: steadier than the wall time on a busy machine. */
  b10CpuMs: number;
  b10RssMb: number;
  namedMs: number;
  namedCpuMs: number;
  namedRssMb: number;
  /** auth's loadzone of the stored zone (to serving it), and auth's peak RSS afterwards. */
  authMs: number;
  authRssMb: number;
}

/** The master file of a zone of `count` records. */
export function bigZoneText(count: number): string {
  const lines = [`$ORIGIN ${ZONE}.`, '$TTL 3600', '@ SOA ns1 hostmaster 1 3600 900 604800 300', '@ NS ns1', '@ NS ns2', 'ns1 A 192.0.2.1', 'ns2 A 192.0.2.2', '@ MX 10 mail', 'mail A 192.0.2.25'];
  const ip = (i: number): string => `${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  // The two directives are no records.
  for (let i = 0; lines.length < count + 2; i++) {
    const shape = [
      `h${i} A 10.${ip(i)}`,
      `h${i} AAAA 2001:db8::${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}`,
      `h${i} MX 10 mail`,
      `h${i} TXT "v=spf1 ip4:10.${ip(i)} -all" "host ${i}"`,
      `www${i} 300 CNAME h${i}`,
    ];
    if (i % 3 === 0) shape.push(`sub${i} 86400 NS ns1.sub${i}`, `sub${i} 86400 NS ns2.sub${i}`, `ns1.sub${i} 86400 A 172.16.${ip(i).slice(ip(i).indexOf('.') + 1)}`, `ns2.sub${i} 86400 A 172.17.${ip(i).slice(ip(i).indexOf('.') + 1)}`);
    for (const line of shape) if (lines.length < count + 2) lines.push(line);
  }
  return `${lines.join('\n')}\n`;
}

/** Runs a command under GNU time: its wall time (ms) and peak RSS (MB); throws with its stderr when it fails. */
function timedRun(command: string, args: string[]): Promise<{ ms: number; cpuMs: number; rssMb: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(TIME, ['-f', 'B10TIME %e %M %U %S', command, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const m = /B10TIME ([\d.]+) (\d+) ([\d.]+) ([\d.]+)/.exec(stderr);
      if (code !== 0 || !m) return reject(new Error(`${command} ${args.join(' ')} failed (${code}): ${stderr.slice(-500)}`));
      resolve({ ms: Number(m[1]) * 1000, cpuMs: (Number(m[3]) + Number(m[4])) * 1000, rssMb: Number(m[2]) / 1024 });
    });
  });
}

/** A process's peak RSS so far (VmHWM), MB. */
function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

export async function benchZoneLoad(count = ZONELOAD_RECORDS): Promise<ZoneLoadFigures | string> {
  if (!existsSync(COMPILEZONE)) return 'named-compilezone is not installed: apt-get install bind9-utils';
  if (!existsSync(TIME)) return 'GNU time is not installed: apt-get install time';
  const dir = await mkdtemp(path.join(os.tmpdir(), 'b10-zoneloadbench-'));
  const stops: (() => Promise<void>)[] = [];
  try {
    const file = path.join(dir, `${ZONE}.zone`);
    await writeFile(file, bigZoneText(count));
    const { msgqPort } = await benchStack(dir, { auth: { process: 'b10-auth', kind: 'needed', address: 'Auth', priority: 10 } }, {}, stops);

    const named = await timedRun(COMPILEZONE, ['-q', '-i', 'local', '-F', 'raw', '-o', path.join(dir, 'compiled.raw'), ZONE, file]);
    const b10 = await timedRun(process.execPath, [path.join(DIST, 'src/cli/main.js'), 'zone', 'load', '-d', dir, '--no-notify', ZONE, file]);

    const session = await Session.connect({ port: msgqPort, tokenFile: path.join(dir, TOKEN_FILE_NAME), timeout: 120_000 });
    const t0 = process.hrtime.bigint();
    await session.command('Auth', 'loadzone', { origin: `${ZONE}.` });
    const authMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const rows = (await session.command('Boss', 'show_processes')) as { name: string; pid: number | null }[];
    await session.close();
    // With Auth/workers above 1 each worker holds the zone: the largest of them.
    const authRssMb = Math.max(...rows.filter((r) => r.pid !== null && (r.name === 'auth' || r.name.startsWith('auth/'))).map((r) => peakRssMb(r.pid!)));
    return { records: count, b10Ms: b10.ms, b10CpuMs: b10.cpuMs, b10RssMb: b10.rssMb, namedMs: named.ms, namedCpuMs: named.cpuMs, namedRssMb: named.rssMb, authMs, authRssMb };
  } finally {
    for (const stop of stops.reverse()) await stop();
    await rm(dir, { recursive: true, force: true });
  }
}
