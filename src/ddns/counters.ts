import { RCODE } from '../dns/message.js';

/** One row of DDNS's getstats `updates`: how many updates to a zone were answered with one rcode. */
export interface UpdateRow {
  zone: string;
  result: string;
  updates: number;
}

const RCODE_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(RCODE).map(([name, code]) => [code, name]));

/**
 * Updates counted by zone and result, the rcode answered (NOERROR,
 * REFUSED, NXRRSET ...). A message too malformed to name its zone counts
 * under the zone "" (FORMERR).
 */
export class UpdateCounters {
  private readonly rows = new Map<string, UpdateRow>();

  count(zone: string, rcode: number): void {
    const result = RCODE_NAMES.get(rcode) ?? `RCODE${rcode}`;
    const key = `${zone}\u0000${result}`;
    let row = this.rows.get(key);
    if (!row) this.rows.set(key, (row = { zone, result, updates: 0 }));
    row.updates++;
  }

  /** The counters as getstats answers them. */
  snapshot(): { updates: UpdateRow[] } {
    return { updates: [...this.rows.values()].map((row) => ({ ...row })) };
  }
}
