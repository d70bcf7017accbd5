import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BOSS, COMPONENT_EVENTS } from '../protocol/groups.js';
import { Session } from '../protocol/session.js';
import { TOKEN_FILE_NAME } from '../protocol/token.js';
import { untilRunning } from '../src/cli/boss.js';
import { programPath } from '../src/paths.js';
import { start } from '../test/helpers/processes.js';
import { freePort } from './ports.js';

const RUNS = 5;
/** The component restarted in each run: a daemon with a spec, a store and the bus to register on, like most. */
export const RESTARTED = 'xfrin';
const RESTART_TIMEOUT_MS = 10_000;

export interface BossFigures {
  startMs: number[];
  restartMs: number[];
  shutdownMs: number[];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export { median };

/**
 * Each of 5 runs, on a fresh data path:
 * - cold start: spawning `bind10` (its bundle, as the `bind10` command runs
 *   it) until its "b10 started" line: msgq, the config manager, the boss's
 *   own module and every default component registered and up (xfrout, ddns,
 *   auth, xfrin, cmdctl, stats, stats-httpd);
 * - restart: what `b10 restart xfrin` asks the boss on the bus, until the
 *   boss announces the new run `running` (registered, its config applied):
 *   the old process stopped, a new one started and ready;
 * - shutdown: a bus `shutdown` until the boss has exited with everything stopped.
 */
export async function benchBoss(): Promise<BossFigures> {
  const figures: BossFigures = { startMs: [], restartMs: [], shutdownMs: [] };
  for (let i = 0; i < RUNS; i++) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'b10-bench-'));
    try {
      const port = await freePort();
      const t0 = process.hrtime.bigint();
      const boss = start(programPath('boss/main.js'), ['-m', String(port), '-p', '0', '--cmdctl-port', '0', '-d', dir]);
      await boss.waitForLog((l) => l.msg === 'b10 started', 'b10 started');
      const t1 = process.hrtime.bigint();
      const session = await Session.connect({ port, tokenFile: path.join(dir, TOKEN_FILE_NAME) });
      await session.subscribe(COMPONENT_EVENTS);
      const t2 = process.hrtime.bigint();
      const { restarts } = (await session.command(BOSS, 'restart', { name: RESTARTED })) as { restarts: number };
      await untilRunning(session, RESTARTED, restarts, RESTART_TIMEOUT_MS);
      const t3 = process.hrtime.bigint();
      await session.command(BOSS, 'shutdown');
      const { code } = await boss.exited;
      const t4 = process.hrtime.bigint();
      await session.close();
      if (code !== 0) throw new Error(`bind10 exited with ${code}`);
      figures.startMs.push(Number(t1 - t0) / 1e6);
      figures.restartMs.push(Number(t3 - t2) / 1e6);
      figures.shutdownMs.push(Number(t4 - t3) / 1e6);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return figures;
}

/** The boss's lines of `npm run bench`, each figure with its target. */
export function bossReport(figures: BossFigures): string[] {
  const ms = (values: number[]): string => values.map((v) => v.toFixed(0)).join(', ');
  return [
    'boss (default stack: msgq, cfgmgr, Boss, xfrout, ddns, auth, xfrin, cmdctl, stats, stats-httpd)',
    `  cold start median    ${median(figures.startMs).toFixed(0)} ms  (target < 500 ms; runs: ${ms(figures.startMs)})`,
    `  restart ${RESTARTED} median ${median(figures.restartMs).toFixed(0)} ms  (command to ready again; target < 200 ms; runs: ${ms(figures.restartMs)})`,
    `  shutdown median      ${median(figures.shutdownMs).toFixed(0)} ms  (target < 500 ms; runs: ${ms(figures.shutdownMs)})`,
  ];
}
