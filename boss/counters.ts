import { readFileSync } from 'node:fs';
import type { ProcessRow } from './boss.js';

/** Linux reports process times in USER_HZ ticks, 100 a second on every architecture it runs on. */
const TICKS_PER_SECOND = 100;

/** One component's figures, as the boss's `getstats` answers them. */
export interface ComponentStats {
  /** 1 while it runs, 0 otherwise (starting, restarting, stopped). */
  up: number;
  state: string;
  restarts: number;
  /** Seconds its process has run; 0 when none runs. */
  uptime: number;
  /** Its process's resident memory and CPU time (user + system); 0 when none runs. */
  rss_bytes: number;
  cpu_seconds: number;
}

/** CPU seconds (user + system) from the text of /proc/PID/stat; the command name may hold spaces and parentheses. */
export function cpuSecondsFromStat(stat: string): number {
  // Fields after the name, which ends at the last ')': state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** Resident memory in bytes from the text of /proc/PID/status (its VmRSS line, in kB). */
export function rssBytesFromStatus(status: string): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

/** What the process uses now; zeros when it is gone (it may end between the row and the read). */
export function processUsage(pid: number): { rss_bytes: number; cpu_seconds: number } {
  try {
    return {
      rss_bytes: rssBytesFromStatus(readFileSync(`/proc/${pid}/status`, 'utf8')),
      cpu_seconds: cpuSecondsFromStat(readFileSync(`/proc/${pid}/stat`, 'utf8')),
    };
  } catch {
    return { rss_bytes: 0, cpu_seconds: 0 };
  }
}

/** The boss's statistics: every component by name, from show_processes' rows and /proc. */
export function componentStats(rows: readonly ProcessRow[]): { components: Record<string, ComponentStats> } {
  const components: Record<string, ComponentStats> = {};
  for (const row of rows) {
    const running = row.state === 'running' && row.pid !== null;
    components[row.name] = {
      up: running ? 1 : 0,
      state: row.state,
      restarts: row.restarts,
      uptime: row.uptime ?? 0,
      ...(row.pid !== null ? processUsage(row.pid) : { rss_bytes: 0, cpu_seconds: 0 }),
    };
  }
  return { components };
}
