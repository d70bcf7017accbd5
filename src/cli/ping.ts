import { Command } from 'commander';
import { withBusOptions, withSession, type BusOptions } from './common.js';

export function pingCommand(): Command {
  return withBusOptions(
    new Command('ping').description('check that msgq answers, and print the round-trip time'),
  ).action(async (opts: BusOptions) => {
    await withSession(opts, async (session) => {
      const start = process.hrtime.bigint();
      await session.ping();
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      process.stdout.write(`pong from msgq in ${ms.toFixed(3)} ms (${session.lname})\n`);
    });
  });
}
