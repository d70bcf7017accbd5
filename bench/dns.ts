import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseMasterFile } from '../src/dns/master-file.js';
import { ZoneStore } from '../src/dns/zone-store.js';
import { startBus } from '../src/testing/index.js';
import { startNamed } from '../test/helpers/named.js';
import { start } from '../test/helpers/processes.js';
import { signZone } from '../test/helpers/sign.js';

const exec = promisify(execFile);

/** b10-auth against BIND 9 (`named -n 1`, one worker thread) on the same zone, same query mix, same run. */
const NAMES = 2000;
const SECONDS = 8;
export const ZONE = 'bench.test';

export interface DnsPair {
  b10: number;
  named: number;
}

export interface DnsFigures {
  /** The zone as it is, queries without DO. */
  unsigned: DnsPair;
  /** The zone signed by dnssec-signzone (NSEC3, no salt, 0 iterations), every query with DO. */
  signed: DnsPair;
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


export async function dnsperf(port: number, queryFile: string, dnssecOk: boolean): Promise<number> {
  const { stdout } = await exec('/usr/bin/dnsperf', ['-s', '127.0.0.1', '-p', String(port), '-d', queryFile, '-l', String(SECONDS), '-c', '4', '-q', '200', ...(dnssecOk ? ['-D'] : [])]);
  const qps = /Queries per second:\s+([\d.]+)/.exec(stdout);
  const lost = /Queries lost:\s+(\d+)/.exec(stdout);
  if (!qps) throw new Error(`dnsperf printed no rate:\n${stdout}`);
  if (lost && Number(lost[1]) > 0) process.stderr.write(`dnsperf on port ${port}: ${lost[1]} queries lost\n`);
  return Number(qps[1]);
}

/** b10-auth, then named, on one zone file and one query mix. */
async function pair(dir: string, zoneFile: string, queryFile: string, dnssecOk: boolean): Promise<DnsPair> {
  const data = await mkdtemp(path.join(dir, 'store-'));
  const store = ZoneStore.open(data);
  store.replaceZone(`${ZONE}.`, parseMasterFile(zoneFile, ZONE));
  store.close();
  const bus = await startBus();
  let b10: number;
  try {
    const auth = start('src/auth/main.js', ['-p', '0', '-d', data], { env: bus.env, lifeline: true });
    const listening = await auth.waitForLog((l) => l.msg === 'auth listening', 'auth listening');
    b10 = await dnsperf((listening.endpoints as { port: number }[])[0]!.port, queryFile, dnssecOk);
    await auth.stop();
  } finally {
    await bus.stop();
  }
  const named = await startNamed({ zones: [{ name: ZONE, file: zoneFile }] });
  try {
    return { b10, named: await dnsperf(named.port, queryFile, dnssecOk) };
  } finally {
    await named.stop();
  }
}

/** Both servers on the zone unsigned (no DO) and signed (DO on every query), same query mix; the reason when the tools are missing. */
export async function benchDns(): Promise<DnsFigures | string> {
  const why = tools();
  if (why) return why;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'b10-dnsbench-'));
  const zoneFile = path.join(dir, `${ZONE}.zone`);
  const queryFile = path.join(dir, 'queries');
  await writeFile(zoneFile, zoneText());
  await writeFile(queryFile, queryText());
  const queries = queryText().split('\n').length - 1;
  try {
    const unsigned = await pair(dir, zoneFile, queryFile, false);
    const { signedFile } = await signZone(zoneFile, ZONE, { nsec3: true, dir: await mkdtemp(path.join(dir, 'keys-')) });
    const signed = await pair(dir, signedFile, queryFile, true);
    return { unsigned, signed, queries };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
