import { Command } from 'commander';
import { printJson, withBusOptions, withSession, type BusOptions } from './common.js';

export function membersCommand(): Command {
  return withBusOptions(
    new Command('members')
      .description('print the lnames of the clients on the bus, or of those subscribed to GROUP, as a JSON array')
      .argument('[group]', 'only clients subscribed to this group'),
  ).action(async (group: string | undefined, opts: BusOptions) => {
    await withSession(opts, async (session) => {
      printJson(await session.command('Msgq', 'members', group === undefined ? undefined : { group }));
    });
  });
}
