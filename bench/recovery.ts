import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CONFIG_MANAGER } from '../protocol/groups.js';
import { Session } from '../protocol/session.js';
import { TOKEN_FILE_NAME } from '../protocol/token.js';
import { start, type Proc } from '../test/helpers/processes.js';
import { freePort } from './ports.js';

const KILLS = 10;
/** The bench's restart period: each kill comes after a healthy run this long, so the schedule restarts at once. */
export const RECOVERY_PERIOD_MS = 1000;

export interface RecoveryFigures {
  /** kill -9 of msgq until `config show` is answered again, ms. */
  msgqMs: number[];
  /** kill -9 of the config manager until the same, ms. */
  cfgmgrMs: number[];
}

/** How long one probe waits for an answer: a request that reached the dying process gets none. */
const PROBE_TIMEOUT_MS = 50;

/** What `b10 config show` asks, on a fresh connection as the command makes one; true once answered. */
async function configShowAnswers(port: number, tokenFile: string): Promise<boolean> {
  let session: Session | undefined;
  try {
    session = await Session.connect({ port, tokenFile, connectTimeout: 0, reconnect: false, timeout: PROBE_TIMEOUT_MS });
    await session.command(CONFIG_MANAGER, 'get_module_spec');
    await session.command(CONFIG_MANAGER, 'get_config');
    return true;
  } catch {
    return false;
  } finally {
    await session?.close();
  }
}

function newestPid(boss: Proc, component: string): number {
  return boss.logs.filter((l) => l.msg === 'component started' && l.component === component).at(-1)!.componentPid as number;
}

/** Kills the component's process and times until `config show` is answered again. */
async function timeRecovery(boss: Proc, port: number, tokenFile: string, component: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  process.kill(newestPid(boss, component), 'SIGKILL');
  // Bounded: a stack that does not come back within 30 s fails the bench.
  for (let i = 0; i < 30_000; i++) {
    if (await configShowAnswers(port, tokenFile)) return Number(process.hrtime.bigint() - t0) / 1e6;
    await sleep(1);
  }
  throw new Error(`the stack did not answer config show within 30 s of killing ${component}`);
}

/**
 * The default stack (msgq, the config manager, the boss); each component is
 * killed with SIGKILL KILLS times, each time after a healthy run.
 */
export async function benchRecovery(): Promise<RecoveryFigures> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'b10-bench-'));
  const port = await freePort();
  const boss = start('boss/main.js', ['-m', String(port), '-p', '0', '-d', dir, '--restart-period', String(RECOVERY_PERIOD_MS)]);
  const figures: RecoveryFigures = { msgqMs: [], cfgmgrMs: [] };
  try {
    await boss.waitForLog((l) => l.msg === 'b10 started', 'b10 started');
    for (const [component, into] of [['msgq', figures.msgqMs], ['cfgmgr', figures.cfgmgrMs]] as const) {
      for (let i = 0; i < KILLS; i++) {
        await sleep(RECOVERY_PERIOD_MS + 100);
        into.push(await timeRecovery(boss, port, path.join(dir, TOKEN_FILE_NAME), component));
      }
    }
  } finally {
    await boss.stop();
    await rm(dir, { recursive: true, force: true });
  }
  return figures;
}
