import { UsageError, ValidationError } from './errors.js';
import { matchesType, type CommandSpec, type ItemSpec } from './spec.js';

/**
 * Configuration against a module spec: validation with the path of every
 * problem, defaults, merging and path lookups. Pure functions, no I/O.
 */

export type Config = Record<string, unknown>;
export type PathSegment = string | number;

function isMap(value: unknown): value is Config {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** "zones[2]/port" -> ["zones", 2, "port"]; segments are separated by "/", list indexes in brackets. */
export function parsePath(text: string): PathSegment[] {
  const path: PathSegment[] = [];
  for (const part of text.split('/')) {
    if (part === '') continue;
    const match = /^([^[\]]+)((?:\[\d+\])*)$/.exec(part);
    if (!match) throw new UsageError(`bad path segment "${part}" in "${text}"`);
    path.push(match[1]!);
    for (const index of match[2]!.matchAll(/\[(\d+)\]/g)) path.push(Number(index[1]));
  }
  return path;
}

/** ["zones", 2, "port"] -> "zones[2].port", as problems are reported. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function checkValue(item: ItemSpec, value: unknown, path: PathSegment[], problems: string[]): void {
  if (!matchesType(item.item_type, value)) {
    problems.push(`${formatPath(path)}: expected ${item.item_type}, got ${describe(value)}`);
    return;
  }
  if (item.item_type === 'list') {
    (value as unknown[]).forEach((element, i) => checkValue(item.list_item_spec!, element, [...path, i], problems));
  } else if (item.item_type === 'map') {
    checkItems(item.map_item_spec!, value as Config, path, problems);
  } else if (item.item_type === 'named_set') {
    for (const [key, element] of Object.entries(value as Config)) {
      checkValue(item.named_set_item_spec!, element, [...path, key], problems);
    }
  }
}

function checkItems(items: readonly ItemSpec[], data: Config, path: PathSegment[], problems: string[]): void {
  const byName = new Map(items.map((i) => [i.item_name, i]));
  for (const [key, value] of Object.entries(data)) {
    const item = byName.get(key);
    if (!item) problems.push(`${formatPath([...path, key])}: unknown item`);
    else checkValue(item, value, [...path, key], problems);
  }
}

/**
 * Problems with a module's configuration, each naming its path
 * (`zones[2].port: expected integer, got string "x"`); empty when valid.
 * Items left out take their defaults, so a partial configuration is checked
 * as it stands.
 */
export function configProblems(items: readonly ItemSpec[], config: unknown): string[] {
  if (!isMap(config)) return [`configuration must be a map, got ${describe(config)}`];
  const problems: string[] = [];
  checkItems(items, config, [], problems);
  return problems;
}

/** Throws ValidationError listing every problem. */
export function assertValidConfig(items: readonly ItemSpec[], config: unknown): asserts config is Config {
  const problems = configProblems(items, config);
  if (problems.length > 0) throw new ValidationError(problems);
}

/**
 * A command's arguments checked against its spec, with the defaults of
 * optional arguments filled in. Throws ValidationError.
 */
export function checkCommandArgs(command: CommandSpec, args: unknown): Config {
  const given = args === undefined || args === null ? {} : args;
  if (!isMap(given)) throw new ValidationError([`${command.command_name}: arguments must be a map, got ${describe(given)}`]);
  const problems: string[] = [];
  checkItems(command.command_args, given, [], problems);
  for (const item of command.command_args) {
    if (!item.item_optional && !(item.item_name in given)) problems.push(`${item.item_name}: missing`);
  }
  if (problems.length > 0) throw new ValidationError(problems.map((p) => `${command.command_name}: ${p}`));
  return withDefaults(command.command_args, given);
}

function filled(item: ItemSpec, value: unknown): unknown {
  if (item.item_type === 'map' && isMap(value)) return withDefaults(item.map_item_spec!, value);
  if (item.item_type === 'list' && Array.isArray(value)) return value.map((v) => filled(item.list_item_spec!, v));
  if (item.item_type === 'named_set' && isMap(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, filled(item.named_set_item_spec!, v)]));
  }
  return value;
}

/** The configuration as the module sees it: every item with a default filled in, to any depth. */
export function withDefaults(items: readonly ItemSpec[], config: Config): Config {
  const out: Config = {};
  for (const item of items) {
    const value = item.item_name in config ? config[item.item_name] : item.item_default;
    if (value !== undefined && value !== null) out[item.item_name] = filled(item, structuredClone(value));
  }
  for (const [key, value] of Object.entries(config)) if (!(key in out)) out[key] = value;
  return out;
}

/**
 * `update` laid over `base`: maps merge key by key, anything else replaces,
 * and null removes the key (back to its default). Neither input is changed.
 */
export function mergeConfig(base: Config, update: Config): Config {
  const out: Config = { ...base };
  for (const [key, value] of Object.entries(update)) {
    if (value === null) delete out[key];
    else if (isMap(value) && isMap(out[key])) out[key] = mergeConfig(out[key] as Config, value);
    else out[key] = value;
  }
  return out;
}

/** The value at `path`, or undefined when there is none. */
export function valueAt(data: unknown, path: readonly PathSegment[]): unknown {
  let here = data;
  for (const segment of path) {
    if (typeof segment === 'number') {
      if (!Array.isArray(here)) return undefined;
      here = here[segment];
    } else {
      if (!isMap(here)) return undefined;
      here = here[segment];
    }
  }
  return here;
}

/**
 * A copy of `data` with `value` at `path`, making maps on the way; a list
 * index must already exist or be the next one. Throws UsageError otherwise.
 */
export function setValueAt(data: Config, path: readonly PathSegment[], value: unknown): Config {
  if (path.length === 0) {
    if (!isMap(value)) throw new UsageError('a whole module configuration must be a map');
    return value;
  }
  const place = (here: unknown, depth: number): unknown => {
    if (depth === path.length) return value;
    const segment = path[depth]!;
    if (typeof segment === 'number') {
      if (!Array.isArray(here)) throw new UsageError(`${formatPath(path.slice(0, depth))} is not a list`);
      if (segment > here.length) throw new UsageError(`${formatPath(path.slice(0, depth + 1))}: no such list element`);
      const copy = [...here];
      copy[segment] = place(here[segment], depth + 1);
      return copy;
    }
    const map = here === undefined ? {} : here;
    if (!isMap(map)) throw new UsageError(`${formatPath(path.slice(0, depth))} is not a map`);
    return { ...map, [segment]: place(map[segment], depth + 1) };
  };
  return place(data, 0) as Config;
}
