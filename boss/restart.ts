/**
 * When to restart a component that exited: pure logic, clock and randomness
 * injected. The seed's rule: a component that ran for at least the period
 * (10 s) is restarted at once; one that ran less is restarted one period
 * after it started, with normal jitter (sigma 5% of the period) so that
 * components do not restart in lockstep. A component that keeps failing
 * quickly waits twice as long each time, up to maxPeriod (5 minutes): a
 * crash loop costs a little, not a core. A run that never became ready
 * (never started, never registered) is a quick failure however long it took.
 */

export interface RestartPolicy {
  /** Run time that counts as a healthy run, and the first wait after a quick failure. */
  period: number;
  /** Longest wait after repeated quick failures. */
  maxPeriod: number;
  /** Standard deviation of the jitter, as a fraction of the wait. */
  sigma: number;
}

export const DEFAULT_POLICY: RestartPolicy = Object.freeze({ period: 10_000, maxPeriod: 300_000, sigma: 0.05 });

export interface RunRecord {
  startedAt: number;
  exitedAt: number;
  /** Whether it became ready (registered) before it ended. */
  ready: boolean;
  /** Quick failures in a row before this one. */
  failures: number;
}

export interface RestartDecision {
  /** Milliseconds from exitedAt until the restart. */
  delay: number;
  /** Quick failures in a row, this one included (0 after a healthy run). */
  failures: number;
  /** The wait the schedule aimed at before jitter (0 for an immediate restart). */
  interval: number;
}

/** A standard normal sample from two uniform ones (Box-Muller). */
export function normal(uniform: () => number = Math.random): number {
  const u = 1 - uniform();
  const v = uniform();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

export function restartDecision(
  run: RunRecord,
  policy: RestartPolicy = DEFAULT_POLICY,
  gaussian: () => number = () => normal(),
): RestartDecision {
  const ran = run.exitedAt - run.startedAt;
  if (run.ready && ran >= policy.period) return { delay: 0, failures: 0, interval: 0 };
  const failures = run.failures + 1;
  const interval = Math.min(policy.period * 2 ** (failures - 1), policy.maxPeriod);
  const jitter = gaussian() * policy.sigma * interval;
  const delay = Math.max(0, Math.round(run.startedAt + interval + jitter - run.exitedAt));
  return { delay, failures, interval };
}
