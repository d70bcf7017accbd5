import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Session } from '../protocol/session.js';
import { TOKEN_FILE_NAME } from '../protocol/token.js';
import { start } from '../test/helpers/processes.js';
import { freePort } from './ports.js';

const RUNS = 5;

export interface BossFigures {
  startMs: number[];
  shutdownMs: number[];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export { median };

/**
 * Cold start of the default stack to "b10 started" (msgq, the config manager,
 * the boss's own module and every default component registered: xfrout,
 * auth, xfrin, cmdctl, stats, stats-httpd), then a bus `shutdown` until the boss has exited with
 * everything stopped.
 */
export async function benchBoss(): Promise<BossFigures> {
  const figures: BossFigures = { startMs: [], shutdownMs: [] };
  for (let i = 0; i < RUNS; i++) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'b10-bench-'));
    try {
      const port = await freePort();
      const t0 = process.hrtime.bigint();
      const boss = start('boss/main.js', ['-m', String(port), '-p', '0', '--cmdctl-port', '0', '-d', dir]);
      await boss.waitForLog((l) => l.msg === 'b10 started', 'b10 started');
      const t1 = process.hrtime.bigint();
      const session = await Session.connect({ port, tokenFile: path.join(dir, TOKEN_FILE_NAME) });
      const t2 = process.hrtime.bigint();
      await session.command('Boss', 'shutdown');
      const { code } = await boss.exited;
      const t3 = process.hrtime.bigint();
      await session.close();
      if (code !== 0) throw new Error(`bind10 exited with ${code}`);
      figures.startMs.push(Number(t1 - t0) / 1e6);
      figures.shutdownMs.push(Number(t3 - t2) / 1e6);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return figures;
}
