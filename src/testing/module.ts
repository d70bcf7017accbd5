import { UsageError } from '../../protocol/errors.js';
import { CONFIG_NOTIFICATIONS } from '../../protocol/groups.js';
import { createCommand, isNotification } from '../../protocol/message.js';
import { MODULE_SPEC } from '../../protocol/module-session.js';
import type { Bus } from './bus.js';
import { expectMessage } from './expect.js';
import { start, type Proc } from './process.js';

export interface ModuleOptions {
  /** The module name (bus group) it registers as. */
  module: string;
  args?: string[];
  env?: Record<string, string>;
  /** How long it may take to register, ms; default 10 s. */
  timeout?: number;
}

export interface ModuleProcess {
  readonly proc: Proc;
  readonly module: string;
  /** Sends `shutdown` over the bus, then SIGTERM, then SIGKILL, as the boss does; resolves once it exited. */
  stop(): Promise<void>;
}

/**
 * Runs a module program as the boss would — a Node process with the bus's
 * port and data path in its environment and a lifeline to this process —
 * and resolves once it has registered its spec with the config manager.
 * Rejects if it exits or does not register in time.
 */
export async function startModule(bus: Bus, script: string, options: ModuleOptions): Promise<ModuleProcess> {
  if (!bus.cfgmgr) throw new UsageError('startModule needs a config manager: startBus({ cfgmgr: true })');
  const watcher = await bus.connect();
  await watcher.subscribe(CONFIG_NOTIFICATIONS);
  const proc = start(script, options.args ?? [], { env: { ...bus.env, ...options.env }, lifeline: true });
  const stop = async (): Promise<void> => {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
    if (!watcher.isClosed) watcher.send(options.module, createCommand('shutdown'));
    const exited = proc.exited.then(() => true);
    const grace = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 1000).unref());
    if (!(await Promise.race([exited, grace]))) await proc.stop();
  };
  bus.onStop(stop);
  const registered = expectMessage(
    watcher,
    ({ body }) =>
      isNotification(body) &&
      body.notification[0] === MODULE_SPEC &&
      (body.notification[1] as { module_name?: unknown } | undefined)?.module_name === options.module,
    options.timeout ?? 10_000,
  );
  const died = proc.exited.then(({ code, signal }): never => {
    throw new Error(`${script} exited (code ${code}, signal ${signal}) before registering as ${options.module}:\n${proc.stderrLines.join('\n')}`);
  });
  try {
    await Promise.race([registered, died]);
  } catch (err) {
    await stop();
    throw err;
  } finally {
    died.catch(() => {});
    registered.catch(() => {});
  }
  return { proc, module: options.module, stop };
}
