import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, normal, restartDecision } from '../boss/restart.js';

const noJitter = (): number => 0;

describe('restart schedule', () => {
  it('ran_long_enough: restarted at once, failures reset', () => {
    expect(restartDecision({ startedAt: 0, exitedAt: 10_000, failures: 3, ready: true }, DEFAULT_POLICY, noJitter)).toEqual({
      delay: 0,
      failures: 0,
      interval: 0,
    });
  });

  it('quick_failure: restarted 10 s after it started', () => {
    expect(restartDecision({ startedAt: 1_000, exitedAt: 4_000, failures: 0, ready: true }, DEFAULT_POLICY, noJitter)).toEqual({
      delay: 7_000,
      failures: 1,
      interval: 10_000,
    });
  });

  it('crash_loop_backoff: each quick failure in a row waits twice as long, up to the cap', () => {
    const intervals: number[] = [];
    let failures = 0;
    for (let i = 0; i < 8; i++) {
      const d = restartDecision({ startedAt: 0, exitedAt: 100, failures, ready: true }, DEFAULT_POLICY, noJitter);
      intervals.push(d.interval);
      failures = d.failures;
    }
    expect(intervals).toEqual([10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
  });

  it('jitter: sigma is 5% of the wait', () => {
    const plusTwoSigma = restartDecision({ startedAt: 0, exitedAt: 0, failures: 0, ready: true }, DEFAULT_POLICY, () => 2);
    expect(plusTwoSigma.delay).toBe(11_000);
    const minusOne = restartDecision({ startedAt: 0, exitedAt: 0, failures: 1, ready: true }, DEFAULT_POLICY, () => -1);
    expect(minusOne.delay).toBe(19_000);
  });

  it('never_negative: a wait already passed restarts at once', () => {
    expect(restartDecision({ startedAt: 0, exitedAt: 9_999, failures: 0, ready: true }, DEFAULT_POLICY, () => -3).delay).toBe(0);
  });

  it('never_ready: a run that never became ready is a quick failure, however long it took', () => {
    expect(restartDecision({ startedAt: 0, exitedAt: 12_000, failures: 2, ready: false }, DEFAULT_POLICY, noJitter)).toEqual({
      delay: 28_000,
      failures: 3,
      interval: 40_000,
    });
  });

  it('normal_samples: mean near 0, deviation near 1', () => {
    let seed = 42;
    const uniform = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const samples = Array.from({ length: 20_000 }, () => normal(uniform));
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    const sd = Math.sqrt(samples.reduce((a, b) => a + (b - mean) ** 2, 0) / samples.length);
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(Math.abs(sd - 1)).toBeLessThan(0.05);
  });
});
