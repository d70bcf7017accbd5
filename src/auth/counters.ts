import type { Parsed } from '../dns/message.js';
import { typeName } from '../dns/types.js';
import { nonZero, type CountTable } from '../stats/count-table.js';

export type Transport = 'udp' | 'tcp';

/** What one zone answered: kept in the response cache beside the answer, so counting it is one increment. */
export interface ZoneCounts {
  queries: number;
  nxdomain: number;
}

/** Set to `off` in auth's environment to count nothing (the benchmark measures what counting costs). */
export const COUNTERS_ENV = 'B10_AUTH_COUNTERS';

const OPCODES = ['QUERY', 'IQUERY', 'STATUS', 'OPCODE3', 'NOTIFY', 'UPDATE'];
const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];
const BADVERS = 16;
const NXDOMAIN = 3;
const TC = 0x02;

const opcodeName = (code: number): string => OPCODES[code] ?? `OPCODE${code}`;
const rcodeName = (code: number): string => (code === BADVERS ? 'BADVERS' : (RCODES[code] ?? `RCODE${code}`));

/**
 * auth's statistics: plain numbers and typed arrays indexed by the wire's
 * own codes, so counting a query allocates nothing and costs a few
 * increments. Read only by `getstats`.
 */
export class AuthCounters {
  private readonly qtypes: Record<Transport, Float64Array> = { udp: new Float64Array(65536), tcp: new Float64Array(65536) };
  private readonly opcodes: Record<Transport, Float64Array> = { udp: new Float64Array(16), tcp: new Float64Array(16) };
  private readonly rcodes = new Float64Array(32);
  private readonly zones = new Map<string, ZoneCounts>();
  private dnssecOk = 0;
  private truncated = 0;
  private dropped = 0;
  /**
   * Whether the query counted last asked for an EDNS version we do not
   * speak: its answer is BADVERS, which the header's rcode alone does not
   * say. A response is counted in the same turn as its query.
   */
  private badvers = false;

  constructor(readonly enabled = process.env[COUNTERS_ENV] !== 'off') {}

  /** One message received: a query by opcode and qtype, or a dropped one. */
  query(parsed: Parsed, transport: Transport): void {
    if (!this.enabled) return;
    if (parsed.kind === 'drop') {
      this.dropped++;
      return;
    }
    if (parsed.kind === 'formerr') {
      this.opcodes[transport][parsed.opcode]!++;
      this.badvers = false;
      return;
    }
    const { query } = parsed;
    this.opcodes[transport][query.opcode]!++;
    this.qtypes[transport][query.qtype]!++;
    if (query.edns?.dnssecOk) this.dnssecOk++;
    this.badvers = query.edns !== undefined && query.edns.version > 0;
  }

  /** One response sent, read from its header: its rcode, and whether it is truncated. */
  response(bytes: Buffer): void {
    if (!this.enabled || bytes.length < 4) return;
    const rcode = bytes[3]! & 0x0f;
    this.rcodes[rcode === 0 && this.badvers ? BADVERS : rcode]!++;
    if (bytes[2]! & TC) this.truncated++;
  }

  /**
   * A plain query (EDNS version 0 at most) answered with a prepared response
   * of `rcode`, TC set when `truncated`: what query(), answered() and
   * response() count for it, in one go.
   */
  prepared(transport: Transport, qtype: number, dnssecOk: boolean, counts: ZoneCounts | undefined, rcode: number, truncated: boolean): void {
    if (!this.enabled) return;
    this.opcodes[transport][0]!++;
    this.qtypes[transport][qtype]!++;
    if (dnssecOk) this.dnssecOk++;
    this.rcodes[rcode]!++;
    if (truncated) this.truncated++;
    this.answered(counts, rcode);
  }

  /** The counts of the zone named, for the response cache to hold; undefined for no zone. */
  zone(origin: string | undefined): ZoneCounts | undefined {
    if (origin === undefined) return undefined;
    let counts = this.zones.get(origin);
    if (!counts) this.zones.set(origin, (counts = { queries: 0, nxdomain: 0 }));
    return counts;
  }

  /** A query answered from a zone (`counts` from zone()), with the answer's rcode. */
  answered(counts: ZoneCounts | undefined, rcode: number): void {
    if (!this.enabled || !counts) return;
    counts.queries++;
    if (rcode === NXDOMAIN) counts.nxdomain++;
  }

  /** The counters as `getstats` answers them (the items of auth.spec's statistics), zeros left out of the tables. */
  snapshot(): Record<string, unknown> {
    const byTransport = (arrays: Record<Transport, Float64Array>, name: (code: number) => string): Record<Transport, CountTable> => ({
      udp: nonZero(arrays.udp, name),
      tcp: nonZero(arrays.tcp, name),
    });
    return {
      counting: this.enabled,
      queries: byTransport(this.qtypes, typeName),
      opcodes: byTransport(this.opcodes, opcodeName),
      responses: nonZero(this.rcodes, rcodeName),
      dnssec_ok: this.dnssecOk,
      truncated: this.truncated,
      dropped: this.dropped,
      zones: Object.fromEntries([...this.zones].map(([origin, counts]) => [origin, { ...counts }])),
    };
  }
}

/** Several workers' snapshots as one: every number added up, anything else as the first one has it. */
export function sumSnapshots(snapshots: readonly Record<string, unknown>[]): Record<string, unknown> {
  const sum = (values: unknown[]): unknown => {
    const [first] = values;
    if (typeof first === 'number') return values.reduce<number>((total, v) => total + (typeof v === 'number' ? v : 0), 0);
    if (first === null || typeof first !== 'object' || Array.isArray(first)) return first;
    const keys = new Set(values.flatMap((v) => (v !== null && typeof v === 'object' ? Object.keys(v) : [])));
    return Object.fromEntries([...keys].map((key) => [key, sum(values.map((v) => (v as Record<string, unknown> | undefined)?.[key]).filter((v) => v !== undefined))]));
  };
  return (sum([...snapshots]) ?? {}) as Record<string, unknown>;
}
