import { Command, Option } from 'commander';
import { UsageError } from '../../protocol/errors.js';
import { BOSS } from '../../protocol/groups.js';
import { RCODE_OK } from '../../protocol/message.js';
import { ALL_EVENTS_SUBJECT, eventsSubject, groupProblem, hostProblem, serverProblem } from '../bridge/subjects.js';
import { splitTarget } from '../cfgmgr/client.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_UNREACHABLE, parseCount, parseMilliseconds } from '../options.js';
import { processTable, type Row } from './boss.js';
import { parseJsonArgument, printJson } from './common.js';
import { FleetClient } from './fleet-client.js';
import { fleetExitCode, parseHostList, sharedName, type HostOutcome } from './fleet-results.js';

/** Where NATS is when neither --nats nor B10_FLEET_NATS says. */
const DEFAULT_NATS = 'nats://127.0.0.1:4222';
const DEFAULT_FLEET_TIMEOUT_MS = 2000;

interface FleetOpts {
  nats: string;
  creds?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  hosts?: string;
  timeout: number;
}

/** The options every fleet command takes: where NATS is and how to log in, which hosts, how long to wait. */
function withFleetOptions(command: Command): Command {
  return command
    .addOption(new Option('--nats <urls>', 'NATS server URLs, comma-separated').env('B10_FLEET_NATS').default(DEFAULT_NATS))
    .addOption(new Option('--creds <file>', 'NATS credentials file (.creds)').env('B10_FLEET_CREDS'))
    .addOption(new Option('--tls-ca <file>', 'TLS: CA certificates to check the servers against'))
    .addOption(new Option('--tls-cert <file>', 'TLS: client certificate'))
    .addOption(new Option('--tls-key <file>', 'TLS: client certificate\'s key'))
    .addOption(
      new Option('--hosts <names>', 'the hosts to address, comma-separated (default: every bridge that answers); a named host that does not answer is reported').env(
        'B10_FLEET_HOSTS',
      ),
    )
    .addOption(new Option('-t, --timeout <ms>', 'how long each host may take to answer').argParser(parseMilliseconds).default(DEFAULT_FLEET_TIMEOUT_MS));
}

/** UsageError for the first problem there is. */
function refuse(problems: (string | undefined)[]): void {
  const problem = problems.find((p) => p !== undefined);
  if (problem !== undefined) throw new UsageError(problem);
}

const ofOption = (option: string, problem: string | undefined): string | undefined => (problem === undefined ? undefined : `${option}: ${problem}`);

async function withFleet<T>(opts: FleetOpts, body: (fleet: FleetClient, hosts: string[] | undefined) => Promise<T>): Promise<T> {
  const servers = parseHostList(opts.nats);
  const hosts = opts.hosts === undefined ? undefined : parseHostList(opts.hosts);
  // Checked before anything is sent: a host "all" or "*" would make a subject that reaches other hosts than named, or none.
  refuse([
    servers.length === 0 ? '--nats: no NATS server given' : undefined,
    ...servers.map((server) => ofOption('--nats', serverProblem(server))),
    hosts?.length === 0 ? '--hosts: no host given (leave it out, and B10_FLEET_HOSTS unset, to address every host)' : undefined,
    ...(hosts ?? []).map((host) => ofOption('--hosts', hostProblem(host))),
  ]);
  const fleet = await FleetClient.open({
    servers,
    creds: opts.creds,
    tlsCa: opts.tlsCa,
    tlsCert: opts.tlsCert,
    tlsKey: opts.tlsKey,
    timeout: opts.timeout,
  });
  try {
    return await body(fleet, hosts);
  } finally {
    await fleet.close();
  }
}

/**
 * Prints one JSON line per host and sets the exit code: 0 all succeeded, 1
 * an error answer, 3 a host did not answer, or no host at all did.
 */
function report(outcomes: HostOutcome[], timeout: number): void {
  for (const outcome of outcomes) printJson(outcome);
  if (outcomes.length === 0) process.stderr.write(`b10: no b10 bridge answered on NATS within ${timeout} ms\n`);
  process.exitCode = outcomes.length === 0 ? EXIT_UNREACHABLE : fleetExitCode(outcomes);
}

function hostsCommand(): Command {
  return withFleetOptions(
    new Command('hosts').description('list the hosts whose bridge answers: one JSON line each, {host, export, events}; exit 3 if none (or a host named in --hosts) answers, 1 if two bridges answer as one host'),
  ).action(async (opts: FleetOpts) => {
    await withFleet(opts, async (fleet, named) => {
      const found = (await fleet.discover(named)).filter((f) => !named || named.includes(f.host)).sort((a, b) => a.host.localeCompare(b.host));
      const listed = found.filter((info, i) => found.findIndex((f) => f.host === info.host) === i);
      let shared = false;
      for (const info of listed) {
        const problem = sharedName(found, info.host);
        shared ||= problem !== undefined;
        printJson(problem ? { ...info, error: problem } : info);
      }
      const missing = (named ?? []).filter((host) => !found.some((f) => f.host === host));
      for (const host of missing) printJson({ host, error: `did not answer within ${opts.timeout} ms` });
      process.exitCode = found.length === 0 || missing.length > 0 ? EXIT_UNREACHABLE : shared ? EXIT_FAILURE : EXIT_OK;
    });
  });
}

function sendCommand(): Command {
  return withFleetOptions(
    new Command('send')
      .description('send a command to a group on every host (or those in --hosts): one JSON line per host, {host, answer} or {host, error}')
      .argument('<group>', 'module (bus group), e.g. Boss; it must be in each host\'s Bridge/export')
      .argument('<command>', 'command name')
      .argument('[args_json]', 'command arguments as JSON, e.g. \'{"message":"hi"}\''),
  ).action(async (group: string, name: string, argsJson: string | undefined, opts: FleetOpts) => {
    const args = argsJson === undefined ? undefined : parseJsonArgument('ARGS_JSON', argsJson);
    refuse([groupProblem(group)]);
    report(await withFleet(opts, (fleet, named) => fleet.send(group, name, args, named)), opts.timeout);
  });
}

function psCommand(): Command {
  return withFleetOptions(
    new Command('ps').description('list each host\'s components (Boss show_processes; Boss must be exported)').option('--json', 'one JSON line per host instead of tables', false),
  ).action(async (opts: FleetOpts & { json: boolean }) => {
    const outcomes = await withFleet(opts, (fleet, named) => fleet.send(BOSS, 'show_processes', undefined, named));
    if (opts.json || outcomes.length === 0) {
      report(outcomes, opts.timeout);
      return;
    }
    for (const outcome of outcomes) {
      if ('answer' in outcome && outcome.answer.result[0] === RCODE_OK) {
        process.stdout.write(`== ${outcome.host}\n${processTable(outcome.answer.result[1] as Row[])}`);
      } else {
        process.stdout.write(`== ${outcome.host}: ${JSON.stringify('answer' in outcome ? outcome.answer.result[1] : 'error' in outcome ? outcome.error : outcome)}\n`);
      }
    }
    process.exitCode = fleetExitCode(outcomes);
  });
}

function configCommand(): Command {
  const set = withFleetOptions(
    new Command('set')
      .description('set MODULE/PATH on each host in turn (ConfigManager must be exported); one JSON line per host: {host, changed} or {host, error}')
      .argument('<target>', 'MODULE/PATH, e.g. Auth/listen_on[0]/port')
      .argument('<value_json>', 'the new value as JSON')
      .option('--continue', 'go on with the other hosts after one fails (default: stop at the first failure)'),
  ).action(async (target: string, valueJson: string, opts: FleetOpts & { continue?: true }) => {
    const value = parseJsonArgument('VALUE_JSON', valueJson);
    splitTarget(target);
    report(await withFleet(opts, (fleet, named) => fleet.configSet(target, value, named, opts.continue === true)), opts.timeout);
  });
  return new Command('config').description('change configuration across the fleet').addCommand(set);
}

function eventsCommand(): Command {
  return withFleetOptions(
    new Command('events')
      .description('print the hosts\' events (b10.*.events, or those of the hosts in --hosts: component states, configuration changes, zone loads) as JSON lines until interrupted')
      .addOption(new Option('-n, --count <n>', 'stop after this many events').argParser(parseCount)),
  ).action(async (opts: FleetOpts & { count?: number }) => {
    const stop = new AbortController();
    process.once('SIGINT', () => stop.abort());
    await withFleet(opts, (fleet, hosts) => {
      const subjects = hosts === undefined ? ALL_EVENTS_SUBJECT : hosts.map(eventsSubject).join(', ');
      const onListening = (server: string): boolean => process.stderr.write(`b10: listening to ${subjects} on ${server}\n`);
      return fleet.events(printJson, { count: opts.count, hosts, signal: stop.signal, onListening });
    });
  });
}

/** `b10 fleet`: many b10 hosts at once, over NATS (their bridges, b10-bridge). */
export function fleetCommand(): Command {
  return new Command('fleet')
    .description('reach many b10 hosts at once over NATS, through each host\'s b10-bridge (see docs/fleet.md)')
    .addCommand(hostsCommand())
    .addCommand(sendCommand())
    .addCommand(psCommand())
    .addCommand(configCommand())
    .addCommand(eventsCommand());
}
