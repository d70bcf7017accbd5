import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, onTestFinished } from 'vitest';
import { DIST, run, start, type LogLine, type Proc } from './processes.js';
import { tempDir } from './tmp.js';

export const fixture = (name: string): string => path.join(DIST, 'test/fixtures/components', `${name}.js`);

export interface Booted {
  boss: Proc;
  port: number;
  dir: string;
  /** Every pid the boss has started so far, from its log. */
  pids(): number[];
  pidsOf(component: string): number[];
  b10(...args: string[]): ReturnType<typeof run>;
  /** The bus token file the boss wrote for this stack. */
  tokenFile: string;
  /** What a b10 command needs to reach this stack: its msgq port and token file. */
  env: Record<string, string>;
}

/** A process is gone once it no longer exists or is a zombie waiting to be reaped. */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Waits until none of `pids` is alive; these are not our children, so there is no exit event to wait on. */
export async function expectAllGone(pids: number[]): Promise<void> {
  const deadline = Date.now() + 5000;
  while (pids.some(alive) && Date.now() < deadline) await sleep(20);
  expect(pids.filter(alive)).toEqual([]);
}

export function startedPids(boss: Proc, component?: string): number[] {
  return boss.logs
    .filter((l) => l.msg === 'component started' && (component === undefined || l.component === component))
    .map((l) => l.componentPid as number);
}

export async function writeBossConfig(dir: string, components: Record<string, object>, more: Record<string, object> = {}): Promise<void> {
  await writeFile(path.join(dir, 'b10-config.db'), JSON.stringify({ version: 2, ...more, Boss: { components } }));
}

/**
 * Starts the real bind10 on a free msgq port and waits for "b10 started"; `more` is other modules' stored
 * configuration. The stack is stopped when the test finishes, or through `cleanup` (a file's afterAll, for a
 * stack its tests share).
 */
export async function boot(
  components: Record<string, object> = {},
  args: string[] = [],
  more: Record<string, object> = {},
  cleanup: (stop: () => Promise<void>) => void = onTestFinished,
): Promise<Booted> {
  const dir = await tempDir(cleanup);
  await writeBossConfig(dir, components, more);
  const boss = start('boss/main.js', ['-m', '0', '-d', dir, ...args]);
  cleanup(async () => {
    const pids = startedPids(boss);
    await boss.stop();
    await expectAllGone(pids);
  });
  const line = await boss.waitForLog((l) => l.msg === 'b10 started', 'b10 started');
  const port = line.msgqPort as number;
  const tokenFile = path.join(dir, 'msgq.token');
  const env = { B10_MSGQ_PORT: String(port), B10_MSGQ_TOKEN_FILE: tokenFile };
  return {
    boss,
    port,
    dir,
    pids: () => startedPids(boss),
    pidsOf: (component) => startedPids(boss, component),
    tokenFile,
    env,
    b10: (...a) => run('src/cli/main.js', a, { env }),
  };
}

export const byComponent = (name: string, msg: string) => (l: LogLine) => l.component === name && l.msg === msg;

