import dgram from 'node:dgram';
import net from 'node:net';
import type { SpawnOptions } from 'node:child_process';
import { start, type Proc } from '../../src/testing/process.js';

export { PROJECT_ROOT as ROOT, DIST } from '../../src/paths.js';
export { Proc, start, stopAll } from '../../src/testing/process.js';
export type { LogLine } from '../../src/testing/process.js';

export interface MsgqHandle {
  proc: Proc;
  port: number;
  stop(): Promise<void>;
}

/** Starts the real msgq on a free port, with the test's token (test/setup.ts), and waits until it listens. */
export async function startMsgq(args: string[] = []): Promise<MsgqHandle> {
  const proc = start('msgq/main.js', ['--port', '0', '--token-file', process.env.B10_MSGQ_TOKEN_FILE!, ...args]);
  const line = await proc.waitForLog((l) => l.msg === 'msgq listening', 'msgq listening');
  return { proc, port: line.port as number, stop: () => proc.stop() };
}

/** Runs a command to completion, with `input` on its stdin if given, and returns its exit code and output. */
export async function run(
  script: string,
  args: string[],
  options: SpawnOptions & { input?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { input, ...spawnOptions } = options;
  const proc = start(script, args, input === undefined ? spawnOptions : { stdio: ['pipe', 'pipe', 'pipe'], ...spawnOptions });
  proc.child.stdin?.end(input);
  const { code } = await proc.exited;
  // Streams may still hold the last bytes when 'exit' fires.
  await proc.drained;
  return { code, stdout: proc.stdout, stderr: proc.stderrLines.join('\n') };
}

export interface CfgmgrHandle {
  proc: Proc;
  stop(): Promise<void>;
}

/** Starts the real b10-cfgmgr against a running msgq and waits until it answers. */
export async function startCfgmgr(msgqPort: number, dataPath: string, args: string[] = []): Promise<CfgmgrHandle> {
  const proc = start('src/cfgmgr/main.js', ['--data-path', dataPath, '-m', String(msgqPort), ...args]);
  await proc.waitForLog((l) => l.msg === 'config manager ready', 'config manager ready');
  return { proc, stop: () => proc.stop() };
}

/*
 * Ports for servers a test starts with a fixed port (named, or auth with a port given up front). They come from
 * below the kernel's ephemeral range, so a server another test binds to port 0 cannot be handed the same one
 * between our pick and its use; each vitest worker draws from its own slice, so parallel files never pick alike.
 */
const PICK_LOW = 10_000;
const PICK_HIGH = 32_000;
const SLICES = 16;
const slice = (Number(process.env.VITEST_POOL_ID ?? 1) - 1) % SLICES;
const sliceSize = Math.floor((PICK_HIGH - PICK_LOW) / SLICES);
let nextPick = Math.floor(Math.random() * sliceSize);

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const tcp = net.createServer();
    tcp.once('error', () => resolve(false));
    tcp.listen(port, '127.0.0.1', () => {
      const udp = dgram.createSocket('udp4');
      udp.once('error', () => tcp.close(() => resolve(false)));
      udp.bind(port, '127.0.0.1', () => udp.close(() => tcp.close(() => resolve(true))));
    });
  });
}

/** A port nobody listens on right now, over TCP or UDP, and not one this process has handed out before. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < sliceSize; tries++) {
    const port = PICK_LOW + slice * sliceSize + (nextPick++ % sliceSize);
    if (await bindable(port)) return port;
  }
  throw new Error('no free port left in this worker\'s slice');
}
