import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TimeoutError } from '../../protocol/errors.js';
import { Session, type SessionOptions } from '../../protocol/session.js';
import { readTokenFile, TOKEN_FILE_NAME } from '../../protocol/token.js';
import { start, type LogLine, type Proc } from './process.js';

/** How long a daemon may take to start before startBus gives up. */
const START_TIMEOUT_MS = 10_000;

export interface BusOptions {
  /** Start a config manager too (needed by ModuleSession registration and startModule). */
  cfgmgr?: boolean;
  /** The config manager's data path; default a fresh temporary directory, removed on stop(). */
  dataPath?: string;
  /** More b10-msgq options, e.g. ['--max-frame', '1M']. */
  msgqArgs?: string[];
}

/** A running msgq (and config manager) of a test's own. */
export interface Bus {
  readonly port: number;
  readonly dataPath: string;
  readonly msgq: Proc;
  readonly cfgmgr: Proc | undefined;
  /** The bus token (a TCP client's first frame carries it): for a RawClient of the test's own. */
  readonly token: string;
  readonly tokenFile: string;
  /** The environment a module needs to find this bus: B10_MSGQ_PORT, B10_DATA_PATH, B10_MSGQ_TOKEN_FILE. */
  readonly env: Record<string, string>;
  /** A session on this bus, closed by stop(). */
  connect(options?: SessionOptions): Promise<Session>;
  /** Stops everything started on this bus: sessions, modules, the config manager, msgq. */
  stop(): Promise<void>;
  /** Registers something to stop with the bus (startModule does). */
  onStop(stop: () => Promise<void>): void;
}

/** `promise`, or a TimeoutError naming `what` after `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function waitFor(proc: Proc, msg: string): Promise<LogLine> {
  return within(proc.waitForLog((l) => l.msg === msg, msg), START_TIMEOUT_MS, `"${msg}"`);
}

/**
 * Starts a real msgq on a free port (its token in the data path) and, with `cfgmgr`, a real config
 * manager on a temporary data path; resolves once they answer. Each runs
 * with a lifeline to this process, so nothing outlives it even if it is
 * killed; stop() ends them in order.
 */
export async function startBus(options: BusOptions = {}): Promise<Bus> {
  const stops: (() => Promise<void>)[] = [];
  const ownDir = options.dataPath === undefined ? await mkdtemp(path.join(os.tmpdir(), 'b10-bus-')) : undefined;
  const dataPath = options.dataPath ?? ownDir!;
  const tokenFile = path.join(dataPath, TOKEN_FILE_NAME);
  const msgq = start('msgq/main.js', ['--port', '0', '--token-file', tokenFile, ...(options.msgqArgs ?? [])], { lifeline: true });
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => {});
    await msgq.stop();
    if (ownDir) await rm(ownDir, { recursive: true, force: true });
  };
  try {
    const port = (await waitFor(msgq, 'msgq listening')).port as number;
    const env = { B10_MSGQ_PORT: String(port), B10_DATA_PATH: dataPath, B10_MSGQ_TOKEN_FILE: tokenFile };
    const token = readTokenFile(tokenFile);
    let cfgmgr: Proc | undefined;
    if (options.cfgmgr) {
      const manager = start('src/cfgmgr/main.js', ['--data-path', dataPath], { env, lifeline: true });
      cfgmgr = manager;
      stops.push(() => manager.stop());
      await waitFor(manager, 'config manager ready');
    }
    return {
      port,
      dataPath,
      msgq,
      cfgmgr,
      token,
      tokenFile,
      env,
      async connect(sessionOptions = {}) {
        const session = await Session.connect({ port, token, ...sessionOptions });
        stops.push(() => session.close());
        return session;
      },
      stop: stopAll,
      onStop(stop) {
        stops.push(stop);
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
