import { Command } from 'commander';
import { parseJsonArgument, printJson, withBusOptions, withSession, type BusOptions } from './common.js';

interface SendOpts extends BusOptions {
  instance: string;
  to: string;
}

export function sendCommand(): Command {
  return withBusOptions(
    new Command('send')
      .description('send a command to a module and print the value of its answer as JSON')
      .argument('<group>', 'module (group) to address, e.g. Boss')
      .argument('<command>', 'command name')
      .argument('[args_json]', 'command arguments as JSON, e.g. \'{"message":"hi"}\'')
      .option('-i, --instance <instance>', 'instance within the group', '*')
      .option('--to <lname>', 'deliver to this one client instead of the whole group', '*'),
  ).action(async (group: string, name: string, argsJson: string | undefined, opts: SendOpts) => {
    const args = argsJson === undefined ? undefined : parseJsonArgument('ARGS_JSON', argsJson);
    await withSession(opts, async (session) => {
      const value = await session.command(group, name, args, { instance: opts.instance, to: opts.to });
      if (value !== undefined) printJson(value);
    });
  });
}
