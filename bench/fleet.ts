import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connect } from '@nats-io/transport-node';
import { BOSS } from '../protocol/groups.js';
import { Session } from '../protocol/session.js';
import { TOKEN_FILE_NAME } from '../protocol/token.js';
import { allSubject } from '../src/bridge/subjects.js';
import { FleetClient } from '../src/cli/fleet-client.js';
import { startNatsCluster } from '../test/helpers/nats.js';
import { benchStack } from './stack.js';

const HOSTS = ['h1', 'h2', 'h3'];
const WARMUP = 100;
const ROUND_TRIPS = 1000;
const TIMEOUT_MS = 5000;

export interface FleetFigures {
  /** `Session.command(Boss, ping)` on one host's bus, what `b10 send Boss ping` does once connected. */
  local: { p50us: number; p99us: number };
  /** `b10 fleet send Boss ping --hosts h1,h2,h3` once connected: discovery, then the three hosts asked at once. */
  fleet: { p50us: number; p99us: number };
  /** One request on b10.all.Boss, done once the three answers are in (NATS's requestMany). */
  fanOut: { p50us: number; p99us: number };
}

function percentiles(samples: number[]): { p50us: number; p99us: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { p50us: at(0.5), p99us: at(0.99) };
}

async function timed(round: () => Promise<void>): Promise<{ p50us: number; p99us: number }> {
  for (let i = 0; i < WARMUP; i++) await round();
  const samples: number[] = [];
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const t0 = process.hrtime.bigint();
    await round();
    samples.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  return percentiles(samples);
}

/**
 * A three-node NATS cluster on loopback and three b10 stacks (msgq, the
 * config manager and the bridge, exporting Boss), then 1,000 sequential
 * round trips each, after 100 for warm-up, of the same command (Boss ping):
 * on one host's own bus, through `b10 fleet`'s client to all three hosts,
 * and as one fan-out request on b10.all.Boss. The reason it was skipped,
 * when nats-server is missing and cannot be installed.
 */
export async function benchFleet(): Promise<FleetFigures | string> {
  const stops: (() => Promise<void>)[] = [];
  const dirs: string[] = [];
  try {
    let cluster;
    try {
      cluster = await startNatsCluster(3, (stop) => void stops.push(stop));
    } catch (err) {
      return (err as Error).message;
    }
    const stacks = await Promise.all(
      HOSTS.map(async (host, i) => {
        const dir = await mkdtemp(path.join(os.tmpdir(), 'b10-fleetbench-'));
        dirs.push(dir);
        const bridge = { nats: { servers: [cluster.urls[i]!] }, host, export: [BOSS] };
        const stack = await benchStack(dir, {}, { Bridge: bridge }, stops);
        await stack.boss.waitForLog((l) => l.component === 'bridge' && l.msg === 'listening for fleet commands', 'bridge listening');
        return { ...stack, dir };
      }),
    );
    const session = await Session.connect({ port: stacks[0]!.msgqPort, tokenFile: path.join(stacks[0]!.dir, TOKEN_FILE_NAME) });
    stops.push(() => session.close());
    const fleet = await FleetClient.open({ servers: cluster.urls, timeout: TIMEOUT_MS });
    stops.push(() => fleet.close());
    const nc = await connect({ servers: cluster.urls });
    stops.push(() => nc.close());

    const local = await timed(async () => {
      await session.command(BOSS, 'ping');
    });
    const viaFleet = await timed(async () => {
      const outcomes = await fleet.send(BOSS, 'ping', undefined, HOSTS);
      if (outcomes.length !== HOSTS.length || outcomes.some((o) => !('answer' in o) || o.answer.result[0] !== 0)) {
        throw new Error(`a fleet round trip did not get three answers: ${JSON.stringify(outcomes)}`);
      }
    });
    const request = JSON.stringify({ command: ['ping'] });
    const fanOut = await timed(async () => {
      let answers = 0;
      for await (const _ of await nc.requestMany(allSubject(BOSS), request, { strategy: 'count', maxMessages: HOSTS.length, maxWait: TIMEOUT_MS })) answers++;
      if (answers !== HOSTS.length) throw new Error(`b10.all.Boss got ${answers} answers, not ${HOSTS.length}`);
    });
    return { local, fleet: viaFleet, fanOut };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

export function fleetLines(figures: FleetFigures | string): string[] {
  if (typeof figures === 'string') return [`fleet over NATS: skipped: ${figures}`];
  const us = (f: { p50us: number; p99us: number }): string => `p50 ${f.p50us.toFixed(0)} us, p99 ${f.p99us.toFixed(0)} us`;
  return [
    `fleet over a 3-node NATS cluster, 3 hosts, Boss ping, ${ROUND_TRIPS} sequential round trips each (same run)`,
    `  local bus            ${us(figures.local)}  (Session.command on one host: b10 send once connected)`,
    `  b10 fleet send       ${us(figures.fleet)}  (--hosts h1,h2,h3: discovery, then the three hosts at once)`,
    `  b10.all fan-out      ${us(figures.fanOut)}  (one NATS request, until the three answers are in)`,
    `  fleet/local p50      ${(figures.fleet.p50us / figures.local.p50us).toFixed(1)}x`,
  ];
}
