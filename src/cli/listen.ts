import { Command, Option } from 'commander';
import { ClosedError } from '../../protocol/errors.js';
import { DEFAULT_RECONNECT_WINDOW_MS } from '../../protocol/session.js';
import { parseMillisecondsOrZero } from '../options.js';
import { connect, printJson, withBusOptions, type BusOptions } from './common.js';

interface ListenOpts extends BusOptions {
  reconnectWindow: number;
}

export function listenCommand(): Command {
  return withBusOptions(
    new Command('listen')
      .description('subscribe to a group and print every message received as one JSON line {env, body}; rides out msgq restarts')
      .argument('<group>', 'group to subscribe to, e.g. cc_members')
      .argument('[instance]', 'instance within the group', '*')
      .addOption(
        new Option('--reconnect-window <ms>', 'when msgq goes away, how long to keep trying to reconnect before exiting 3 (0: exit at once)')
          .argParser(parseMillisecondsOrZero)
          .default(DEFAULT_RECONNECT_WINDOW_MS),
      ),
  ).action(async (group: string, instance: string, opts: ListenOpts) => {
    const session = await connect(opts, { reconnect: opts.reconnectWindow > 0, reconnectWindow: opts.reconnectWindow });
    const stop = (): void => void session.close();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    session.on('disconnect', (reason) => process.stderr.write(`b10: lost msgq (${reason.message}): reconnecting\n`));
    session.on('reconnect', ({ lname, downMs }) =>
      process.stderr.write(`b10: reconnected after ${downMs} ms, listening to ${group}/${instance} as ${lname}\n`),
    );
    await session.subscribe(group, instance);
    process.stderr.write(`b10: listening to ${group}/${instance} as ${session.lname}\n`);
    for await (const { env, body } of session) printJson({ env, body });
    const reason = await session.closed;
    if (reason) throw reason instanceof ClosedError && opts.reconnectWindow === 0 ? new ClosedError('msgq closed the connection') : reason;
  });
}
