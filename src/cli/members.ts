import { Command } from 'commander';
import { MSGQ_GROUP } from '../../protocol/groups.js';
import { printJson, withBusOptions, withSession, type BusOptions } from './common.js';

export function membersCommand(): Command {
  return withBusOptions(
    new Command('members')
      .description('print the lnames of the clients on the bus, or of those subscribed to GROUP, as a JSON array')
      .argument('[group]', 'only clients subscribed to this group'),
  ).action(async (group: string | undefined, opts: BusOptions) => {
    await withSession(opts, async (session) => {
      printJson(await session.command(MSGQ_GROUP, 'members', group === undefined ? undefined : { group }));
    });
  });
}
