import path from 'node:path';
import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { componentStats, cpuSecondsFromStat, rssBytesFromStatus } from '../boss/counters.js';
import type { ProcessRow } from '../boss/boss.js';
import { MsgqCounters } from '../msgq/counters.js';
import { encodeFrame, FrameDecoder, type Frame } from '../protocol/framing.js';
import { loadSpecFile, parseModuleSpec } from '../protocol/spec.js';
import { AuthCounters } from '../src/auth/counters.js';
import { statsTable } from '../src/cli/stats.js';
import { parseQuery } from '../src/dns/message.js';
import { exposureProblem } from '../src/stats/exposure.js';
import { prometheusText } from '../src/stats/metrics.js';
import { StatsStore } from '../src/stats/store.js';
import { TransferCounters } from '../src/stats/transfer-counters.js';
import { ROOT } from './helpers/processes.js';
import { UpdateCounters } from '../src/ddns/counters.js';

const query = (name: string, type: string, opt?: { ednsVersion?: number; flags?: number }): Buffer =>
  dnsPacket.encode({
    id: 1,
    type: 'query',
    questions: [{ name, type: type as 'A' }],
    additionals: opt ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, ednsVersion: opt.ednsVersion ?? 0, flags: opt.flags ?? 0 } as dnsPacket.Answer] : [],
  });
const response = (rcode: number, tc = false): Buffer => {
  const bytes = Buffer.alloc(12);
  bytes[2] = 0x80 | (tc ? 0x02 : 0);
  bytes[3] = rcode;
  return bytes;
};
const statisticsNames = async (file: string): Promise<string[]> => (await loadSpecFile(path.join(ROOT, file))).statistics!.map((i) => i.item_name).sort();

describe('auth counters', () => {
  it('counts_by_code: queries by transport, opcode and qtype; rcodes from the header, BADVERS from the query; DO, TC and drops', () => {
    const counters = new AuthCounters(true);
    counters.query(parseQuery(query('a.example', 'A')), 'udp');
    counters.response(response(0));
    counters.query(parseQuery(query('a.example', 'AAAA', { flags: dnsPacket.DNSSEC_OK })), 'tcp');
    counters.response(response(3, true));
    counters.query(parseQuery(query('a.example', 'A', { ednsVersion: 1 })), 'udp');
    counters.response(response(0));
    counters.query(parseQuery(Buffer.from([1, 2, 3])), 'udp');
    expect(counters.snapshot()).toMatchObject({
      queries: { udp: { A: 2 }, tcp: { AAAA: 1 } },
      opcodes: { udp: { QUERY: 2 }, tcp: { QUERY: 1 } },
      responses: { NOERROR: 1, NXDOMAIN: 1, BADVERS: 1 },
      dnssec_ok: 1,
      truncated: 1,
      dropped: 1,
    });
  });

  it('zone_counts: queries and NXDOMAIN of the zone answered from; none for no zone', () => {
    const counters = new AuthCounters(true);
    const zone = counters.zone('example.');
    counters.answered(zone, 0);
    counters.answered(counters.zone('example.'), 3);
    counters.answered(counters.zone(undefined), 5);
    expect(counters.snapshot().zones).toEqual({ 'example.': { queries: 2, nxdomain: 1 } });
  });

  it('counting_off: with counting off (the benchmark\'s baseline) nothing is counted and getstats says so', () => {
    const counters = new AuthCounters(false);
    counters.query(parseQuery(query('a.example', 'A')), 'udp');
    counters.response(response(0));
    counters.answered(counters.zone('example.'), 3);
    expect(counters.snapshot()).toMatchObject({ counting: false, queries: { udp: {}, tcp: {} }, responses: {}, zones: { 'example.': { queries: 0 } } });
  });

  it('declared: what getstats answers is what the specs declare', async () => {
    expect(Object.keys(new AuthCounters(true).snapshot()).sort()).toEqual(await statisticsNames('src/auth/auth.spec'));
    expect(Object.keys(new TransferCounters().snapshot()).sort()).toEqual(await statisticsNames('src/xfrout/xfrout.spec'));
    expect(Object.keys(new TransferCounters().snapshot()).sort()).toEqual(await statisticsNames('src/xfrin/xfrin.spec'));
    expect(Object.keys(componentStats([])).sort()).toEqual(await statisticsNames('boss/bob.spec'));
    expect(Object.keys(new UpdateCounters().snapshot()).sort()).toEqual(await statisticsNames('src/ddns/ddns.spec'));
  });

  it('bad_statistics_spec: a statistics item without a type is refused, named by path', () => {
    expect(() => parseModuleSpec({ module_name: 'M', statistics: [{ item_name: 'n', item_optional: false, item_default: 0 }] }, 'm.spec')).toThrow(
      /m\.spec: item statistics\/n: item_type/,
    );
  });
});

describe('transfer counters', () => {
  it('by_zone_kind_result: each (zone, kind, result) counts transfers, records and bytes', () => {
    const counters = new TransferCounters();
    counters.count('a.', 'AXFR', 'success', 10, 500);
    counters.count('a.', 'AXFR', 'success', 10, 500);
    counters.count('a.', 'AXFR', 'refused');
    counters.count('b.', 'IXFR', 'success', 2, 80);
    expect(counters.snapshot().transfers).toEqual([
      { zone: 'a.', kind: 'AXFR', result: 'success', transfers: 2, records: 20, bytes: 1000 },
      { zone: 'a.', kind: 'AXFR', result: 'refused', transfers: 1, records: 0, bytes: 0 },
      { zone: 'b.', kind: 'IXFR', result: 'success', transfers: 1, records: 2, bytes: 80 },
    ]);
  });
});

describe('update counters', () => {
  it('by_zone_result: each (zone, rcode answered) counts updates, and /metrics carries them', async () => {
    const counters = new UpdateCounters();
    counters.count('a.', 0);
    counters.count('a.', 0);
    counters.count('a.', 8);
    counters.count('', 1);
    expect(counters.snapshot().updates).toEqual([
      { zone: 'a.', result: 'NOERROR', updates: 2 },
      { zone: 'a.', result: 'NXRRSET', updates: 1 },
      { zone: '', result: 'FORMERR', updates: 1 },
    ]);
    const { text } = await prometheusText({ DDNS: { statistics: counters.snapshot(), updated: 12, stale: false } });
    expect(text).toContain('b10_ddns_updates_total{zone="a.",result="NOERROR"} 2');
    expect(text).toContain('b10_ddns_updates_total{zone="a.",result="NXRRSET"} 1');
  });
});

describe('msgq counters', () => {
  it('runs_counted: a handler that took a run of frames counts each of them and their bytes', () => {
    const counters = new MsgqCounters();
    const frames = [encodeFrame(Buffer.from([0xa0]), Buffer.from('one')), encodeFrame(Buffer.from([0xa0])), encodeFrame(Buffer.from([0xa0]), Buffer.from('three'))];
    const all = Buffer.concat(frames);
    let first = true;
    new FrameDecoder((frame: Frame) => {
      if (first) frame.takeThrough(frame.start + all.length);
      first = false;
      counters.routed(frame);
    }).push(all);
    expect(counters.snapshot(0)).toMatchObject({ messages: 3, bytes: all.length });
  });
});

describe('boss figures', () => {
  it('proc_parsing: CPU seconds from /proc/PID/stat (a name with spaces and parentheses), RSS from /proc/PID/status', () => {
    const stat = '4242 (node (a) b) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 150 0 0 20 0 11 0 100 1000000 5000';
    expect(cpuSecondsFromStat(stat)).toBe(4);
    expect(rssBytesFromStatus('Name:\tnode\nVmPeak:\t  9 kB\nVmRSS:\t   51200 kB\nThreads:\t11\n')).toBe(51200 * 1024);
    expect(rssBytesFromStatus('Name:\tzombie\n')).toBe(0);
  });

  it('components: up only while running; this process\'s own memory and CPU read from /proc', () => {
    const row = (name: string, pid: number | null, state: ProcessRow['state']): ProcessRow => ({
      name, pid, kind: 'dispensable', address: null, state, restarts: 2, failures: 0, uptime: pid ? 5 : null, next_restart_in: null, reason: null,
    });
    const { components } = componentStats([row('me', process.pid, 'running'), row('gone', null, 'restarting')]);
    expect(components.me).toMatchObject({ up: 1, restarts: 2, uptime: 5 });
    expect(components.me!.rss_bytes).toBeGreaterThan(1024 * 1024);
    expect(components.me!.cpu_seconds).toBeGreaterThan(0);
    expect(components.gone).toEqual({ up: 0, state: 'restarting', restarts: 2, uptime: 0, rss_bytes: 0, cpu_seconds: 0 });
  });
});

describe('Stats\' figures', () => {
  it('stale_kept: a failed poll keeps the last figures, stale with the reason; a module never heard has none', () => {
    const store = new StatsStore();
    store.failed('Never', 'timeout');
    store.answered('Auth', { dropped: 1 }, 1_000_000);
    store.failed('Auth', 'no answer within 200 ms');
    expect(store.show()).toEqual({ Auth: { statistics: { dropped: 1 }, updated: 1000, stale: true, reason: 'no answer within 200 ms' } });
    store.answered('Auth', { dropped: 2 }, 2_000_000);
    expect(store.show('Auth')).toEqual({ Auth: { statistics: { dropped: 2 }, updated: 2000, stale: false } });
    expect(store.show('Never')).toEqual({});
  });

  it('table: one block per module, items by path, stale ones said so', () => {
    const text = statsTable({
      Auth: { statistics: { queries: { udp: { A: 3 } }, dropped: 0 }, updated: 0, stale: false },
      Mute: { statistics: { answered: 1 }, updated: 0, stale: true, reason: 'timed out' },
    });
    expect(text).toBe(
      [
        'Auth  (1970-01-01T00:00:00.000Z)',
        '  queries/udp/A  3',
        '  dropped        0',
        'Mute  (stale: figures of 1970-01-01T00:00:00.000Z; the last poll failed: timed out)',
        '  answered  1',
        '',
      ].join('\n'),
    );
    expect(statsTable({})).toBe('no figures yet: Stats has not polled any module\n');
  });

  it('metrics_help: every metric has its HELP and TYPE even before any figure; stale modules are marked', async () => {
    const { text } = await prometheusText({ Mute: { statistics: {}, updated: 12, stale: true } });
    for (const name of [
      'b10_auth_queries_total', 'b10_auth_responses_total', 'b10_auth_zone_queries_total', 'b10_auth_zone_nxdomain_total', 'b10_auth_truncated_total',
      'b10_auth_dnssec_ok_total', 'b10_auth_dropped_total', 'b10_xfrout_transfers_total', 'b10_xfrin_transfers_total', 'b10_msgq_messages_total',
      'b10_msgq_bytes_total', 'b10_msgq_clients', 'b10_msgq_no_recipient_total', 'b10_boss_component_up', 'b10_boss_component_restarts_total',
      'b10_process_resident_memory_bytes', 'b10_process_cpu_seconds_total', 'b10_ddns_updates_total',
    ]) {
      expect(text).toMatch(new RegExp(`^# HELP ${name} \\S.*\\n# TYPE ${name} (counter|gauge)$`, 'm'));
    }
    expect(text).toContain('b10_stats_stale{module="Mute"} 1');
  });

  it('exposure: loopback needs nothing, any other address a token file', () => {
    expect(exposureProblem([{ address: '127.0.0.1', port: 8000 }, { address: '::1', port: 8000 }], undefined)).toBeUndefined();
    expect(exposureProblem([{ address: '0.0.0.0', port: 8000 }], undefined)).toMatch(/0\.0\.0\.0:8000 is not loopback: set StatsHttpd\/token_file/);
    expect(exposureProblem([{ address: '0.0.0.0', port: 8000 }], '/etc/b10/stats.token')).toBeUndefined();
  });
});
