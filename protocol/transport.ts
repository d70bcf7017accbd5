import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConnectionError, UsageError } from './errors.js';
import { DEFAULT_MSGQ_PORT } from './limits.js';

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

function connectOnce(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
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

/**
 * Connects, retrying refused or failed attempts with a growing pause until
 * `deadlineMs` has passed (a daemon may still be starting).
 */
export async function connectWithRetry(host: string, port: number, deadlineMs: number): Promise<net.Socket> {
  const giveUpAt = Date.now() + deadlineMs;
  let pause = 10;
  for (;;) {
    try {
      return await connectOnce(host, port);
    } catch (err) {
      const left = giveUpAt - Date.now();
      if (left <= 0) throw new ConnectionError(host, port, { cause: err });
      await sleep(Math.min(pause, left));
      pause = Math.min(pause * 2, 250);
    }
  }
}
