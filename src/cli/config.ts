import { Command } from 'commander';
import {
  formatPath,
  parsePath,
  setValueAt,
  valueAt,
  withDefaults,
  type Config,
  type PathSegment,
} from '../../protocol/config-data.js';
import { AnswerError, UsageError } from '../../protocol/errors.js';
import { CONFIG_MANAGER } from '../../protocol/module-session.js';
import type { Session } from '../../protocol/session.js';
import { parseModuleSpec, type ItemSpec, type ModuleSpec } from '../../protocol/spec.js';
import { parseJsonArgument, withBusOptions, withSession, type BusOptions } from './common.js';

function printPretty(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** "Auth/zones[2]/port" -> module "Auth", path ["zones", 2, "port"]. */
function splitTarget(target: string): { module: string; path: PathSegment[] } {
  const slash = target.indexOf('/');
  const module = slash < 0 ? target : target.slice(0, slash);
  if (module === '') throw new UsageError(`no module in "${target}": expected MODULE[/PATH]`);
  return { module, path: slash < 0 ? [] : parsePath(target.slice(slash + 1)) };
}

async function moduleSpec(session: Session, module: string): Promise<ModuleSpec | undefined> {
  const spec = await session.command(CONFIG_MANAGER, 'get_module_spec', { module_name: module });
  return spec && typeof spec === 'object' && Object.keys(spec).length > 0 ? parseModuleSpec(spec, module) : undefined;
}

async function storedConfig(session: Session, module: string): Promise<Config> {
  return ((await session.command(CONFIG_MANAGER, 'get_config', { module_name: module })) ?? {}) as Config;
}

function effective(spec: ModuleSpec | undefined, stored: Config): Config {
  return spec ? withDefaults(spec.config_data, stored) : stored;
}

function showCommand(): Command {
  return withBusOptions(
    new Command('show')
      .description('print the configuration (defaults filled in) of every module, one module, or one item, as JSON')
      .argument('[target]', 'MODULE or MODULE/PATH, e.g. Auth/zones[0]/origin'),
  ).action(async (target: string | undefined, opts: BusOptions) => {
    await withSession(opts, async (session) => {
      if (target === undefined) {
        const specs = (await session.command(CONFIG_MANAGER, 'get_module_spec')) as Record<string, unknown>;
        const { version: _version, ...stored } = (await session.command(CONFIG_MANAGER, 'get_config')) as Config;
        const modules = [...new Set([...Object.keys(specs), ...Object.keys(stored)])].sort();
        printPretty(
          Object.fromEntries(
            modules.map((m) => [m, effective(specs[m] ? parseModuleSpec(specs[m], m) : undefined, (stored[m] ?? {}) as Config)]),
          ),
        );
        return;
      }
      const { module, path } = splitTarget(target);
      const spec = await moduleSpec(session, module);
      const stored = await storedConfig(session, module);
      if (!spec && Object.keys(stored).length === 0) throw new AnswerError(1, `unknown module ${module}`);
      const value = valueAt(effective(spec, stored), path);
      if (value === undefined) throw new AnswerError(1, `${module}/${formatPath(path)}: not set and no default`);
      printPretty(value);
    });
  });
}

/** The change to send for `path` = `value`: the whole top-level item, rebuilt from the stored or default one. */
function changeFor(spec: ModuleSpec | undefined, stored: Config, path: PathSegment[], value: unknown): Config {
  if (path.length === 0) return setValueAt({}, [], value);
  const top = path[0] as string;
  const base = top in stored ? stored : effective(spec, stored);
  const updated = setValueAt(base, path, value);
  return { [top]: updated[top] };
}

function setCommand(): Command {
  return withBusOptions(
    new Command('set')
      .description('change one configuration value; the config manager checks it against the module\'s spec')
      .argument('<target>', 'MODULE/PATH, e.g. Auth/port or Auth/zones[0]/origin')
      .argument('<value_json>', 'the new value as JSON, e.g. 53 or \'"example.org"\''),
  ).action(async (target: string, valueJson: string, opts: BusOptions) => {
    const value = parseJsonArgument('VALUE_JSON', valueJson);
    const { module, path } = splitTarget(target);
    await withSession(opts, async (session) => {
      const spec = await moduleSpec(session, module);
      const change = changeFor(spec, await storedConfig(session, module), path, value);
      await session.command(CONFIG_MANAGER, 'set_config', [module, change]);
    });
  });
}

function unsetCommand(): Command {
  return withBusOptions(
    new Command('unset')
      .description('remove a configuration value, so that its default applies again')
      .argument('<target>', 'MODULE/PATH, e.g. Auth/port'),
  ).action(async (target: string, opts: BusOptions) => {
    const { module, path } = splitTarget(target);
    if (path.length === 0 || path.some((s) => typeof s === 'number')) {
      throw new UsageError('unset takes MODULE/ITEM[/SUBITEM...] without list indexes (set the list instead)');
    }
    let change: unknown = null;
    for (const segment of [...path].reverse()) change = { [segment]: change };
    await withSession(opts, async (session) => {
      await session.command(CONFIG_MANAGER, 'set_config', [module, change]);
    });
  });
}

function describeItems(items: readonly ItemSpec[], indent: string, out: string[]): void {
  for (const item of items) {
    const flags = item.item_optional ? ' (optional)' : '';
    const dflt = item.item_default === undefined ? '' : ` = ${JSON.stringify(item.item_default)}`;
    const text = item.item_description ? `  ${item.item_description}` : '';
    out.push(`${indent}${item.item_name}: ${item.item_type}${flags}${dflt}${text}`);
    if (item.list_item_spec) describeItems([item.list_item_spec], `${indent}  [] `, out);
    if (item.map_item_spec) describeItems(item.map_item_spec, `${indent}  `, out);
    if (item.named_set_item_spec) describeItems([item.named_set_item_spec], `${indent}  {} `, out);
  }
}

/** A spec as an operator reads it: items with types and defaults, commands with arguments. */
function describeSpec(spec: ModuleSpec): string {
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

function specCommand(): Command {
  return withBusOptions(
    new Command('spec')
      .description('describe a module\'s configuration items and commands, as registered with the config manager')
      .argument('<module>', 'module name, e.g. Boss')
      .option('--json', 'print the spec itself as JSON', false),
  ).action(async (module: string, opts: BusOptions & { json: boolean }) => {
    await withSession(opts, async (session) => {
      const spec = await moduleSpec(session, module);
      if (!spec) throw new AnswerError(1, `no spec registered for module ${module}`);
      if (opts.json) printPretty(spec);
      else process.stdout.write(describeSpec(spec));
    });
  });
}

export function configCommand(): Command {
  return new Command('config')
    .description('show and change module configuration through the config manager')
    .addCommand(showCommand())
    .addCommand(setCommand())
    .addCommand(unsetCommand())
    .addCommand(specCommand());
}
