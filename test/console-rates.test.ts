import { describe, expect, it } from 'vitest';
import { byRcode, byZone, perSecond, RateHistory } from '../src/cmdctl/console/rates.js';

const auth = (noerror: number, nxdomain: number, zoneQueries: number) => ({
  responses: { NOERROR: noerror, NXDOMAIN: nxdomain },
  zones: { 'example.org.': { queries: zoneQueries, nxdomain } },
  queries: { udp: { A: noerror + nxdomain } },
});

describe('console dashboard rates (pure)', () => {
  it('rates_from_two_readings: queries per second by rcode and per zone are the counters\' growth over the seconds between readings', () => {
    expect(byRcode(auth(10, 2, 12))).toEqual({ NOERROR: 10, NXDOMAIN: 2 });
    expect(byZone(auth(10, 2, 12))).toEqual({ 'example.org.': 12 });
    expect(perSecond({ NOERROR: 10 }, { NOERROR: 30, NXDOMAIN: 4 }, 2)).toEqual({ NOERROR: 10, NXDOMAIN: 2 });
  });

  it('counter_reset_is_not_negative: a restarted auth counts from 0 again; its rate is what it counted since, never below 0', () => {
    expect(perSecond({ NOERROR: 500 }, { NOERROR: 8 }, 2)).toEqual({ NOERROR: 4 });
  });

  it('figures_not_of_the_shape_are_ignored: a missing or odd statistics map gives no lines, not NaN', () => {
    expect(byRcode(undefined)).toEqual({});
    expect(byRcode({ responses: [1, 2] })).toEqual({});
    expect(byZone({ zones: { 'a.': { queries: 'x' }, 'b.': null } })).toEqual({});
  });

  it('history_adds_points_and_new_lines: the first reading is the base, a repeated time adds nothing, a new rcode starts with nulls, the oldest point goes past the limit', () => {
    const history = new RateHistory(3);
    expect(history.add(100, { NOERROR: 0 })).toBe(false);
    expect(history.add(100, { NOERROR: 5 })).toBe(false);
    expect(history.add(105, { NOERROR: 15 })).toBe(true);
    expect(history.add(110, { NOERROR: 15, REFUSED: 5 })).toBe(true);
    expect(history.names).toEqual(['NOERROR', 'REFUSED']);
    expect(history.data).toEqual([[105, 110], [2, 0], [null, 1]]);
    history.add(115, { NOERROR: 20 });
    history.add(120, { NOERROR: 20 });
    expect(history.data).toEqual([[110, 115, 120], [0, 1, 0], [1, 0, 0]]);
  });
});
