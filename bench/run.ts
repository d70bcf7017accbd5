import { benchBoss, bossReport, median } from './boss.js';
import { benchBus } from './bus.js';
import { benchRecovery, RECOVERY_PERIOD_MS } from './recovery.js';
import { benchClients, clientLines } from './session.js';
import { benchDns, dnsReport } from './dns.js';
import { benchCounters } from './stats.js';
import { benchAxfr } from './axfr.js';
import { benchZoneLoad } from './zoneload.js';
import { benchIxfr } from './ixfr.js';
import { benchDdns } from './ddns.js';
import { workersRssLines } from './workers-rss.js';
import { benchFleet, fleetLines } from './fleet.js';
import { useOwnToken } from '../test/helpers/token.js';

/** `npm run bench`: prints every figure, then the ratios the issues set targets for. */
const out = (line: string): boolean => process.stdout.write(`${line}\n`);
const rate = (n: number): string => `${Math.round(n).toLocaleString('en-US')}/s`;

// The client library first: measured after the bus bench, whose raw harness
// drives the same frame decoder with other callbacks, Session ran 15-20%
// slower than in a process of its own, as a module's is.
process.on('exit', useOwnToken());
const clients = await benchClients();
const bus = await benchBus();
out('bus (100-byte bodies)');
out(`  1->1 msgq            ${rate(bus.msgqOneToOne)} messages`);
out(`  1->1 raw relay       ${rate(bus.rawOneToOne)} messages (reference, node:net, same run)`);
out(`  1->1 msgq/raw        ${(bus.ratio * 100).toFixed(1)}%  (target >= 60%)`);
out(`  1->4 msgq fan-out    ${rate(bus.msgqFanOut)} deliveries`);
out(`  1->4 raw fan-out     ${rate(bus.rawFanOut)} deliveries (reference)`);
for (const g of bus.general) {
  const target = { replies: 50, 'senders x16': 60, 'from rewritten': 40, 'random headers': 40 }[g.name] ?? 0;
  out(`  ${g.name.padEnd(20)} ${rate(g.rate)} messages = ${(g.share * 100).toFixed(1)}% of stream 1->1  (target >= ${target}%; msgq peak RSS ${g.peakRssMb.toFixed(0)} MB)`);
}
out(`  msgq peak RSS        ${bus.streamRssMb.toFixed(0)} MB in the stream rounds  (target < 150 MB in every scenario)`);
out(`  request/reply p50    ${bus.p50us.toFixed(0)} us  (Session to Session through msgq)`);
out(`  request/reply p99    ${bus.p99us.toFixed(0)} us  (target < 1000 us)`);

for (const line of clientLines(clients)) out(line);

for (const line of bossReport(await benchBoss())) out(line);
const ms = (values: number[]): string => values.map((v) => v.toFixed(0)).join(', ');

const recovery = await benchRecovery();
const worst = (values: number[]): number => Math.max(...values);
out(`recovery (kill -9, then until \`config show\` is answered again; restart period ${RECOVERY_PERIOD_MS} ms, each kill after a healthy run)`);
out(`  msgq median          ${median(recovery.msgqMs).toFixed(0)} ms, worst ${worst(recovery.msgqMs).toFixed(0)} ms  (target < 500 ms; runs: ${ms(recovery.msgqMs)})`);
out(`  cfgmgr median        ${median(recovery.cfgmgrMs).toFixed(0)} ms, worst ${worst(recovery.cfgmgrMs).toFixed(0)} ms  (target < first restart delay (0 after a healthy run) + 500 ms; runs: ${ms(recovery.cfgmgrMs)})`);

for (const line of dnsReport(await benchDns())) out(line);

const counters = await benchCounters();
if (typeof counters === 'string') {
  out(`auth counters: skipped: ${counters}`);
} else {
  const rates = (values: number[]): string => values.map((v) => Math.round(v).toLocaleString('en-US')).join(', ');
  out('auth with its statistics counters vs without (B10_AUTH_COUNTERS=off), dnsperf, alternating rounds, same run');
  out(`  counting             median ${rate(median(counters.on))}  (rounds: ${rates(counters.on)})`);
  out(`  not counting         median ${rate(median(counters.off))}  (rounds: ${rates(counters.off)})`);
  out(`  counting/not         ${counters.ratio.toFixed(3)}  (target >= 0.97)`);
}

const axfr = await benchAxfr();
if (typeof axfr === 'string') {
  out(`zone transfers vs BIND 9: skipped: ${axfr}`);
} else {
  const ms = (v: number): string => `${v.toFixed(0)} ms`;
  out('zone transfers of a 100,000-record zone vs BIND 9 (same run)');
  out(`  out of xfrout        b10 ${ms(axfr.outB10Ms)}, named ${ms(axfr.outNamedMs)} (medians of 5, alternating) = ${(axfr.outNamedMs / axfr.outB10Ms).toFixed(2)}x named's speed  (target >= 1.0x; b10's first transfer, from the store: ${ms(axfr.outB10FirstMs)})`);
  out(`  into xfrin           b10 ${ms(axfr.inB10StoredMs)} into the store (xfrin's figure, as named's; median of 5 after its first), named ${ms(axfr.inNamedMs)} (median of 3 secondaries) = ${(axfr.inNamedMs / axfr.inB10StoredMs).toFixed(2)}x named's speed  (target >= 0.5x; xfrin's first transfer after its start: ${ms(axfr.inB10FirstStoredMs)} = ${(axfr.inNamedMs / axfr.inB10FirstStoredMs).toFixed(2)}x)`);
  out(`                       and served by auth: ${ms(axfr.inB10Ms)} from the retransfer command to its answer = ${(axfr.inNamedMs / axfr.inB10Ms).toFixed(2)}x`);
}

const zoneLoad = await benchZoneLoad();
if (typeof zoneLoad === 'string') {
  out(`zone load vs named-compilezone: skipped: ${zoneLoad}`);
} else {
  const mb = (v: number): string => `${v.toFixed(0)} MB`;
  const s = (v: number): string => `${(v / 1000).toFixed(1)} s`;
  out(`zone load of a ${zoneLoad.records.toLocaleString('en-US')}-record zone vs named-compilezone (same file, same run)`);
  out(`  b10 zone load        ${s(zoneLoad.b10Ms)} (CPU ${s(zoneLoad.b10CpuMs)}), peak RSS ${mb(zoneLoad.b10RssMb)} (the CLI: parse, check, store)`);
  out(`  named-compilezone    ${s(zoneLoad.namedMs)} (CPU ${s(zoneLoad.namedCpuMs)}), peak RSS ${mb(zoneLoad.namedRssMb)} (parse, check, write raw)`);
  out(`  time b10/named       ${(zoneLoad.b10Ms / zoneLoad.namedMs).toFixed(2)}x  (target within 2x)`);
  out(`  auth serving it      ${s(zoneLoad.authMs)} (loadzone), auth peak RSS ${mb(zoneLoad.authRssMb)}`);
}

const ixfr = await benchIxfr();
out('IXFR vs AXFR out of xfrout, 100,000-record zone, one record changed (same run, b10\'s client, medians of 5)');
out(`  IXFR from serial 1   ${ixfr.ixfrMs.toFixed(1)} ms, ${ixfr.ixfrRecords} records`);
out(`  AXFR                 ${ixfr.axfrMs.toFixed(1)} ms, ${ixfr.axfrRecords.toLocaleString('en-US')} records`);
out(`  AXFR/IXFR            ${(ixfr.axfrMs / ixfr.ixfrMs).toFixed(0)}x`);

const ddns = await benchDdns();
if (typeof ddns === 'string') {
  out(`dynamic updates vs BIND 9: skipped: ${ddns}`);
} else {
  out('dynamic updates vs BIND 9 (one client, one single-record update at a time, each TSIG-signed, same zone, same run; 10,000 each over UDP, 3,000 over TCP)');
  for (const [what, figures] of [['UDP', ddns.udp], ['TCP', ddns.tcp]] as const) {
    out(`  ${what.padEnd(20)} b10 ${rate(figures.b10)}, named ${rate(figures.named)} updates = ${(figures.b10 / figures.named).toFixed(2)}x`);
  }
}

// perf-workers: auth's workers' memory with a 1,000,000-record zone against named (bench/workers-rss.ts).
for (const line of await workersRssLines()) out(line);

for (const line of fleetLines(await benchFleet())) out(line);
