import { formatPath, itemAt, parsePath, setValueAt, valueAt, withDefaults, type Config, type PathSegment } from '../../protocol/config-data.js';
import { AnswerError, UsageError } from '../../protocol/errors.js';
import { CONFIG_MANAGER } from '../../protocol/groups.js';
import type { Session } from '../../protocol/session.js';
import { parseModuleSpec, type ItemSpec, type ModuleSpec } from '../../protocol/spec.js';
import { maskSecrets } from './plugins.js';

/**
 * What operators do with configuration, as `b10 config` and cmdctl both do
 * it: targets are MODULE or MODULE/PATH ("Auth/listen_on[0]/port"), values
 * are shown with defaults filled in, and a change is sent as the whole
 * top-level item so the config manager checks it against the spec.
 */

/** "Auth/zones[2]/port" -> module "Auth", path ["zones", 2, "port"]. */
export function splitTarget(target: string): { module: string; path: PathSegment[] } {
  const slash = target.indexOf('/');
  const module = slash < 0 ? target : target.slice(0, slash);
  if (module === '') throw new UsageError(`no module in "${target}": expected MODULE[/PATH]`);
  return { module, path: slash < 0 ? [] : parsePath(target.slice(slash + 1)) };
}

function effective(spec: ModuleSpec | undefined, stored: Config): Config {
  return spec ? withDefaults(spec.config_data, stored) : stored;
}

/**
 * Refuses a path the module's spec has no item for (a typo, or an item a
 * newer spec dropped): told apart from an item that merely has no value.
 * Without a spec there is nothing to tell by. A value still stored there
 * is named as such, and `unset` may remove it (`storedMayGo`).
 */
function mustBeInSpec(module: string, spec: ModuleSpec | undefined, path: readonly PathSegment[], stored: Config, storedMayGo = false): void {
  if (!spec || path.length === 0 || itemAt(spec.config_data, path)) return;
  const isStored = valueAt(stored, path) !== undefined;
  if (isStored && storedMayGo) return;
  const target = `${module}/${formatPath(path)}`;
  const leftover = isStored ? ` (a stored value the module ignores: remove it with "b10 config unset ${target}")` : '';
  throw new AnswerError(1, `${target}: no such item in the spec of ${module}${leftover}`);
}

export class ConfigClient {
  constructor(
    /** The bus, or anything that carries commands to a config manager as it does (a host's bridge, for `b10 fleet`). */
    private readonly session: Pick<Session, 'command'>,
    private readonly timeout?: number,
  ) {}

  private ask(command: string, args?: unknown): Promise<unknown> {
    return this.session.command(CONFIG_MANAGER, command, args, this.timeout === undefined ? {} : { timeout: this.timeout });
  }

  /** One module's registered spec; undefined when it has none. */
  async spec(module: string): Promise<ModuleSpec | undefined> {
    const spec = await this.ask('get_module_spec', { module_name: module });
    return spec && typeof spec === 'object' && Object.keys(spec).length > 0 ? parseModuleSpec(spec, module) : undefined;
  }

  /** Every registered spec, by module name. */
  async specs(): Promise<Record<string, ModuleSpec>> {
    const raw = (await this.ask('get_module_spec')) as Record<string, unknown>;
    return Object.fromEntries(Object.entries(raw).map(([m, s]) => [m, parseModuleSpec(s, m)]));
  }

  /** A module's stored configuration as it is, secrets included: for changes, never for display. */
  async stored(module: string): Promise<Config> {
    return ((await this.ask('get_config', { module_name: module })) ?? {}) as Config;
  }

  /** Every module's configuration, defaults filled in; or one module's, or one item's; TSIG secrets masked. */
  async show(target?: string): Promise<unknown> {
    if (target === undefined) {
      const specs = await this.specs();
      const { version: _version, ...stored } = (await this.ask('get_config')) as Config;
      const modules = [...new Set([...Object.keys(specs), ...Object.keys(stored)])].sort();
      return Object.fromEntries(modules.map((m) => [m, maskSecrets(m, effective(specs[m], (stored[m] ?? {}) as Config))]));
    }
    const { module, path } = splitTarget(target);
    const spec = await this.spec(module);
    const stored = await this.stored(module);
    if (!spec && Object.keys(stored).length === 0) throw new AnswerError(1, `unknown module ${module}`);
    mustBeInSpec(module, spec, path, stored);
    const value = valueAt(maskSecrets(module, effective(spec, stored)), path);
    if (value === undefined) throw new AnswerError(1, `${module}/${formatPath(path)}: not set and no default`);
    return value;
  }

  /** Sets MODULE/PATH (or a whole MODULE's map) to `value`; the config manager's refusal comes back as an AnswerError. */
  async set(target: string, value: unknown): Promise<void> {
    const { module, path } = splitTarget(target);
    let change: Config;
    if (path.length === 0) {
      change = setValueAt({}, [], value);
    } else {
      const stored = await this.stored(module);
      const top = path[0] as string;
      const base = top in stored ? stored : effective(await this.spec(module), stored);
      change = { [top]: setValueAt(base, path, value)[top] };
    }
    await this.ask('set_config', [module, change]);
  }

  /**
   * Removes MODULE/ITEM[/SUBITEM...] so that its default applies again; an
   * item the spec no longer has is removed too, when it is stored.
   */
  async unset(target: string): Promise<void> {
    const { module, path } = splitTarget(target);
    if (path.length === 0 || path.some((s) => typeof s === 'number')) {
      throw new UsageError('unset takes MODULE/ITEM[/SUBITEM...] without list indexes (set the list instead)');
    }
    const stored = await this.stored(module);
    mustBeInSpec(module, await this.spec(module), path, stored, true);
    let change: unknown = null;
    for (const segment of [...path].reverse()) change = { [segment]: change };
    await this.ask('set_config', [module, change]);
  }

  /**
   * The problems of the stored configuration, of one module or every one:
   * items a spec does not know and values it refuses, each as
   * MODULE/PATH: problem.
   */
  async check(module?: string): Promise<string[]> {
    const answer = (await this.ask('check_config', module === undefined ? undefined : { module_name: module })) as Record<string, string[]>;
    return Object.values(answer).flat();
  }
}

/** " (0..65535)", " (at least 1)", " (ipaddress)": what the spec allows beyond the type. */
function constraints(item: ItemSpec): string {
  const { item_min: min, item_max: max, item_format: format } = item;
  if (format !== undefined) return ` (${format})`;
  if (min !== undefined && max !== undefined) return ` (${min}..${max})`;
  if (min !== undefined) return ` (at least ${min})`;
  return max === undefined ? '' : ` (at most ${max})`;
}

function describeItems(items: readonly ItemSpec[], indent: string, out: string[]): void {
  for (const item of items) {
    const flags = item.item_optional ? ' (optional)' : '';
    const dflt = item.item_default === undefined ? '' : ` = ${JSON.stringify(item.item_default)}`;
    const text = item.item_description ? `  ${item.item_description}` : '';
    out.push(`${indent}${item.item_name}: ${item.item_type}${constraints(item)}${flags}${dflt}${text}`);
    if (item.list_item_spec) describeItems([item.list_item_spec], `${indent}  [] `, out);
    if (item.map_item_spec) describeItems(item.map_item_spec, `${indent}  `, out);
    if (item.named_set_item_spec) describeItems([item.named_set_item_spec], `${indent}  {} `, out);
  }
}

/** A spec as an operator reads it: items with types and defaults, commands with arguments. */
export function describeSpec(spec: ModuleSpec): string {
  const out = [spec.module_description ? `${spec.module_name}: ${spec.module_description}` : spec.module_name];
  out.push('', 'Configuration:');
  if (spec.config_data.length === 0) out.push('  (none)');
  describeItems(spec.config_data, '  ', out);
  out.push('', 'Commands:');
  if (spec.commands.length === 0) out.push('  (none)');
  for (const command of spec.commands) {
    out.push(`  ${command.command_name}${command.command_description ? `  ${command.command_description}` : ''}`);
    describeItems(command.command_args, '      ', out);
  }
  return `${out.join('\n')}\n`;
}
