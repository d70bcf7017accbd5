import { Command, Option } from 'commander';
import { ModuleSession, type ModuleSessionOptions } from '../protocol/module-session.js';
import { parsePort } from './options.js';
/**
 * What every b10 daemon does about its surroundings: stop on SIGINT/SIGTERM,
 * and stop when the boss that started it is gone. The boss starts children
 * with an IPC channel; the channel closing is the parent's death, noticed as
 * an event rather than by polling a pid, even when the boss was SIGKILLed.
 */
export function onStopRequest(stop: (reason: string) => void): void {
  process.once('SIGINT', () => stopOnce(stop, 'SIGINT'));
  process.once('SIGTERM', () => stopOnce(stop, 'SIGTERM'));
  onParentGone(() => stopOnce(stop, 'parent process gone'));
}

let stopRequested = false;

/**
 * A process stops once. Stopping closes the bus session, and the session
 * closing asks to stop again ("bus gone"): only the first request counts,
 * so the daemon logs "stopping" once, with the reason that began it.
 */
function stopOnce(stop: (reason: string) => void, reason: string): void {
  if (stopRequested) return;
  stopRequested = true;
  stop(reason);
}

/** Set by the boss in every child's environment. */
export const SUPERVISED_ENV = 'B10_SUPERVISED';

/**
 * Calls `gone` once the boss that started this process is gone. A boss that
 * died while this process was still loading closed the channel before any
 * listener existed, so a channel already closed counts as gone too.
 */
export function onParentGone(gone: () => void): void {
  if (process.env[SUPERVISED_ENV] !== '1') return;
  if (!process.connected) setImmediate(gone);
  else process.once('disconnect', gone);
}

/** What the boss sends every child over IPC once a new msgq listens. */
export const MSGQ_UP = 'b10:msgq-up';

/**
 * What a daemon sends the boss over IPC once it is up: registered, its first
 * configuration applied (ports bound). The boss counts b10's own daemons as
 * running only then.
 */
export const READY = 'b10:ready';

/**
 * Reconnect settings for a daemon's bus session. Under the boss it keeps
 * trying for as long as the boss lives (the boss restarts msgq, or stops
 * everything when it cannot); alone it gives up after the default window.
 */
export function daemonReconnectWindow(): number | undefined {
  return process.env[SUPERVISED_ENV] === '1' ? Infinity : undefined;
}

/**
 * Has `reconnect` called as soon as the boss says a new msgq listens,
 * instead of at the next backoff step.
 */
export function onMsgqUp(reconnect: () => void): void {
  if (process.env[SUPERVISED_ENV] !== '1' || !process.connected) return;
  process.on('message', (message) => {
    if (message === MSGQ_UP) reconnect();
  });
  // A 'message' listener holds the channel open; it must not keep the daemon alive by itself.
  process.channel?.unref();
}

/**
 * What auth sends the boss, and the boss xfrout, with a client's TCP
 * connection that asked for a zone transfer (the socket travels as the
 * message's handle, its first query as base64): BIND 10's auth handed such
 * connections to xfrout the same way.
 */
export const AXFR_HANDOFF = 'b10:axfr';

/**
 * An UPDATE message on its way from auth to ddns through the boss, over
 * UDP or TCP alike: the packet (base64) and the client. The boss adds
 * `from`, the component it came from, so the answer finds its way back to
 * that process (auth may run as several).
 */
export interface UpdateHandoff {
  type: typeof UPDATE_HANDOFF;
  /** Unique within the sending process: the answer carries it back. */
  id: number;
  packet: string;
  client: { address: string; port: number; transport: 'udp' | 'tcp' };
  from?: string;
}
export const UPDATE_HANDOFF = 'b10:update';

/**
 * ddns's answer to an UpdateHandoff, routed by the boss to the component
 * `to`: the response (base64) for auth to send from the socket the update
 * came in on, none for a packet dropped; or `unavailable`, the boss's own
 * answer when ddns is not running.
 */
export interface UpdateAnswer {
  type: typeof UPDATE_ANSWER;
  id: number;
  to?: string;
  response?: string;
  unavailable?: string;
  /** Too many updates wait for ddns already (auth's workers, counted together): answered SERVFAIL. */
  busy?: boolean;
}
export const UPDATE_ANSWER = 'b10:update-answer';

/** What auth's primary tells the boss whenever one of its workers (Auth/workers) comes or goes, for `b10 ps`. */
export const WORKERS_REPORT = 'b10:auth-workers';

export interface WorkerRow {
  pid: number | null;
  state: 'starting' | 'running' | 'restarting' | 'stopping';
  restarts: number;
  /** When the current run started, ms since the epoch. */
  startedAt: number;
}

export interface WorkersReport {
  type: typeof WORKERS_REPORT;
  workers: WorkerRow[];
}

/** The options every b10 daemon on the bus takes: its data path, msgq's port, verbose logging. */
export function daemonOptions(command: Command): Command {
  return command
    .option('-d, --data-path <dir>', 'where the data lives (default: B10_DATA_PATH, else ./b10)')
    .addOption(new Option('-m, --msgq-port <port>', 'msgq port (default: B10_MSGQ_PORT, else 9912)').argParser(parsePort))
    .option('-v, --verbose', 'log debug messages', false);
}

export interface DaemonModuleOptions extends Omit<ModuleSessionOptions, 'connect' | 'session'> {
  msgqPort?: number;
  /** Stops the daemon: on the `shutdown` command, and once the bus is gone for good. */
  stop: (reason: string) => void;
}

/**
 * A daemon's module on the bus: it reconnects for as long as the boss
 * lives, at once when the boss says a new msgq listens; `shutdown` stops the
 * daemon, and so does losing the bus for good.
 */
export async function startDaemonModule(options: DaemonModuleOptions): Promise<ModuleSession> {
  const { msgqPort, stop, onCommand, ...rest } = options;
  const module = await ModuleSession.start({
    ...rest,
    connect: { port: msgqPort, reconnectWindow: daemonReconnectWindow() },
    onCommand: (name, args, env) => {
      if (name !== 'shutdown') return onCommand?.(name, args, env);
      setImmediate(() => stopOnce(stop, 'shutdown command'));
      return undefined;
    },
  });
  onMsgqUp(() => module.session.reconnectNow());
  void module.done.then(() => stopOnce(stop, 'bus gone'));
  if (process.env[SUPERVISED_ENV] === '1' && process.connected) process.send?.(READY, () => {});
  return module;
}
