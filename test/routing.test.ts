import { describe, expect, it } from 'vitest';
import { SubscriptionTable } from '../msgq/routing.js';

describe('subscription table', () => {
  it('delivers to exact and wildcard subscribers once each, never to the sender', () => {
    const t = new SubscriptionTable<string>();
    t.add('G', 'i1', 'a');
    t.add('G', '*', 'a');
    t.add('G', '*', 'b');
    t.add('G', 'i2', 'c');
    expect([...t.recipients('G', 'i1')].sort()).toEqual(['a', 'b']);
    expect([...t.recipients('G', '*')].sort()).toEqual(['a', 'b']);
    expect([...t.recipients('G', 'i2')].sort()).toEqual(['a', 'b', 'c']);
    expect(t.recipients('H', '*')).toEqual([]);
  });

  it('random_destinations: sends to ever new instances and groups do not grow the cache', () => {
    const t = new SubscriptionTable<string>();
    t.add('G', '*', 'a');
    t.add('G', 'named', 'b');
    for (let i = 0; i < 10_000; i++) {
      expect(t.recipients('G', `i${i}`)).toEqual(['a']);
      expect(t.recipients(`H${i}`, '*')).toEqual([]);
    }
    expect([...t.recipients('G', 'named')].sort()).toEqual(['a', 'b']);
    expect(t.cachedLists).toBeLessThanOrEqual(2);
  });

  it('stale_cache: a change in the group is seen by the next send', () => {
    const t = new SubscriptionTable<string>();
    t.add('G', '*', 'a');
    expect(t.recipients('G', 'x')).toEqual(['a']);
    t.add('G', 'x', 'b');
    expect([...t.recipients('G', 'x')].sort()).toEqual(['a', 'b']);
    t.removeAll('a');
    expect(t.recipients('G', 'x')).toEqual(['b']);
  });

  it('double_subscribe: is the same as once', () => {
    const t = new SubscriptionTable<string>();
    expect(t.add('G', '*', 'a')).toBe(true);
    expect(t.add('G', '*', 'a')).toBe(false);
    expect(t.remove('G', '*', 'a')).toBe(true);
    expect(t.recipients('G', '*')).toEqual([]);
    expect(t.remove('G', '*', 'a')).toBe(false);
  });

  it('member_gone: loses every subscription, each group reported once', () => {
    const t = new SubscriptionTable<string>();
    t.add('G', 'i1', 'a');
    t.add('G', 'i2', 'a');
    t.add('H', '*', 'a');
    t.add('H', '*', 'b');
    expect(t.removeAll('a').sort()).toEqual(['G', 'H']);
    expect(t.recipients('G', 'i1')).toEqual([]);
    expect(t.members('H')).toEqual(['b']);
    expect(t.removeAll('a')).toEqual([]);
  });
});
