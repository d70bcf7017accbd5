import { Command } from 'commander';
import { AnswerError } from '../../protocol/errors.js';
import type { ModuleFigures } from '../stats/store.js';
import { printJson, withBusOptions, withSession, type BusOptions } from './common.js';

/** Every leaf of a module's figures, by path: ["queries/udp/A", 3]. */
function leaves(value: unknown, path: string, out: [string, string][]): [string, string][] {
  if (value !== null && typeof value === 'object') {
    const items = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
    for (const [key, v] of items) leaves(v, path === '' ? key : `${path}/${key}`, out);
  } else {
    out.push([path, String(value)]);
  }
  return out;
}

/** Stats' figures as a table for people: one block per module, its items aligned, stale ones said so. */
export function statsTable(figures: Record<string, ModuleFigures>): string {
  const lines: string[] = [];
  for (const [module, f] of Object.entries(figures)) {
    const at = new Date(f.updated * 1000).toISOString();
    lines.push(f.stale ? `${module}  (stale: figures of ${at}; the last poll failed: ${f.reason ?? 'no answer'})` : `${module}  (${at})`);
    const rows = leaves(f.statistics, '', []);
    const width = Math.max(0, ...rows.map(([item]) => item.length));
    for (const [item, value] of rows) lines.push(`  ${item.padEnd(width)}  ${value}`);
  }
  return lines.length === 0 ? 'no figures yet: Stats has not polled any module\n' : `${lines.join('\n')}\n`;
}

export function statsCommand(): Command {
  return withBusOptions(
    new Command('stats')
      .description('show the statistics b10-stats collected: every module\'s, or MODULE\'s; a table at a terminal, JSON otherwise')
      .argument('[module]', 'one module (Auth, Xfrout, Xfrin, Msgq, Boss ...)')
      .option('--json', 'print JSON even at a terminal: {module: {statistics, updated, stale, reason}}', false),
  ).action(async (module: string | undefined, opts: BusOptions & { json: boolean }) => {
    await withSession(opts, async (session) => {
      const figures = (await session.command('Stats', 'show', module === undefined ? undefined : { owner: module })) as Record<string, ModuleFigures>;
      if (module !== undefined && !(module in figures)) throw new AnswerError(1, `no figures for ${module}: Stats has none (yet) from a module of that name`);
      if (opts.json || !process.stdout.isTTY) printJson(figures);
      else process.stdout.write(statsTable(figures));
    });
  });
}
