import { Command, Option } from 'commander';
import { TimeoutError } from '../../protocol/errors.js';
import { BOSS, COMPONENT_EVENTS, COMPONENT_STATE } from '../../protocol/groups.js';
import { isNotification } from '../../protocol/message.js';
import type { Session } from '../../protocol/session.js';
import { parseMilliseconds } from '../options.js';
import { printJson, withBusOptions, withSession, type BusOptions } from './common.js';

/** How long `b10 restart` waits for the component to be ready again: the boss's own limits (stop grace, ready timeout) are shorter. */
const RESTART_WAIT_MS = 30_000;

export interface Row {
  name: string;
  pid: number | null;
  kind: string;
  address: string | null;
  state: string;
  restarts: number;
  uptime: number | null;
  next_restart_in: number | null;
  reason?: string | null;
}

/** show_processes rows as an aligned table. */
export function processTable(rows: Row[]): string {
  const header = ['NAME', 'PID', 'STATE', 'KIND', 'RESTARTS', 'UPTIME', 'ADDRESS', 'REASON'];
  const cells = rows.map((r) => [
    r.name,
    r.pid === null ? '-' : String(r.pid),
    r.next_restart_in === null ? r.state : `${r.state} (in ${r.next_restart_in}s)`,
    r.kind,
    String(r.restarts),
    r.uptime === null ? '-' : `${r.uptime}s`,
    r.address ?? '-',
    r.reason ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => c.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return `${[header, ...cells].map(line).join('\n')}\n`;
}

function psCommand(): Command {
  return withBusOptions(
    new Command('ps')
      .description('list the components the boss runs: name, pid, state, kind, restarts, uptime')
      .option('--json', 'print the rows as JSON', false),
  ).action(async (opts: BusOptions & { json: boolean }) => {
    await withSession(opts, async (session) => {
      const rows = (await session.command(BOSS, 'show_processes')) as Row[];
      if (opts.json) printJson(rows);
      else process.stdout.write(processTable(rows));
    });
  });
}

function shutdownCommand(): Command {
  return withBusOptions(new Command('shutdown').description('stop every component and the boss')).action(
    async (opts: BusOptions) => {
      await withSession(opts, async (session) => {
        await session.command(BOSS, 'shutdown');
      });
    },
  );
}

interface ComponentEvent {
  name?: unknown;
  state?: unknown;
  restarts?: unknown;
  reason?: unknown;
}

/**
 * Waits for run `run` of the component, as the boss's events on
 * cc_components tell it: `running` is ready; `stopped` or `restarting` is a
 * failure, with the boss's reason.
 */
export async function untilRunning(session: Session, name: string, run: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    let body: unknown;
    try {
      ({ body } = await session.recv({ timeout: Math.max(1, deadline - Date.now()) }));
    } catch (err) {
      if (err instanceof TimeoutError) throw new Error(`${name} was not ready again within ${ms} ms (b10 ps shows its state)`);
      throw err;
    }
    if (!isNotification(body) || body.notification[0] !== COMPONENT_STATE) continue;
    const event = (body.notification[1] ?? {}) as ComponentEvent;
    if (event.name !== name || typeof event.restarts !== 'number' || event.restarts < run) continue;
    if (event.state === 'running') return;
    if (event.state === 'stopped' || event.state === 'restarting') {
      throw new Error(`${name} did not start again: ${typeof event.reason === 'string' ? event.reason : 'it was stopped'}`);
    }
  }
}

function restartCommand(): Command {
  return withBusOptions(
    new Command('restart')
      .description('stop a component, start it again and wait until it is ready (registered) again')
      .argument('<name>', 'component name, as `b10 ps` shows it')
      .addOption(
        new Option('--ready-timeout <ms>', 'how long to wait for it to be ready again').argParser(parseMilliseconds).default(RESTART_WAIT_MS),
      ),
  ).action(async (name: string, opts: BusOptions & { readyTimeout: number }) => {
    await withSession(opts, async (session) => {
      // Subscribed before asking, so no event of the new run can be missed.
      await session.subscribe(COMPONENT_EVENTS);
      const { restarts } = (await session.command(BOSS, 'restart', { name })) as { restarts: number };
      await untilRunning(session, name, restarts, opts.readyTimeout);
    });
  });
}

export function bossCommands(): Command[] {
  return [psCommand(), shutdownCommand(), restartCommand()];
}
