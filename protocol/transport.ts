import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConnectionError, UsageError } from './errors.js';
import { DEFAULT_MSGQ_HOST, DEFAULT_MSGQ_PORT } from './limits.js';

/** Where msgq listens: a TCP address, or a Unix socket file (the original BIND 10 clients' only way in). */
export type MsgqTarget = { host: string; port: number } | { path: string };

export interface TargetOptions {
  host?: string;
  port?: number;
  socketFile?: string;
}

/** The bus port: explicit option, then B10_MSGQ_PORT, then 9912. */
export function resolveMsgqPort(port?: number, env: NodeJS.ProcessEnv = process.env): number {
  if (port !== undefined) return port;
  const fromEnv = env.B10_MSGQ_PORT;
  if (fromEnv === undefined || fromEnv === '') return DEFAULT_MSGQ_PORT;
  const parsed = Number(fromEnv);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) {
    throw new UsageError(`B10_MSGQ_PORT must be a port number (0-65535), not "${fromEnv}"`);
  }
  return parsed;
}

/**
 * Where to reach msgq. What the caller names wins (a socket file, then a
 * port); then the environment (B10_MSGQ_SOCKET_FILE, then B10_MSGQ_PORT);
 * then 127.0.0.1:9912.
 */
export function resolveMsgqTarget(options: TargetOptions = {}, env: NodeJS.ProcessEnv = process.env): MsgqTarget {
  if (options.socketFile) return { path: options.socketFile };
  if (options.port === undefined && env.B10_MSGQ_SOCKET_FILE) return { path: env.B10_MSGQ_SOCKET_FILE };
  return { host: options.host ?? DEFAULT_MSGQ_HOST, port: resolveMsgqPort(options.port, env) };
}

export function describeTarget(target: MsgqTarget): string {
  return 'path' in target ? target.path : `${target.host}:${target.port}`;
}

/** One connection attempt, no retry. */
export function connectOnce(target: MsgqTarget): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = 'path' in target ? net.connect({ path: target.path }) : net.connect({ host: target.host, port: target.port });
    const onError = (err: Error): void => {
      socket.destroy();
      reject(err);
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

/** How long connectWithRetry keeps its first, short pause: about what msgq takes to start. */
const SHORT_PAUSES_MS = 1000;

/**
 * Connects, retrying refused or failed attempts until `deadlineMs` has
 * passed (a daemon may still be starting). With a deadline of 0 there is
 * exactly one attempt. The pause stays at 10 ms for the first second, so a
 * program started with msgq (the config manager beside it, under the boss)
 * connects within 10 ms of msgq listening rather than at a doubled step up
 * to 160 ms later; a refused connect on loopback costs next to nothing.
 * After that it doubles, up to 250 ms.
 */
export async function connectWithRetry(target: MsgqTarget, deadlineMs: number): Promise<net.Socket> {
  const startedAt = Date.now();
  const giveUpAt = startedAt + deadlineMs;
  let pause = 10;
  for (;;) {
    try {
      return await connectOnce(target);
    } catch (err) {
      const left = giveUpAt - Date.now();
      if (left <= 0) throw new ConnectionError(describeTarget(target), { cause: err });
      await sleep(Math.min(pause, left));
      if (Date.now() - startedAt >= SHORT_PAUSES_MS) pause = Math.min(pause * 2, 250);
    }
  }
}
