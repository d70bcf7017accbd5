import { Command } from 'commander';
import { BOSS } from '../../protocol/groups.js';
import { printJson, withBusOptions, withSession, type BusOptions } from './common.js';


interface Row {
  name: string;
  pid: number | null;
  kind: string;
  address: string | null;
  state: string;
  restarts: number;
  uptime: number | null;
  next_restart_in: number | null;
}

/** show_processes rows as an aligned table. */
function processTable(rows: Row[]): string {
  const header = ['NAME', 'PID', 'STATE', 'KIND', 'RESTARTS', 'UPTIME', 'ADDRESS'];
  const cells = rows.map((r) => [
    r.name,
    r.pid === null ? '-' : String(r.pid),
    r.next_restart_in === null ? r.state : `${r.state} (in ${r.next_restart_in}s)`,
    r.kind,
    String(r.restarts),
    r.uptime === null ? '-' : `${r.uptime}s`,
    r.address ?? '-',
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

function restartCommand(): Command {
  return withBusOptions(
    new Command('restart').description('stop a component and start it again').argument('<name>', 'component name, as `b10 ps` shows it'),
  ).action(async (name: string, opts: BusOptions) => {
    await withSession(opts, async (session) => {
      await session.command(BOSS, 'restart', { name });
    });
  });
}

export function bossCommands(): Command[] {
  return [psCommand(), shutdownCommand(), restartCommand()];
}
