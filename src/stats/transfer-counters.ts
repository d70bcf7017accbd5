/**
 * Zone transfers counted by zone, kind and result (xfrout's and xfrin's
 * alike). The kind is a label ("AXFR", later "IXFR"), as is the result
 * ("success", "refused", "failed" ...), so new ones need no new counters.
 */
export interface TransferCounts {
  transfers: number;
  records: number;
  bytes: number;
}

/** One row of getstats' `transfers`: the counts of one (zone, kind, result). */
export interface TransferRow extends TransferCounts {
  zone: string;
  kind: string;
  result: string;
}

export class TransferCounters {
  private readonly rows = new Map<string, TransferRow>();

  /** One transfer ended: `records` and `bytes` are what it sent or received (0 when refused). */
  count(zone: string, kind: string, result: string, records = 0, bytes = 0): void {
    const key = `${zone}\u0000${kind}\u0000${result}`;
    let row = this.rows.get(key);
    if (!row) this.rows.set(key, (row = { zone, kind, result, transfers: 0, records: 0, bytes: 0 }));
    row.transfers++;
    row.records += records;
    row.bytes += bytes;
  }

  /** The counters as getstats answers them. */
  snapshot(): { transfers: TransferRow[] } {
    return { transfers: [...this.rows.values()].map((row) => ({ ...row })) };
  }
}
