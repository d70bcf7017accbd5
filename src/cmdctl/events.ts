import { COMPONENT_EVENTS, COMPONENT_STATE, CONFIG_NOTIFICATIONS, ZONE_EVENTS, ZONE_LOADED } from '../../protocol/groups.js';
import { isNotification } from '../../protocol/message.js';
import { CONFIG_UPDATE, MODULE_SPEC } from '../../protocol/module-session.js';
import { maskSecrets } from '../cfgmgr/plugins.js';

/**
 * The live events cmdctl pushes to the sockets that asked for them, made
 * from the bus's announcements:
 *   {event: "component", name, state, pid, restarts}   the boss, on every state change
 *   {event: "config_update", module, config}           the config manager, on a committed change (TSIG secrets masked)
 *   {event: "module_spec", module}                     a module registered (again)
 *   {event: "zone_loaded", origin, how}                auth serves a zone anew (how: load, transfer, update)
 */
export type OperatorEvent =
  | { event: 'component'; name: string; state: string; pid: number | null; restarts: number }
  | { event: 'config_update'; module: string; config: unknown }
  | { event: 'module_spec'; module: string }
  | { event: 'zone_loaded'; origin: string; how: string };

/** The groups whose announcements become events. */
export const EVENT_GROUPS = [COMPONENT_EVENTS, CONFIG_NOTIFICATIONS, ZONE_EVENTS] as const;

/** The event a bus message stands for; undefined for anything else (it is not passed on). */
export function eventFrom(group: string, body: unknown): OperatorEvent | undefined {
  if (!isNotification(body)) return undefined;
  const [name, params] = body.notification;
  const p = (params ?? {}) as Record<string, unknown>;
  if (group === COMPONENT_EVENTS && name === COMPONENT_STATE && typeof p.name === 'string' && typeof p.state === 'string') {
    const pid = typeof p.pid === 'number' ? p.pid : null;
    return { event: 'component', name: p.name, state: p.state, pid, restarts: typeof p.restarts === 'number' ? p.restarts : 0 };
  }
  if (group === ZONE_EVENTS && name === ZONE_LOADED && typeof p.origin === 'string') {
    return { event: 'zone_loaded', origin: p.origin, how: typeof p.how === 'string' ? p.how : 'load' };
  }
  if (group !== CONFIG_NOTIFICATIONS || typeof p.module_name !== 'string') return undefined;
  if (name === CONFIG_UPDATE) return { event: 'config_update', module: p.module_name, config: maskSecrets(p.module_name, p.config ?? {}) };
  if (name === MODULE_SPEC) return { event: 'module_spec', module: p.module_name };
  return undefined;
}
