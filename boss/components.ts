import path from 'node:path';
import { UsageError } from '../protocol/errors.js';
import { programPath } from '../src/paths.js';

/**
 * What a component is, as the Boss config describes it (BIND 10's later
 * `components` named set): which program, how much its death matters, which
 * bus group it answers on, its arguments, and where it comes in the start
 * order.
 */
export type Kind = 'core' | 'needed' | 'dispensable';
export const KINDS: readonly Kind[] = ['core', 'needed', 'dispensable'];

export interface ComponentConfig {
  /** A b10 program name (b10-msgq, b10-cfgmgr ...) or the path of a JavaScript file. */
  process: string;
  /** core: its death stops b10; needed: b10 does not start without it, otherwise it is restarted; dispensable: always restarted. */
  kind: Kind;
  /** The module (bus group) it registers as; it is not ready until that spec is registered. */
  address?: string;
  params: string[];
  /** Higher starts earlier. */
  priority: number;
}

/** b10's own programs, started from the project's build, never looked up on PATH. */
export const PROGRAMS: Readonly<Record<string, string>> = Object.freeze({
  'b10-msgq': 'msgq/main.js',
  'b10-cfgmgr': 'src/cfgmgr/main.js',
  'b10-auth': 'src/auth/main.js',
  'b10-xfrout': 'src/xfrout/main.js',
  'b10-xfrin': 'src/xfrin/main.js',
  'b10-ddns': 'src/ddns/main.js',
  'b10-cmdctl': 'src/cmdctl/main.js',
  'b10-stats': 'src/stats/main.js',
  'b10-stats-httpd': 'src/stats/httpd-main.js',
  'b10-bridge': 'src/bridge/main.js',
});

/**
 * b10's daemons built on startDaemonModule: each tells the boss over IPC once
 * it is up (its first configuration applied, its ports bound). Registering is
 * not enough for them: cmdctl, for one, binds its port only after it has
 * registered and read its configuration.
 */
const SAYS_READY: ReadonlySet<string> = new Set(['b10-auth', 'b10-xfrout', 'b10-xfrin', 'b10-ddns', 'b10-cmdctl', 'b10-stats', 'b10-stats-httpd', 'b10-bridge']);

export function saysReady(program: string): boolean {
  return SAYS_READY.has(program);
}

/** One of b10's own programs, not a JavaScript file named in the config. */
export function isOwnProgram(program: string): boolean {
  return Object.hasOwn(PROGRAMS, program);
}

export function resolveProgram(program: string): string {
  const own = PROGRAMS[program];
  if (own) return programPath(own);
  if (program.endsWith('.js') || program.endsWith('.mjs')) return path.resolve(program);
  throw new UsageError(`unknown program "${program}": not one of ${Object.keys(PROGRAMS).join(', ')} nor a .js file`);
}

/** b10-bridge, as the boss runs it while Bridge/nats names servers (it is not in Boss/components). */
export const BRIDGE_COMPONENT: readonly [string, ComponentConfig] = ['bridge', { process: 'b10-bridge', kind: 'dispensable', address: 'Bridge', params: [], priority: 0 }];

function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * The components named in the Boss config, checked and in start order.
 * Throws UsageError naming the component and the problem.
 */
export function componentsFrom(config: unknown): [string, ComponentConfig][] {
  if (!isMap(config)) return [];
  const out: [string, ComponentConfig][] = [];
  for (const [name, raw] of Object.entries(config)) {
    if (!isMap(raw)) throw new UsageError(`component ${name}: not a map`);
    if (typeof raw.process !== 'string' || raw.process === '') throw new UsageError(`component ${name}: no process`);
    const kind = (raw.kind ?? 'dispensable') as Kind;
    if (!KINDS.includes(kind)) throw new UsageError(`component ${name}: kind must be one of ${KINDS.join(', ')}`);
    resolveProgram(raw.process);
    out.push([
      name,
      {
        process: raw.process,
        kind,
        address: typeof raw.address === 'string' && raw.address !== '' ? raw.address : undefined,
        params: Array.isArray(raw.params) ? raw.params.map(String) : [],
        priority: typeof raw.priority === 'number' ? raw.priority : 0,
      },
    ]);
  }
  // Stable: equal priorities keep the order they were configured in.
  return out.sort((a, b) => b[1].priority - a[1].priority);
}
