import { UsageError, ValidationError } from './errors.js';
import { constraintProblem, matchesType, type CommandSpec, type ItemSpec } from './spec.js';

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

/**
 * ["zones", 2, "port"] -> "zones[2]/port": the path as problems report it
 * and as `b10 config` takes it. A key parsePath could not read back (one
 * holding "/", brackets or quotes) is quoted.
 */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += `${out === '' ? '' : '/'}${/^[^/[\]"]+$/.test(segment) ? segment : JSON.stringify(segment)}`;
  }
  return out;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** The problem of an item the spec does not have. */
export const UNKNOWN_ITEM = 'unknown item';

/** One thing wrong with a configuration: where, and what. */
export interface ConfigIssue {
  path: PathSegment[];
  /** "unknown item", "expected integer, got string \"x\"", "99999 is above the maximum 65535". */
  problem: string;
}

/** An issue as it is reported: `zones[2]/port: expected integer, got string "x"`. */
export function describeIssue({ path, problem }: ConfigIssue): string {
  return path.length === 0 ? problem : `${formatPath(path)}: ${problem}`;
}

function checkValue(item: ItemSpec, value: unknown, path: PathSegment[], issues: ConfigIssue[]): void {
  if (!matchesType(item.item_type, value)) {
    issues.push({ path, problem: `expected ${item.item_type}, got ${describe(value)}` });
    return;
  }
  const why = constraintProblem(item, value);
  if (why) issues.push({ path, problem: why });
  if (item.item_type === 'list') {
    (value as unknown[]).forEach((element, i) => checkValue(item.list_item_spec!, element, [...path, i], issues));
  } else if (item.item_type === 'map') {
    checkItems(item.map_item_spec!, value as Config, path, issues);
  } else if (item.item_type === 'named_set') {
    for (const [key, element] of Object.entries(value as Config)) {
      checkValue(item.named_set_item_spec!, element, [...path, key], issues);
    }
  }
}

function checkItems(items: readonly ItemSpec[], data: Config, path: PathSegment[], issues: ConfigIssue[]): void {
  const byName = new Map(items.map((i) => [i.item_name, i]));
  for (const [key, value] of Object.entries(data)) {
    const item = byName.get(key);
    if (!item) issues.push({ path: [...path, key], problem: UNKNOWN_ITEM });
    else checkValue(item, value, [...path, key], issues);
  }
}

/**
 * What is wrong with a module's configuration, each issue with its path;
 * empty when valid. Items left out take their defaults, so a partial
 * configuration is checked as it stands.
 */
export function configIssues(items: readonly ItemSpec[], config: unknown): ConfigIssue[] {
  if (!isMap(config)) return [{ path: [], problem: `configuration must be a map, got ${describe(config)}` }];
  const issues: ConfigIssue[] = [];
  checkItems(items, config, [], issues);
  return issues;
}

/** The issues as they are reported (`zones[2]/port: expected integer, got string "x"`); empty when valid. */
export function configProblems(items: readonly ItemSpec[], config: unknown): string[] {
  return configIssues(items, config).map(describeIssue);
}

/** Throws ValidationError listing every problem. */
export function assertValidConfig(items: readonly ItemSpec[], config: unknown): asserts config is Config {
  const problems = configProblems(items, config);
  if (problems.length > 0) throw new ValidationError(problems);
}

/** Orders paths so that removing them one by one never moves a list element another path still names. */
function laterFirst(a: readonly PathSegment[], b: readonly PathSegment[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] === b[i]) continue;
    if (typeof a[i] === 'number' && typeof b[i] === 'number') return (b[i] as number) - (a[i] as number);
    return String(b[i]).localeCompare(String(a[i]));
  }
  return b.length - a.length;
}

/**
 * `config` without the values `issues` name: an unknown item is dropped, a
 * refused value removed so that its default applies, a refused list
 * element taken out of its list. What a module runs on when its stored
 * configuration no longer fits its spec. The input is not changed.
 */
export function withoutIssues(config: Config, issues: readonly ConfigIssue[]): Config {
  let out = config;
  for (const { path } of [...issues].sort((a, b) => laterFirst(a.path, b.path))) {
    if (path.length === 0) return {};
    out = removeAt(out, path);
  }
  return out;
}

/** A copy of `data` without the value at `path` (a list element is spliced out); `data` as it is when there is none. */
function removeAt(data: Config, path: readonly PathSegment[]): Config {
  const remove = (here: unknown, depth: number): unknown => {
    const segment = path[depth]!;
    const last = depth === path.length - 1;
    if (Array.isArray(here) && typeof segment === 'number' && segment < here.length) {
      const copy = [...here];
      if (last) copy.splice(segment, 1);
      else copy[segment] = remove(here[segment], depth + 1);
      return copy;
    }
    if (isMap(here) && typeof segment === 'string' && segment in here) {
      const { [segment]: inner, ...rest } = here;
      return last ? rest : { ...rest, [segment]: remove(inner, depth + 1) };
    }
    return here;
  };
  return remove(data, 0) as Config;
}

/**
 * The spec of the item at `path` (a list index goes into list_item_spec,
 * any key into named_set_item_spec); undefined when the spec has no such
 * item. Everything below an `any` item is that item.
 */
export function itemAt(items: readonly ItemSpec[], path: readonly PathSegment[]): ItemSpec | undefined {
  let item: ItemSpec | undefined;
  for (const segment of path) {
    if (item?.item_type === 'any') return item;
    if (item === undefined || item.item_type === 'map') {
      const within = item === undefined ? items : item.map_item_spec!;
      item = typeof segment === 'string' ? within.find((i) => i.item_name === segment) : undefined;
    } else if (item.item_type === 'list') {
      item = typeof segment === 'number' ? item.list_item_spec : undefined;
    } else if (item.item_type === 'named_set') {
      item = typeof segment === 'string' ? item.named_set_item_spec : undefined;
    } else {
      return undefined;
    }
    if (item === undefined) return undefined;
  }
  return item;
}

/**
 * A command's arguments checked against its spec, with the defaults of
 * optional arguments filled in. Throws ValidationError.
 */
export function checkCommandArgs(command: CommandSpec, args: unknown): Config {
  const given = args === undefined || args === null ? {} : args;
  if (!isMap(given)) throw new ValidationError([`${command.command_name}: arguments must be a map, got ${describe(given)}`]);
  const issues: ConfigIssue[] = [];
  checkItems(command.command_args, given, [], issues);
  const problems = issues.map(describeIssue);
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
