import { readFile } from 'node:fs/promises';
import { SpecError } from './errors.js';
import { formatProblem, isItemFormat, ITEM_FORMATS, type ItemFormat } from './item-format.js';

/**
 * BIND 10 module specs: what a module's configuration and commands look like.
 * One definition of the format, checked when a spec is loaded or registered,
 * trusted afterwards.
 */

export const ITEM_TYPES = ['integer', 'real', 'boolean', 'string', 'list', 'map', 'named_set', 'any'] as const;
export type ItemType = (typeof ITEM_TYPES)[number];

export interface ItemSpec {
  item_name: string;
  item_type: ItemType;
  item_optional: boolean;
  item_default?: unknown;
  item_title?: string;
  item_description?: string;
  /** Bounds of an integer or real item, inclusive. */
  item_min?: number;
  item_max?: number;
  /** The form a string item must take (an IP address, a host name ...). */
  item_format?: ItemFormat;
  list_item_spec?: ItemSpec;
  map_item_spec?: ItemSpec[];
  named_set_item_spec?: ItemSpec;
}

export interface CommandSpec {
  command_name: string;
  command_description?: string;
  command_args: ItemSpec[];
}

export interface ModuleSpec {
  module_name: string;
  module_description?: string;
  config_data: ItemSpec[];
  commands: CommandSpec[];
  statistics?: ItemSpec[];
}

type Json = Record<string, unknown>;

function isMap(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Whether a value is of an item type: the one type check for specs and configurations. */
export function matchesType(type: ItemType, value: unknown): boolean {
  switch (type) {
    case 'integer':
      return Number.isInteger(value);
    case 'real':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'string':
      return typeof value === 'string';
    case 'list':
      return Array.isArray(value);
    case 'map':
    case 'named_set':
      return isMap(value);
    case 'any':
      return true;
  }
}

/**
 * Why a value of the item's type is still refused by the item's bounds or
 * format (`99999 is above the maximum 65535`, `"" is not an IP address`);
 * undefined when it is accepted. The one check of `item_min`, `item_max`
 * and `item_format`, for defaults and configurations alike.
 */
export function constraintProblem(item: ItemSpec, value: unknown): string | undefined {
  if (typeof value === 'number') {
    if (item.item_min !== undefined && value < item.item_min) return `${value} is below the minimum ${item.item_min}`;
    if (item.item_max !== undefined && value > item.item_max) return `${value} is above the maximum ${item.item_max}`;
  } else if (typeof value === 'string' && item.item_format !== undefined) {
    const why = formatProblem(item.item_format, value);
    if (why) return `${JSON.stringify(value)} ${why}`;
  }
  return undefined;
}

/** Checks item_min, item_max and item_format: each only where its item type can have it. */
function checkConstraints(value: Json, type: ItemType, fail: (message: string) => never): void {
  for (const bound of ['item_min', 'item_max'] as const) {
    if (!(bound in value)) continue;
    if (type !== 'integer' && type !== 'real') fail(`${bound} is for integer and real items, not ${type}`);
    if (typeof value[bound] !== 'number' || !Number.isFinite(value[bound])) fail(`${bound} ${JSON.stringify(value[bound])} is not a number`);
  }
  if ((value.item_min as number) > (value.item_max as number)) fail(`item_min ${String(value.item_min)} is above item_max ${String(value.item_max)}`);
  if ('item_format' in value) {
    if (type !== 'string') fail(`item_format is for string items, not ${type}`);
    if (!isItemFormat(value.item_format)) fail(`item_format ${JSON.stringify(value.item_format)} is not one of ${ITEM_FORMATS.join(', ')}`);
  }
}

/**
 * Checks one item spec; `parent` is the path of the item holding it ("" at
 * the top). A required command argument (`isArgument`) needs no default:
 * it is always given.
 */
function checkItem(source: string, value: unknown, parent: string, isArgument = false): ItemSpec {
  const within = parent === '' ? '' : `item ${parent}: `;
  if (!isMap(value)) throw new SpecError(source, `${within}item spec is not a map`);
  const name = value.item_name;
  if (typeof name !== 'string' || name === '') throw new SpecError(source, `${within}item_name missing or not a string`);
  const path = parent === '' ? name : `${parent}/${name}`;
  const fail = (message: string): never => {
    throw new SpecError(source, `item ${path}: ${message}`);
  };
  const type = value.item_type;
  if (typeof type !== 'string' || !(ITEM_TYPES as readonly string[]).includes(type)) {
    return fail(`item_type ${JSON.stringify(type)} is not one of ${ITEM_TYPES.join(', ')}`);
  }
  const itemType = type as ItemType;
  if (typeof value.item_optional !== 'boolean') return fail('item_optional missing or not a boolean');
  if (!value.item_optional && !isArgument && !('item_default' in value)) return fail('non-optional item has no item_default');
  checkConstraints(value, itemType, fail);
  const item = { ...value, item_name: name, item_type: itemType } as ItemSpec;
  if ('item_default' in value && value.item_default !== null) {
    if (!matchesType(itemType, value.item_default)) return fail(`item_default ${JSON.stringify(value.item_default)} is not of type ${itemType}`);
    const why = constraintProblem(item, value.item_default);
    if (why) return fail(`item_default ${why}`);
  }
  for (const text of ['item_title', 'item_description'] as const) {
    if (text in value && typeof value[text] !== 'string') fail(`${text} is not a string`);
  }
  if (itemType === 'list') {
    if (!('list_item_spec' in value)) return fail('list item has no list_item_spec');
    item.list_item_spec = checkItem(source, value.list_item_spec, path);
  }
  if (itemType === 'map') {
    if (!Array.isArray(value.map_item_spec)) return fail('map item has no map_item_spec list');
    item.map_item_spec = checkItems(source, value.map_item_spec, path);
  }
  if (itemType === 'named_set') {
    if (!('named_set_item_spec' in value)) return fail('named_set item has no named_set_item_spec');
    item.named_set_item_spec = checkItem(source, value.named_set_item_spec, path);
  }
  return item;
}

function checkItems(source: string, value: unknown, parent: string, areArguments = false): ItemSpec[] {
  if (!Array.isArray(value)) {
    throw new SpecError(source, `${parent === '' ? 'config_data' : `item ${parent}`}: not a list of items`);
  }
  const items = value.map((v) => checkItem(source, v, parent, areArguments));
  const seen = new Set<string>();
  for (const { item_name: name } of items) {
    if (seen.has(name)) throw new SpecError(source, `item ${parent === '' ? name : `${parent}/${name}`}: defined twice`);
    seen.add(name);
  }
  return items;
}

function checkCommands(source: string, value: unknown): CommandSpec[] {
  if (!Array.isArray(value)) throw new SpecError(source, 'commands is not a list');
  return value.map((cmd): CommandSpec => {
    if (!isMap(cmd)) throw new SpecError(source, 'command is not a map');
    const name = cmd.command_name;
    if (typeof name !== 'string' || name === '') throw new SpecError(source, 'command_name missing or not a string');
    if ('command_description' in cmd && typeof cmd.command_description !== 'string') {
      throw new SpecError(source, `command ${name}: command_description is not a string`);
    }
    if (!('command_args' in cmd)) throw new SpecError(source, `command ${name}: command_args missing`);
    const args = checkItems(source, cmd.command_args, `commands/${name}`, true);
    return { ...(cmd as object), command_name: name, command_args: args } as CommandSpec;
  });
}

/**
 * Validates a spec: the file's whole content (`{module_spec: {...}}`, or the
 * seed's older `{data_specification: {...}}`) or the inner map. Throws
 * SpecError naming `source` and the offending item.
 */
export function parseModuleSpec(value: unknown, source = 'module spec'): ModuleSpec {
  let inner: unknown = value;
  if (isMap(value) && ('module_spec' in value || 'data_specification' in value)) {
    inner = value.module_spec ?? value.data_specification;
  }
  if (!isMap(inner)) throw new SpecError(source, 'not a module spec: expected {"module_spec": {...}}');
  const name = inner.module_name;
  if (typeof name !== 'string' || name === '') throw new SpecError(source, 'module_name missing or not a string');
  if ('module_description' in inner && typeof inner.module_description !== 'string') {
    throw new SpecError(source, 'module_description is not a string');
  }
  const spec: ModuleSpec = {
    ...(inner as object),
    module_name: name,
    config_data: 'config_data' in inner ? checkItems(source, inner.config_data, '') : [],
    commands: 'commands' in inner ? checkCommands(source, inner.commands) : [],
  };
  if ('statistics' in inner) spec.statistics = checkItems(source, inner.statistics, 'statistics');
  return spec;
}

/**
 * Spec text is JSON. The seed's specs were Python literals (True, False,
 * None), which are turned into JSON outside of strings so they still load.
 */
export function parseSpecText(text: string, source: string): ModuleSpec {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (jsonError) {
    const converted = text.replace(/("(?:[^"\\]|\\.)*")|\bTrue\b|\bFalse\b|\bNone\b/g, (match, str: string | undefined) =>
      str ?? ({ True: 'true', False: 'false', None: 'null' } as Record<string, string>)[match]!,
    );
    try {
      value = JSON.parse(converted);
    } catch {
      throw new SpecError(source, `not valid JSON: ${(jsonError as Error).message}`);
    }
  }
  return parseModuleSpec(value, source);
}

export async function loadSpecFile(path: string): Promise<ModuleSpec> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new SpecError(path, `cannot read: ${(err as Error).message}`);
  }
  return parseSpecText(text, path);
}

export function commandSpec(spec: ModuleSpec, name: string): CommandSpec | undefined {
  return spec.commands.find((c) => c.command_name === name);
}
