import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CONFIG_FILE } from '../src/cfgmgr/store.js';
import { parseMasterFile } from '../src/dns/master-file.js';
import { ZoneStore } from '../src/dns/zone-store.js';
import { startBus, type Bus } from '../src/testing/index.js';
import { startNamed } from '../test/helpers/named.js';
import { start } from '../test/helpers/processes.js';
import { signZone } from '../test/helpers/sign.js';
import { median } from './boss.js';

const exec = promisify(execFile);

/**
 * b10-auth with Auth/workers N against BIND 9's `named -n N` (N worker
 * threads) on the same zone, same query mix, same run, for N = 1 and 2.
 */
const NAMES = 2000;
/** dnsperf's run, seconds (B10_BENCH_DNS_SECONDS for a quick look). */
const SECONDS = Number(process.env.B10_BENCH_DNS_SECONDS) || 8;
/** Measured rounds of each server per case, alternating (B10_BENCH_DNS_ROUNDS). */
const ROUNDS = Number(process.env.B10_BENCH_DNS_ROUNDS) || 3;
/** The worker counts compared (B10_BENCH_DNS_WORKERS, e.g. "1" or "1,2"). */
const WORKERS = (process.env.B10_BENCH_DNS_WORKERS ?? '1,2').split(',').map(Number);
/** A warm-up run of each server before the rounds: the prepared responses and the JIT, named's caches. */
const WARMUP_SECONDS = 2;
/** Targets: each ratio b10/named at least this. */
export const DNS_TARGET = 0.9;
export const ZONE = 'bench.test';

export interface DnsCase {
  /** Auth/workers for b10, -n for named. */
  workers: number;
  /** The zone signed by dnssec-signzone (NSEC3, no salt, 0 iterations), every query with DO; else the zone as it is, no DO. */
  signed: boolean;
  /** dnsperf's queries per second in each round. */
  b10: number[];
  named: number[];
  /** CPU time (user and system, workers included) per query answered in each round, microseconds; empty without /proc. */
  b10CpuUs: number[];
  namedCpuUs: number[];
}

export interface DnsFigures {
  cases: DnsCase[];
  queries: number;
}

/** The Debian tools this bench needs, installed when missing and we are root; the reason when they cannot be had. */
export function tools(): string | undefined {
  const missing = [['named', 'bind9', '/usr/sbin/named'], ['dnsperf', 'dnsperf', '/usr/bin/dnsperf']].filter(([, , p]) => !existsSync(p!));
  if (missing.length === 0) return undefined;
  const packages = missing.map(([, pkg]) => pkg!);
  if (process.getuid?.() !== 0) return `${missing.map(([b]) => b).join(' and ')} not installed: apt-get install ${packages.join(' ')}`;
  try {
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore' });
    execFileSync('apt-get', ['install', '-y', '-qq', ...packages], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  } catch (err) {
    return `apt-get install ${packages.join(' ')} failed: ${(err as Error).message}`;
  }
  return undefined;
}

/** A zone of NAMES hosts with A and AAAA, mail, aliases and a wildcard. */
export function zoneText(): string {
  const lines = [`$ORIGIN ${ZONE}.`, '$TTL 3600', '@ SOA ns1 hostmaster 1 3600 900 604800 300', '@ NS ns1', '@ MX 10 mail', 'ns1 A 192.0.2.1', 'mail A 192.0.2.2', '*.users A 192.0.2.3'];
  for (let i = 0; i < NAMES; i++) {
    lines.push(`h${i} A 10.${(i >> 8) & 255}.${i & 255}.1`, `h${i} AAAA 2001:db8::${i.toString(16)}`);
    if (i % 10 === 0) lines.push(`alias${i} CNAME h${i}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The fixed mix: mostly A and AAAA hits, some aliases, MX, wildcards and names that do not exist. */
export function queryText(): string {
  const lines: string[] = [];
  for (let i = 0; i < NAMES; i++) {
    lines.push(`h${i}.${ZONE} A`);
    if (i % 2 === 0) lines.push(`h${i}.${ZONE} AAAA`);
    if (i % 10 === 0) lines.push(`alias${i}.${ZONE} A`, `missing${i}.${ZONE} A`, `u${i}.users.${ZONE} A`, `${ZONE} MX`);
  }
  return `${lines.join('\n')}\n`;
}


export async function dnsperf(port: number, queryFile: string, dnssecOk: boolean, seconds = SECONDS): Promise<number> {
  const { stdout } = await exec('/usr/bin/dnsperf', ['-s', '127.0.0.1', '-p', String(port), '-d', queryFile, '-l', String(seconds), '-c', '4', '-q', '200', ...(dnssecOk ? ['-D'] : [])]);
  const qps = /Queries per second:\s+([\d.]+)/.exec(stdout);
  const lost = /Queries lost:\s+(\d+)/.exec(stdout);
  if (!qps) throw new Error(`dnsperf printed no rate:\n${stdout}`);
  if (lost && Number(lost[1]) > 0) process.stderr.write(`dnsperf on port ${port}: ${lost[1]} queries lost\n`);
  return Number(qps[1]);
}

const CLOCK_TICKS = 100;

/**
 * CPU seconds (user and system) used so far by `pid` and its children
 * (auth's workers), from /proc; undefined where it cannot be read. On a
 * shared machine the rate a server reaches depends on the CPU it is given;
 * what it costs a query does much less.
 */
function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After the command's ")": state, ppid ... utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    let seconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean)) seconds += cpuSeconds(Number(child)) ?? 0;
    }
    return seconds;
  } catch {
    return undefined;
  }
}

/** dnsperf against `port`; its rate, and the CPU `pid` spent per query meanwhile (microseconds, undefined without /proc). */
async function measured(pid: number, port: number, queryFile: string, dnssecOk: boolean): Promise<{ qps: number; cpuUs?: number }> {
  const before = cpuSeconds(pid);
  const qps = await dnsperf(port, queryFile, dnssecOk);
  const after = cpuSeconds(pid);
  return { qps, cpuUs: before === undefined || after === undefined ? undefined : ((after - before) * 1e6) / (qps * SECONDS) };
}

/** A store in `dir` holding the zone of `zoneFile`, with Auth/workers set to `workers` in its configuration. */
async function authData(dir: string, zoneFile: string, workers: number): Promise<string> {
  const data = await mkdtemp(path.join(dir, 'store-'));
  const store = ZoneStore.open(data);
  store.replaceZone(`${ZONE}.`, parseMasterFile(zoneFile, ZONE));
  store.close();
  await writeFile(path.join(data, CONFIG_FILE), JSON.stringify({ version: 2, Auth: { workers } }));
  return data;
}

/**
 * One case: b10-auth (Auth/workers `workers`) and `named -n workers` both
 * running, each warmed up, then ROUNDS rounds of dnsperf against each,
 * alternating which goes first, so that the shared machine's drifts hit
 * both alike.
 */
async function measure(bus: Bus, dir: string, zoneFile: string, queryFile: string, workers: number, signed: boolean): Promise<DnsCase> {
  const result: DnsCase = { workers, signed, b10: [], named: [], b10CpuUs: [], namedCpuUs: [] };
  const data = await authData(dir, zoneFile, workers);
  const auth = start('src/auth/main.js', ['-p', '0', '-d', data], { env: bus.env, lifeline: true });
  try {
    const listening = await auth.waitForLog((l) => l.msg === 'auth listening', 'auth listening');
    const authPort = (listening.endpoints as { port: number }[])[0]!.port;
    const named = await startNamed({ zones: [{ name: ZONE, file: zoneFile }], threads: workers });
    try {
      const run = {
        b10: () => measured(auth.child.pid!, authPort, queryFile, signed),
        named: () => measured(named.proc.child.pid!, named.port, queryFile, signed),
      };
      await dnsperf(authPort, queryFile, signed, WARMUP_SECONDS);
      await dnsperf(named.port, queryFile, signed, WARMUP_SECONDS);
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? (['b10', 'named'] as const) : (['named', 'b10'] as const);
        for (const side of order) {
          const { qps, cpuUs } = await run[side]();
          result[side].push(qps);
          if (cpuUs !== undefined) result[side === 'b10' ? 'b10CpuUs' : 'namedCpuUs'].push(cpuUs);
        }
        if (process.env.B10_BENCH_DEBUG) process.stderr.write(`dns workers ${workers} ${signed ? 'signed' : 'unsigned'} round ${round}: b10 ${result.b10.at(-1)!.toFixed(0)}/s, named ${result.named.at(-1)!.toFixed(0)}/s\n`);
      }
    } finally {
      await named.stop();
    }
  } finally {
    await auth.stop();
    await rm(data, { recursive: true, force: true });
  }
  return result;
}

/**
 * Both servers on the zone unsigned (no DO) and signed (DO on every query),
 * same query mix, with 1 and 2 workers each; the reason when the tools are missing.
 */
export async function benchDns(): Promise<DnsFigures | string> {
  const why = tools();
  if (why) return why;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'b10-dnsbench-'));
  const zoneFile = path.join(dir, `${ZONE}.zone`);
  const queryFile = path.join(dir, 'queries');
  await writeFile(zoneFile, zoneText());
  await writeFile(queryFile, queryText());
  const queries = queryText().split('\n').length - 1;
  const bus = await startBus();
  try {
    const { signedFile } = await signZone(zoneFile, ZONE, { nsec3: true, dir: await mkdtemp(path.join(dir, 'keys-')) });
    const cases: DnsCase[] = [];
    for (const signed of [false, true]) {
      for (const workers of WORKERS) cases.push(await measure(bus, dir, signed ? signedFile : zoneFile, queryFile, workers, signed));
    }
    return { cases, queries };
  } finally {
    await bus.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The lines `npm run bench` prints for these figures. */
export function dnsReport(dns: DnsFigures | string): string[] {
  if (typeof dns === 'string') return [`auth vs BIND 9: skipped: ${dns}`];
  const rate = (n: number): string => `${Math.round(n).toLocaleString('en-US')}/s`;
  const lines = [`auth vs BIND 9 (dnsperf, 4 clients, ${SECONDS} s a round, ${dns.queries} distinct queries, same zone; medians of ${ROUNDS} alternating rounds)`];
  for (const c of dns.cases) {
    const b10 = median(c.b10);
    const named = median(c.named);
    const what = `${c.signed ? 'signed, DO' : 'unsigned'}, ${c.workers} worker${c.workers > 1 ? 's' : ''}`;
    lines.push(`  ${what.padEnd(22)} b10-auth ${rate(b10)}, named -n ${c.workers} ${rate(named)} queries = ${(b10 / named).toFixed(2)}x  (target >= ${DNS_TARGET}x)`);
    if (c.b10CpuUs.length > 0 && c.namedCpuUs.length > 0) {
      const [b10Us, namedUs] = [median(c.b10CpuUs), median(c.namedCpuUs)];
      lines.push(`  ${''.padEnd(22)} CPU per query: b10-auth ${b10Us.toFixed(1)} us, named ${namedUs.toFixed(1)} us (named/b10 ${(namedUs / b10Us).toFixed(2)}x)`);
    }
  }
  return lines;
}
