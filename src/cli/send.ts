import { Command } from 'commander';
import { checkCommandArgs } from '../../protocol/config-data.js';
import { NoRecipientError, TimeoutError, UsageError } from '../../protocol/errors.js';
import { CONFIG_MANAGER } from '../../protocol/module-session.js';
import type { Session } from '../../protocol/session.js';
import { commandSpec, parseModuleSpec } from '../../protocol/spec.js';
import { parseJsonArgument, printJson, withBusOptions, withSession, type BusOptions } from './common.js';

interface SendOpts extends BusOptions {
  instance: string;
  to: string;
  check: boolean;
}

/** How long the spec check may wait for the config manager before the command is sent unchecked. */
const SPEC_CHECK_MS = 1000;

/**
 * Checks the command against the module's registered spec, when the config
 * manager is up and knows the module; anything else sends it unchecked.
 */
async function checkAgainstSpec(session: Session, group: string, name: string, args: unknown, timeout: number): Promise<void> {
  let raw: unknown;
  try {
    raw = await session.command(CONFIG_MANAGER, 'get_module_spec', { module_name: group }, { timeout: Math.min(timeout, SPEC_CHECK_MS) });
  } catch (err) {
    if (err instanceof NoRecipientError || err instanceof TimeoutError) return;
    throw err;
  }
  if (!raw || typeof raw !== 'object' || Object.keys(raw).length === 0) return;
  const spec = parseModuleSpec(raw, group);
  const command = commandSpec(spec, name);
  if (!command) {
    const known = spec.commands.map((c) => c.command_name).join(', ') || 'none';
    throw new UsageError(`${group} has no command ${name} (its commands: ${known}); --no-check sends it anyway`);
  }
  checkCommandArgs(command, args);
}

export function sendCommand(): Command {
  return withBusOptions(
    new Command('send')
      .description('send a command to a module and print the value of its answer as JSON')
      .argument('<group>', 'module (group) to address, e.g. Boss')
      .argument('<command>', 'command name')
      .argument('[args_json]', 'command arguments as JSON, e.g. \'{"message":"hi"}\'')
      .option('-i, --instance <instance>', 'instance within the group', '*')
      .option('--to <lname>', 'deliver to this one client instead of the whole group', '*')
      .option('--no-check', 'do not check the command against the module\'s registered spec'),
  ).action(async (group: string, name: string, argsJson: string | undefined, opts: SendOpts) => {
    const args = argsJson === undefined ? undefined : parseJsonArgument('ARGS_JSON', argsJson);
    await withSession(opts, async (session) => {
      if (opts.check && group !== CONFIG_MANAGER) await checkAgainstSpec(session, group, name, args, opts.timeout);
      const value = await session.command(group, name, args, { instance: opts.instance, to: opts.to });
      if (value !== undefined) printJson(value);
    });
  });
}
