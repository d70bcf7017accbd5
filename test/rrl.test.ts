import { describe, expect, it } from 'vitest';
import { MAX_ACCOUNTS, rateLimitFrom, ResponseRateLimiter, type RateLimitItems, type ResponseKind, type Verdict } from '../src/auth/rrl.js';

const limiter = (items: RateLimitItems): ResponseRateLimiter => new ResponseRateLimiter(rateLimitFrom(items));

/** `count` identical responses at the instant `at` (ms); the verdicts in order. */
function burst(rrl: ResponseRateLimiter, count: number, at: number, kind: ResponseKind = 'response', client = '192.0.2.1', name = 'www.example.'): Verdict[] {
  return Array.from({ length: count }, () => rrl.decide(client, kind, name, 1, at));
}

const tally = (verdicts: Verdict[]): Record<Verdict, number> => ({
  send: verdicts.filter((v) => v === 'send').length,
  slip: verdicts.filter((v) => v === 'slip').length,
  drop: verdicts.filter((v) => v === 'drop').length,
});

describe('response rate limiting (pure, clock passed in)', () => {
  it('burst_over_rate: a burst gets `rate` answers, then every other one slips (TC) and the rest are dropped', () => {
    const rrl = limiter({ responses_per_second: 5 });
    const verdicts = burst(rrl, 20, 0);
    expect(verdicts.slice(0, 5)).toEqual(Array(5).fill('send'));
    expect(verdicts.slice(5, 9)).toEqual(['slip', 'drop', 'slip', 'drop']);
    expect(tally(verdicts)).toEqual({ send: 5, slip: 8, drop: 7 });
  });

  it('steady_client_unlimited: a client asking at the rate is always answered; credit never builds past one second', () => {
    const rrl = limiter({ responses_per_second: 5 });
    for (let t = 0; t < 10_000; t += 200) expect(rrl.decide('192.0.2.1', 'response', 'www.example.', 1, t)).toBe('send');
    // An hour of silence buys one second's worth, no more.
    expect(tally(burst(rrl, 10, 3_600_000)).send).toBe(5);
  });

  it('overdrawn_pays_on: a client asking twice the rate stays limited, as with named: every query pays, answered or not', () => {
    const rrl = limiter({ responses_per_second: 5 });
    const verdicts: Verdict[] = [];
    for (let t = 0; t < 10_000; t += 100) verdicts.push(rrl.decide('192.0.2.1', 'response', 'www.example.', 1, t));
    // 5 credits, then half a credit earned and one paid a query: the account is spent after 9, and never recovers.
    expect(tally(verdicts)).toEqual({ send: 9, slip: 46, drop: 45 });
    expect(verdicts.slice(9).includes('send')).toBe(false);
  });

  it('window: a flood is remembered for `window` seconds after it stops, no longer', () => {
    const rrl = limiter({ responses_per_second: 5, window: 15, slip: 0 });
    burst(rrl, 1000, 0);
    // The account bottoms out at -window*rate = -75 and earns 5 a second back.
    expect(rrl.decide('192.0.2.1', 'response', 'www.example.', 1, 14_000)).toBe('drop');
    expect(rrl.decide('192.0.2.1', 'response', 'www.example.', 1, 15_400)).toBe('send');
    const short = limiter({ responses_per_second: 5, window: 1, slip: 0 });
    burst(short, 1000, 0);
    expect(short.decide('192.0.2.1', 'response', 'www.example.', 1, 1_400)).toBe('send');
  });

  it('slip_values: 0 drops every limited answer, 1 truncates every one, 3 every third', () => {
    const limited = (slip: number): Verdict[] => burst(limiter({ responses_per_second: 1, slip }), 7, 0).slice(1);
    expect(limited(0)).toEqual(Array(6).fill('drop'));
    expect(limited(1)).toEqual(Array(6).fill('slip'));
    expect(limited(3)).toEqual(['slip', 'drop', 'drop', 'slip', 'drop', 'drop']);
  });

  it('client_prefixes: one account per IPv4 /24 and IPv6 /56 by default, or the lengths configured', () => {
    const rrl = limiter({ responses_per_second: 1, slip: 0 });
    expect(rrl.decide('192.0.2.1', 'response', 'www.example.', 1, 0)).toBe('send');
    expect(rrl.decide('192.0.2.200', 'response', 'www.example.', 1, 0)).toBe('drop');
    expect(rrl.decide('::ffff:192.0.2.9', 'response', 'www.example.', 1, 0)).toBe('drop');
    expect(rrl.decide('192.0.3.1', 'response', 'www.example.', 1, 0)).toBe('send');
    expect(rrl.decide('2001:db8:0:100::1', 'response', 'www.example.', 1, 0)).toBe('send');
    expect(rrl.decide('2001:db8:0:1ff::2', 'response', 'www.example.', 1, 0)).toBe('drop');
    expect(rrl.decide('2001:db8:0:200::1', 'response', 'www.example.', 1, 0)).toBe('send');
    const hosts = limiter({ responses_per_second: 1, slip: 0, ipv4_prefix_length: 32 });
    expect(hosts.decide('192.0.2.1', 'response', 'www.example.', 1, 0)).toBe('send');
    expect(hosts.decide('192.0.2.2', 'response', 'www.example.', 1, 0)).toBe('send');
  });

  it('identical_responses: answers differ by name and type; NXDOMAIN counts once per zone; errors once per client', () => {
    const rrl = limiter({ responses_per_second: 1, slip: 0 });
    expect(rrl.decide('192.0.2.1', 'response', 'www.example.', 1, 0)).toBe('send');
    expect(rrl.decide('192.0.2.1', 'response', 'www.example.', 28, 0)).toBe('send');
    expect(rrl.decide('192.0.2.1', 'response', 'ftp.example.', 1, 0)).toBe('send');
    // Random names in one zone: the caller passes the zone, so they share an account.
    expect(rrl.decide('192.0.2.1', 'nxdomain', 'example.', 1, 0)).toBe('send');
    expect(rrl.decide('192.0.2.1', 'nxdomain', 'example.', 28, 0)).toBe('drop');
    expect(rrl.decide('192.0.2.1', 'error', 'a.other.', 1, 0)).toBe('send');
    expect(rrl.decide('192.0.2.1', 'error', 'b.other.', 16, 0)).toBe('drop');
  });

  it('separate_rates: nxdomains and errors follow responses_per_second unless set; 0 leaves a class unlimited', () => {
    expect(rateLimitFrom({ responses_per_second: 7 })).toMatchObject({ responsesPerSecond: 7, nxdomainsPerSecond: 7, errorsPerSecond: 7, slip: 2, windowSeconds: 15 });
    const rrl = limiter({ responses_per_second: 0, nxdomains_per_second: 2, errors_per_second: 1 });
    expect(tally(burst(rrl, 50, 0, 'response')).send).toBe(50);
    expect(tally(burst(rrl, 10, 0, 'nxdomain')).send).toBe(2);
    expect(tally(burst(rrl, 10, 0, 'error')).send).toBe(1);
  });

  it('memory_bounded: accounts of spoofed clients are capped, and idle ones forgotten after the window', () => {
    const rrl = limiter({ responses_per_second: 5, window: 2 });
    for (let i = 0; i < MAX_ACCOUNTS + 5000; i++) rrl.decide(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 'response', `n${i}.example.`, 1, 0);
    expect(rrl.size).toBe(MAX_ACCOUNTS);
    rrl.decide('192.0.2.1', 'response', 'www.example.', 1, 3_100);
    expect(rrl.size).toBe(1);
  });
});
