// The types of rates.js, the browser module the unit tests import.
export declare const MAX_POINTS: number;
export type Counters = Record<string, number>;
export declare function byRcode(statistics: unknown): Counters;
export declare function byZone(statistics: unknown): Counters;
export declare function perSecond(before: Counters, after: Counters, seconds: number): Counters;
export declare class RateHistory {
  constructor(max?: number);
  add(time: number, counters: Counters): boolean;
  readonly names: string[];
  readonly data: [number[], ...(number | null)[][]];
}
