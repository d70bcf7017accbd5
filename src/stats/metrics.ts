import { Counter, Gauge, Registry } from 'prom-client';
import type { ModuleFigures } from './store.js';
import type { UpdateRow } from '../ddns/counters.js';
import type { TransferRow } from './transfer-counters.js';

/**
 * Stats' figures in the Prometheus text format, read fresh at each scrape:
 * a new registry each time, so a module whose figures are gone is gone
 * from the page too. Counters hold the totals the daemons keep since they
 * started (a restarted daemon starts again from 0, which Prometheus takes
 * for a counter reset).
 */

type Figures = Record<string, ModuleFigures>;
type Table = Record<string, number>;

const isTable = (value: unknown): value is Table => value !== null && typeof value === 'object' && !Array.isArray(value);
const num = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
const entries = (value: unknown): [string, unknown][] => (isTable(value) ? Object.entries(value) : []);

function counter(registry: Registry, name: string, help: string, labelNames: string[] = []): Counter {
  return new Counter({ name, help, labelNames, registers: [registry] });
}

function gauge(registry: Registry, name: string, help: string, labelNames: string[] = []): Gauge {
  return new Gauge({ name, help, labelNames, registers: [registry] });
}

function authMetrics(registry: Registry, auth: Record<string, unknown> | undefined): void {
  const queries = counter(registry, 'b10_auth_queries_total', 'Queries auth received, by transport (udp, tcp) and QTYPE', ['transport', 'qtype']);
  const opcodes = counter(registry, 'b10_auth_opcode_queries_total', 'Queries auth received, by transport and opcode (QUERY, NOTIFY ...)', ['transport', 'opcode']);
  const responses = counter(registry, 'b10_auth_responses_total', 'Responses auth sent, by rcode (NOERROR, NXDOMAIN, REFUSED ...)', ['rcode']);
  const zoneQueries = counter(registry, 'b10_auth_zone_queries_total', 'Queries answered from the zone', ['zone']);
  const zoneNxdomain = counter(registry, 'b10_auth_zone_nxdomain_total', 'NXDOMAIN answers from the zone', ['zone']);
  const truncated = counter(registry, 'b10_auth_truncated_total', 'Responses sent truncated (TC): too large for UDP, or slipped by rate limiting');
  const dnssecOk = counter(registry, 'b10_auth_dnssec_ok_total', 'Queries with the DNSSEC OK (DO) bit');
  const dropped = counter(registry, 'b10_auth_dropped_total', 'Messages dropped unanswered: not a query, or too malformed to answer');
  if (!auth) return;
  for (const transport of ['udp', 'tcp']) {
    for (const [qtype, n] of entries((auth.queries as Table | undefined)?.[transport])) queries.inc({ transport, qtype }, num(n));
    for (const [opcode, n] of entries((auth.opcodes as Table | undefined)?.[transport])) opcodes.inc({ transport, opcode }, num(n));
  }
  for (const [rcode, n] of entries(auth.responses)) responses.inc({ rcode }, num(n));
  for (const [zone, counts] of entries(auth.zones)) {
    zoneQueries.inc({ zone }, num((counts as Table).queries));
    zoneNxdomain.inc({ zone }, num((counts as Table).nxdomain));
  }
  truncated.inc(num(auth.truncated));
  dnssecOk.inc(num(auth.dnssec_ok));
  dropped.inc(num(auth.dropped));
}

function transferMetrics(registry: Registry, direction: 'xfrout' | 'xfrin', figures: Record<string, unknown> | undefined): void {
  const what = direction === 'xfrout' ? 'served to secondaries' : 'received from primaries';
  const labels = ['zone', 'kind', 'result'];
  const transfers = counter(registry, `b10_${direction}_transfers_total`, `Zone transfers ${what}, by zone, kind (AXFR, IXFR) and result`, labels);
  const records = counter(registry, `b10_${direction}_records_total`, `Records of the zone transfers ${what}`, labels);
  const bytes = counter(registry, `b10_${direction}_bytes_total`, `Bytes of the zone transfers ${what}`, labels);
  const rows = Array.isArray(figures?.transfers) ? (figures.transfers as TransferRow[]) : [];
  for (const row of rows) {
    const at = { zone: String(row.zone), kind: String(row.kind), result: String(row.result) };
    transfers.inc(at, num(row.transfers));
    records.inc(at, num(row.records));
    bytes.inc(at, num(row.bytes));
  }
}

function ddnsMetrics(registry: Registry, ddns: Record<string, unknown> | undefined): void {
  const updates = counter(registry, 'b10_ddns_updates_total', 'Dynamic updates ddns answered, by zone and result (the rcode: NOERROR, REFUSED, NXRRSET ...)', ['zone', 'result']);
  const rows = Array.isArray(ddns?.updates) ? (ddns.updates as UpdateRow[]) : [];
  for (const row of rows) updates.inc({ zone: String(row.zone), result: String(row.result) }, num(row.updates));
}

function msgqMetrics(registry: Registry, msgq: Record<string, unknown> | undefined): void {
  const messages = counter(registry, 'b10_msgq_messages_total', 'Messages msgq received from its clients and routed (control messages included)');
  const bytes = counter(registry, 'b10_msgq_bytes_total', 'Bytes of the messages msgq received from its clients');
  const clients = gauge(registry, 'b10_msgq_clients', 'Clients connected to msgq now');
  const noRecipient = counter(registry, 'b10_msgq_no_recipient_total', 'Requests msgq answered "no recipient": nobody subscribed to take them');
  const cut = counter(registry, 'b10_msgq_clients_cut_total', 'Clients msgq disconnected for leaving more than the queue limit unread');
  if (!msgq) return;
  messages.inc(num(msgq.messages));
  bytes.inc(num(msgq.bytes));
  clients.set(num(msgq.clients));
  noRecipient.inc(num(msgq.no_recipient));
  cut.inc(num(msgq.clients_cut));
}

function bossMetrics(registry: Registry, boss: Record<string, unknown> | undefined): void {
  const up = gauge(registry, 'b10_boss_component_up', '1 while the component runs, 0 while it starts, restarts or is stopped', ['component']);
  const restarts = counter(registry, 'b10_boss_component_restarts_total', 'Times the boss restarted the component', ['component']);
  const uptime = gauge(registry, 'b10_boss_component_uptime_seconds', 'Seconds the component\'s process has run', ['component']);
  const rss = gauge(registry, 'b10_process_resident_memory_bytes', 'Resident memory of the component\'s process', ['component']);
  const cpu = counter(registry, 'b10_process_cpu_seconds_total', 'CPU time (user and system) the component\'s process has used', ['component']);
  for (const [component, raw] of entries(boss?.components)) {
    const c = raw as Table;
    up.set({ component }, num(c.up));
    restarts.inc({ component }, num(c.restarts));
    uptime.set({ component }, num(c.uptime));
    rss.set({ component }, num(c.rss_bytes));
    cpu.inc({ component }, num(c.cpu_seconds));
  }
}

/** The Prometheus text page of Stats' figures (its `show` answer). */
export async function prometheusText(figures: Figures): Promise<{ contentType: string; text: string }> {
  const registry = new Registry();
  const stale = gauge(registry, 'b10_stats_stale', '1 when the module did not answer Stats\' last poll: its figures are older', ['module']);
  const updated = gauge(registry, 'b10_stats_updated_seconds', 'When Stats last got the module\'s figures, seconds since the epoch', ['module']);
  for (const [module, f] of Object.entries(figures)) {
    stale.set({ module }, f.stale ? 1 : 0);
    updated.set({ module }, f.updated);
  }
  authMetrics(registry, figures.Auth?.statistics);
  transferMetrics(registry, 'xfrout', figures.Xfrout?.statistics);
  transferMetrics(registry, 'xfrin', figures.Xfrin?.statistics);
  ddnsMetrics(registry, figures.DDNS?.statistics);
  msgqMetrics(registry, figures.Msgq?.statistics);
  bossMetrics(registry, figures.Boss?.statistics);
  return { contentType: registry.contentType, text: await registry.metrics() };
}
