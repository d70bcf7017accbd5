// Rates for the console's dashboard, from Stats' figures: pure, so that the
// unit tests run it without a browser (test/console-rates.test.ts).

import { isMap } from './dom.js';

/** Points a chart keeps: with Stats' 5 s poll, ten minutes. */
export const MAX_POINTS = 120;

/** Auth's responses by rcode, `{NOERROR: n, ...}`, from its getstats figures. */
export function byRcode(statistics) {
  const responses = statistics?.responses;
  return isMap(responses) ? numbers(responses, (v) => v) : {};
}

/** Auth's queries per zone, `{"example.org.": n, ...}`. */
export function byZone(statistics) {
  const zones = statistics?.zones;
  return isMap(zones) ? numbers(zones, (v) => v?.queries) : {};
}

function numbers(map, pick) {
  const out = {};
  for (const [key, value] of Object.entries(map)) {
    const n = pick(value);
    if (typeof n === 'number' && Number.isFinite(n)) out[key] = n;
  }
  return out;
}

/**
 * Per second between two readings of the same counters, `seconds` apart. A
 * counter that went down was reset (the daemon restarted, from 0): all it
 * holds now was counted since.
 */
export function perSecond(before, after, seconds) {
  const rates = {};
  for (const [key, now] of Object.entries(after)) {
    const then = before[key] ?? 0;
    rates[key] = (now >= then ? now - then : now) / seconds;
  }
  return rates;
}

/**
 * A chart's points: one time axis and one line per name, in the order the
 * names first appeared. Before a name appears its points are null (no line
 * drawn); a name missing from a later reading is 0.
 */
export class RateHistory {
  constructor(max = MAX_POINTS) {
    this.max = max;
    this.last = undefined;
    this.times = [];
    this.lines = new Map();
  }

  /** A reading of the counters at `time` (seconds); the first only sets the base, as does one no later than the last. */
  add(time, counters) {
    const last = this.last;
    this.last = { time, counters };
    if (!last || time <= last.time) return false;
    const rates = perSecond(last.counters, counters, time - last.time);
    for (const name of Object.keys(rates)) {
      if (!this.lines.has(name)) this.lines.set(name, this.times.map(() => null));
    }
    this.times.push(time);
    for (const [name, points] of this.lines) points.push(rates[name] ?? 0);
    if (this.times.length > this.max) {
      this.times.shift();
      for (const points of this.lines.values()) points.shift();
    }
    return true;
  }

  get names() {
    return [...this.lines.keys()];
  }

  /** uPlot's data: the times, then each line's points. */
  get data() {
    return [this.times, ...this.lines.values()];
  }
}
