import { Command } from 'commander';
import { AnswerError } from '../../protocol/errors.js';
import { ConfigClient, describeSpec, splitTarget } from '../cfgmgr/client.js';
import { parseJsonArgument, withBusOptions, withSession, type BusOptions } from './common.js';

function printPretty(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function showCommand(): Command {
  return withBusOptions(
    new Command('show')
      .description('print the configuration (defaults filled in) of every module, one module, or one item, as JSON')
      .argument('[target]', 'MODULE or MODULE/PATH, e.g. Auth/listen_on[0]/port'),
  ).action(async (target: string | undefined, opts: BusOptions) => {
    await withSession(opts, async (session) => printPretty(await new ConfigClient(session).show(target)));
  });
}

function setCommand(): Command {
  return withBusOptions(
    new Command('set')
      .description('change one configuration value; the config manager checks it against the module\'s spec')
      .argument('<target>', 'MODULE/PATH, e.g. Auth/listen_on[0]/port or Xfrin/zones[0]/master_addr')
      .argument('<value_json>', 'the new value as JSON, e.g. 53 or \'"example.org"\''),
  ).action(async (target: string, valueJson: string, opts: BusOptions) => {
    const value = parseJsonArgument('VALUE_JSON', valueJson);
    splitTarget(target); // a bad target is a usage error before the bus is involved
    await withSession(opts, (session) => new ConfigClient(session).set(target, value));
  });
}

function unsetCommand(): Command {
  return withBusOptions(
    new Command('unset')
      .description('remove a configuration value, so that its default applies again')
      .argument('<target>', 'MODULE/PATH, e.g. Auth/rate_limit/slip'),
  ).action(async (target: string, opts: BusOptions) => {
    await withSession(opts, (session) => new ConfigClient(session).unset(target));
  });
}

function checkCommand(): Command {
  return withBusOptions(
    new Command('check')
      .description('list stored items the module\'s spec does not know or whose value it refuses (exit 1 if any); the modules ignore them')
      .argument('[module]', 'one module, e.g. Auth; every module when left out'),
  ).action(async (module: string | undefined, opts: BusOptions) => {
    await withSession(opts, async (session) => {
      const problems = await new ConfigClient(session).check(module);
      for (const problem of problems) process.stdout.write(`${problem}\n`);
      if (problems.length > 0) {
        throw new AnswerError(1, `${problems.length} stored item(s) the spec refuses: remove them with "b10 config unset" or give them valid values with "b10 config set"`);
      }
    });
  });
}

function specCommand(): Command {
  return withBusOptions(
    new Command('spec')
      .description('describe a module\'s configuration items and commands, as registered with the config manager')
      .argument('<module>', 'module name, e.g. Boss')
      .option('--json', 'print the spec itself as JSON', false),
  ).action(async (module: string, opts: BusOptions & { json: boolean }) => {
    await withSession(opts, async (session) => {
      const spec = await new ConfigClient(session).spec(module);
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
    .addCommand(checkCommand())
    .addCommand(specCommand());
}
