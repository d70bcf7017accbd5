import { Command } from 'commander';
import { ClosedError } from '../../protocol/errors.js';
import { printJson, withBusOptions, withSession, type BusOptions } from './common.js';

export function listenCommand(): Command {
  return withBusOptions(
    new Command('listen')
      .description('subscribe to a group and print every message received as one JSON line {env, body}')
      .argument('<group>', 'group to subscribe to, e.g. cc_members')
      .argument('[instance]', 'instance within the group', '*'),
  ).action(async (group: string, instance: string, opts: BusOptions) => {
    await withSession(opts, async (session) => {
      const stop = (): void => void session.close();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await session.subscribe(group, instance);
      process.stderr.write(`b10: listening to ${group}/${instance} as ${session.lname}\n`);
      for await (const { env, body } of session) printJson({ env, body });
      const reason = await session.closed;
      if (reason) throw reason instanceof ClosedError ? new ClosedError('msgq closed the connection') : reason;
    });
  });
}
