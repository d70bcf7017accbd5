import { RCODE_OK } from '../../protocol/message.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_UNREACHABLE } from '../options.js';
import type { FleetReply, HostInfo } from '../bridge/wire.js';

/**
 * What `b10 fleet` makes of the hosts' answers, apart from NATS: one outcome
 * per host, printed as one JSON line each, and the exit code of them all.
 */

/** A host's outcome: the answer it gave, a change made, or why there is none. */
export type HostOutcome =
  | FleetReply
  | { host: string; changed: true }
  | { host: string; error: string; unreachable?: true }
  | { host: string; skipped: string };

export function unreachable(host: string, ms: number): HostOutcome {
  return { host, error: `did not answer within ${ms} ms`, unreachable: true };
}

function failed(outcome: HostOutcome): boolean {
  if ('answer' in outcome) return outcome.answer.result[0] !== RCODE_OK;
  return 'error' in outcome || 'skipped' in outcome;
}

/** 3 when a host did not answer in time (the worse news), else 1 when one answered an error, else 0. */
export function fleetExitCode(outcomes: readonly HostOutcome[]): number {
  if (outcomes.some((o) => 'unreachable' in o)) return EXIT_UNREACHABLE;
  return outcomes.some(failed) ? EXIT_FAILURE : EXIT_OK;
}

/**
 * The hosts a command goes to: those named (in that order), else every host
 * that answered discovery, by name. Each comes with whether it is known to
 * export the group: a host that answered discovery without it is answered
 * "No such recipient" without asking, one that did not answer is asked
 * (and reported as not answering when it does not). `found` has one entry
 * per bridge that answered: a name found twice is shared by two bridges.
 */
export function planHosts(
  named: readonly string[] | undefined,
  found: readonly HostInfo[],
  group: string,
): { host: string; exported: boolean | undefined; shared?: string }[] {
  const exports = new Map(found.map((h) => [h.host, h.export]));
  const hosts = named ?? [...exports.keys()].sort();
  return hosts.map((host) => {
    const problem = sharedName(found, host);
    return { host, exported: exports.has(host) ? exports.get(host)!.includes(group) : undefined, ...(problem && { shared: problem }) };
  });
}

/**
 * Why `host` may not be sent a command, when more than one bridge answered
 * discovery under its name: each would run it, and the fleet would report one.
 */
export function sharedName(found: readonly HostInfo[], host: string): string | undefined {
  const bridges = found.filter((f) => f.host === host).length;
  return bridges > 1 ? `${bridges} bridges answer as host ${host}: give each its own Bridge/host (nothing sent to it)` : undefined;
}

/** Hosts named on the command line: "a,b c" -> [a, b, c], duplicates dropped. */
export function parseHostList(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter((h) => h !== ''))];
}
