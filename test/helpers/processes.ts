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

/** A port nobody listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
