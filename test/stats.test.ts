import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { requireTool } from './helpers/debian.js';
import { digAt } from './helpers/dns.js';
import { freePort, ROOT } from './helpers/processes.js';
import { boot, byComponent, fixture, type Booted } from './helpers/stack.js';
import { tempDir } from './helpers/tmp.js';

const ZONE = path.join(ROOT, 'test/fixtures/zones/auth.zone');
const components = {
  xfrout: { process: 'b10-xfrout', kind: 'dispensable', address: 'Xfrout', priority: 20 },
  auth: { process: 'b10-auth', kind: 'needed', address: 'Auth', priority: 10 },
  stats: { process: 'b10-stats', kind: 'dispensable', address: 'Stats', priority: 0 },
  'stats-httpd': { process: 'b10-stats-httpd', kind: 'dispensable', address: 'StatsHttpd', priority: 0 },
};
/** Stats polls often, StatsHttpd takes a free port: the stored configuration of the stack. */
const stored = { Stats: { poll_interval: 0.2 }, StatsHttpd: { listen_on: [{ address: '127.0.0.1', port: 0 }] } };
const WAIT = { timeout: 15_000, interval: 100 };

interface Stack {
  stack: Booted;
  dnsPort: number;
  httpPort: number;
}

async function statsStack(more: Record<string, object> = {}, dnsPort = 0, config: Record<string, object> = {}): Promise<Stack> {
  const stack = await boot({ ...components, ...more }, ['-p', String(dnsPort)], { ...stored, ...config });
  const auth = await stack.boss.waitForLog(byComponent('auth', 'auth listening'), 'auth listening');
  const httpd = await stack.boss.waitForLog(byComponent('stats-httpd', 'stats-httpd listening'), 'stats-httpd listening');
  expect(await stack.b10('zone', 'load', 'auth.test', ZONE, '-d', stack.dir)).toMatchObject({ code: 0 });
  return { stack, dnsPort: (auth.endpoints as { port: number }[])[0]!.port, httpPort: (httpd.endpoints as { port: number }[])[0]!.port };
}

interface Figures {
  statistics: Record<string, unknown>;
  updated: number;
  stale: boolean;
  reason?: string;
}

async function stats(stack: Booted, module?: string): Promise<Record<string, Figures>> {
  const r = await stack.b10('stats', ...(module ? [module] : []), '--json');
  if (r.code !== 0) return {};
  return JSON.parse(r.stdout) as Record<string, Figures>;
}

async function get(port: number, route: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${route}`, { headers });
  return { status: res.status, text: await res.text() };
}

/** The value of one sample of the page, undefined when absent: `name{labels}` exactly as prom-client writes it. */
function sample(page: string, series: string): number | undefined {
  const line = page.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** A few queries of every kind the counters tell apart: 6 over UDP (2 NXDOMAIN, 1 with DO), 2 over TCP. */
async function queries(dnsPort: number): Promise<void> {
  const dig = requireTool('dig', 'dnsutils');
  for (let i = 0; i < 3; i++) expect((await digAt(dig, dnsPort, 'www.auth.test', 'A')).status).toBe('NOERROR');
  for (let i = 0; i < 2; i++) expect((await digAt(dig, dnsPort, `nope${i}.auth.test`, 'A')).status).toBe('NXDOMAIN');
  expect((await digAt(dig, dnsPort, 'www.auth.test', 'A', '+dnssec')).status).toBe('NOERROR');
  for (let i = 0; i < 2; i++) expect((await digAt(dig, dnsPort, 'www.auth.test', 'AAAA', '+tcp')).status).toBe('NOERROR');
}

const EXPECTED_AUTH = {
  queries: { udp: { A: 6 }, tcp: { AAAA: 2 } },
  opcodes: { udp: { QUERY: 6 }, tcp: { QUERY: 2 } },
  responses: { NOERROR: 6, NXDOMAIN: 2 },
  dnssec_ok: 1,
  truncated: 0,
  dropped: 0,
  zones: { 'auth.test.': { queries: 8, nxdomain: 2 } },
};

describe('statistics: b10-stats, b10 stats and b10-stats-httpd', () => {
  it('auth_counts_exact: after N dig queries b10 stats Auth --json and /metrics show exactly those counts, and promtool accepts the page', async () => {
    const { stack, dnsPort, httpPort } = await statsStack();
    await queries(dnsPort);
    await expect.poll(async () => (await stats(stack, 'Auth')).Auth?.statistics, WAIT).toMatchObject(EXPECTED_AUTH);

    const page = (await get(httpPort, '/metrics')).text;
    expect(sample(page, 'b10_auth_queries_total{transport="udp",qtype="A"}')).toBe(6);
    expect(sample(page, 'b10_auth_queries_total{transport="tcp",qtype="AAAA"}')).toBe(2);
    expect(sample(page, 'b10_auth_responses_total{rcode="NXDOMAIN"}')).toBe(2);
    expect(sample(page, 'b10_auth_responses_total{rcode="NOERROR"}')).toBe(6);
    expect(sample(page, 'b10_auth_zone_queries_total{zone="auth.test."}')).toBe(8);
    expect(sample(page, 'b10_auth_zone_nxdomain_total{zone="auth.test."}')).toBe(2);
    expect(sample(page, 'b10_auth_dnssec_ok_total')).toBe(1);
    expect(sample(page, 'b10_auth_truncated_total')).toBe(0);
    expect(sample(page, 'b10_auth_dropped_total')).toBe(0);
    expect(sample(page, 'b10_boss_component_up{component="auth"}')).toBe(1);
    expect(sample(page, 'b10_process_resident_memory_bytes{component="auth"}')).toBeGreaterThan(1024 * 1024);
    expect(sample(page, 'b10_msgq_clients')).toBeGreaterThan(3);
    expect(page).toMatch(/^# HELP b10_auth_queries_total \S/m);

    const json = JSON.parse((await get(httpPort, '/stats')).text) as Record<string, Figures>;
    expect(json.Auth?.statistics).toMatchObject(EXPECTED_AUTH);

    const promtool = requireTool('promtool', 'prometheus');
    const checked = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(promtool, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.on('close', (code) => resolve({ code, out }));
      child.stdin.end(page);
    });
    expect(checked).toEqual({ code: 0, out: '' });
  });

  it('prometheus_scrapes: a real Prometheus server scrapes StatsHttpd and its query API returns the auth counters', async () => {
    const { dnsPort, httpPort } = await statsStack();
    await queries(dnsPort);
    const prometheus = requireTool('prometheus', 'prometheus');
    const dir = await tempDir();
    const config = path.join(dir, 'prometheus.yml');
    await writeFile(
      config,
      ['global:', '  scrape_interval: 1s', 'scrape_configs:', '  - job_name: b10', '    static_configs:', `      - targets: ['127.0.0.1:${httpPort}']`, ''].join('\n'),
    );
    const webPort = await freePort();
    const child: ChildProcess = spawn(
      prometheus,
      [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${webPort}`],
      { stdio: 'ignore' },
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    onTestFinished(async () => {
      child.kill('SIGTERM');
      await exited;
    });
    const query = async (promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
      try {
        const res = await fetch(`http://127.0.0.1:${webPort}/api/v1/query?query=${encodeURIComponent(promql)}`);
        return ((await res.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } }).data.result;
      } catch {
        return [];
      }
    };
    const value = async (promql: string): Promise<string | undefined> => (await query(promql))[0]?.value[1];
    await expect.poll(() => value('b10_auth_queries_total{transport="udp",qtype="A"}'), { timeout: 30_000, interval: 250 }).toBe('6');
    expect(await value('b10_auth_responses_total{rcode="NXDOMAIN"}')).toBe('2');
    expect(await value('b10_auth_zone_queries_total{zone="auth.test."}')).toBe('8');
    expect(await value('up{job="b10"}')).toBe('1');
  });

  it('transfer_counts: transfers out and in counted by zone, kind and result, with their records and bytes', async () => {
    const dnsPort = await freePort();
    const closed = await freePort();
    const xfrin = { xfrin: { process: 'b10-xfrin', kind: 'dispensable', address: 'Xfrin', priority: 5 } };
    const zones = [
      { name: 'auth.test', master_addr: '127.0.0.1', master_port: dnsPort },
      { name: 'nowhere.test', master_addr: '127.0.0.1', master_port: closed },
    ];
    const { stack, httpPort } = await statsStack(xfrin, dnsPort, { Xfrin: { zones } });
    const dig = requireTool('dig', 'dnsutils');
    await digAt(dig, dnsPort, '-b', '127.0.0.2', 'auth.test', 'AXFR');
    // b10's own xfrin takes the zone from b10's own xfrout: one success each way.
    expect(await stack.b10('send', 'Xfrin', 'retransfer', '{"zone_name": "auth.test"}')).toMatchObject({ code: 0 });
    expect(await stack.b10('send', 'Xfrin', 'retransfer', '{"zone_name": "nowhere.test"}')).toMatchObject({ code: 1 });
    type Row = { zone: string; kind: string; result: string; transfers: number; records: number; bytes: number };
    const rows = async (module: string): Promise<Row[]> => ((await stats(stack, module))[module]?.statistics.transfers as Row[] | undefined) ?? [];
    const byResult = (list: Row[]) => Object.fromEntries(list.map((r) => [`${r.zone} ${r.kind} ${r.result}`, r.transfers]));
    await expect.poll(async () => byResult(await rows('Xfrout')), WAIT).toEqual({ 'auth.test. AXFR refused': 1, 'auth.test. AXFR success': 1 });
    await expect.poll(async () => byResult(await rows('Xfrin')), WAIT).toEqual({ 'auth.test. AXFR success': 1, 'nowhere.test. AXFR failed': 1 });
    const out = (await rows('Xfrout')).find((r) => r.result === 'success')!;
    const into = (await rows('Xfrin')).find((r) => r.result === 'success')!;
    // xfrout sends the SOA twice (first and last), xfrin keeps it once; both saw the same bytes, less the TCP length fields.
    expect(out.records).toBe(into.records + 1);
    expect(into.bytes).toBeGreaterThan(out.bytes);
    const page = (await get(httpPort, '/metrics')).text;
    expect(sample(page, 'b10_xfrout_transfers_total{zone="auth.test.",kind="AXFR",result="success"}')).toBe(1);
    expect(sample(page, 'b10_xfrin_transfers_total{zone="nowhere.test.",kind="AXFR",result="failed"}')).toBe(1);
  });

  it('msgq_counts: no-recipient answers and the clients on the bus', async () => {
    const { stack } = await statsStack();
    // While b10 starts, the boss asks for the config manager until it answers: those no-recipient answers count too.
    const before = (JSON.parse((await stack.b10('send', 'Msgq', 'getstats')).stdout) as { no_recipient: number }).no_recipient;
    expect((await stack.b10('send', 'NoSuchModule', 'status')).code).toBe(3);
    const msgq = async (): Promise<Record<string, unknown> | undefined> => (await stats(stack, 'Msgq')).Msgq?.statistics;
    await expect.poll(async () => (await msgq())?.no_recipient, WAIT).toBe(before + 1);
    // The boss and every daemon but msgq itself, and any b10 command connected at the time of the poll.
    expect((await msgq())!.clients).toBeGreaterThanOrEqual(stack.pids().length);
  });

  it('restart_counted: after kill -9 of b10-xfrout its restart counter is 1, in b10 stats Boss and /metrics', async () => {
    const { stack, httpPort } = await statsStack();
    const [pid] = stack.pidsOf('xfrout');
    process.kill(pid!, 'SIGKILL');
    await stack.boss.waitForLog((l) => l.component === 'xfrout' && l.msg === 'component started' && l.componentPid !== pid, 'xfrout started again');
    const xfrout = async (): Promise<unknown> => ((await stats(stack, 'Boss')).Boss?.statistics.components as Record<string, unknown> | undefined)?.xfrout;
    await expect.poll(xfrout, WAIT).toMatchObject({ restarts: 1, up: 1, state: 'running' });
    await expect.poll(async () => sample((await get(httpPort, '/metrics')).text, 'b10_boss_component_restarts_total{component="xfrout"}'), WAIT).toBe(1);
  });

  it('mute_module_isolated: a module that stops answering getstats keeps its last figures, stale, and holds up nobody else', async () => {
    const { stack, dnsPort } = await statsStack({ mute: { process: fixture('mute-stats'), kind: 'dispensable', address: 'Mute' } });
    await expect.poll(async () => (await stats(stack)).Mute?.stale, WAIT).toBe(true);
    const before = await stats(stack);
    expect(before.Mute).toMatchObject({ statistics: { answered: 1 }, stale: true });
    expect(before.Mute?.reason).toMatch(/answer/);
    await queries(dnsPort);
    // Others are polled on: auth's new figures come in, fresh, while Mute still answers nothing.
    await expect.poll(async () => (await stats(stack)).Auth, WAIT).toMatchObject({ statistics: EXPECTED_AUTH, stale: false });
    const after = await stats(stack);
    expect(after.Msgq).toMatchObject({ stale: false });
    expect(after.Msgq!.updated).toBeGreaterThan(before.Mute!.updated);
    expect(after.Mute).toMatchObject({ statistics: { answered: 1 }, stale: true, updated: before.Mute!.updated });
  });

  it('exposure_guarded: listen_on beyond loopback is refused without token_file; with it, no bearer gets 401', async () => {
    const { stack, httpPort } = await statsStack();
    // The same port on every address: the loopback listener makes way, and comes back when the move fails.
    const open = JSON.stringify([{ address: '0.0.0.0', port: httpPort }]);
    const refused = await stack.b10('config', 'set', 'StatsHttpd/listen_on', open);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('set StatsHttpd/token_file');
    expect((await get(httpPort, '/metrics')).status).toBe(200);

    const dir = await tempDir();
    const tokenFile = path.join(dir, 'stats.token');
    await writeFile(tokenFile, 'the-secret-token\n', { mode: 0o600 });
    expect(await stack.b10('config', 'set', 'StatsHttpd/token_file', JSON.stringify(tokenFile))).toMatchObject({ code: 0 });
    const bearer = { authorization: 'Bearer the-secret-token' };
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => new Promise<void>((resolve) => holder.close(() => resolve())));
    const taken = (holder.address() as net.AddressInfo).port;
    const halfway = await stack.b10('config', 'set', 'StatsHttpd/listen_on', JSON.stringify([{ address: '0.0.0.0', port: httpPort }, { address: '127.0.0.1', port: taken }]));
    expect(halfway.code).toBe(1);
    expect(halfway.stderr).toContain(`still serving on 127.0.0.1:${httpPort}`);
    expect((await get(httpPort, '/metrics', bearer)).status).toBe(200);
    const since = stack.boss.logs.length;
    expect(await stack.b10('config', 'set', 'StatsHttpd/listen_on', open)).toMatchObject({ code: 0 });
    const moved = await stack.boss.waitForLog(byComponent('stats-httpd', 'stats-httpd listening'), 'stats-httpd listening again', since);
    const port = (moved.endpoints as { port: number }[])[0]!.port;
    expect(moved.endpoints).toEqual([{ address: '0.0.0.0', port: httpPort }]);
    const denied = await get(port, '/metrics');
    expect(denied.status).toBe(401);
    expect(denied.text).not.toContain('b10_');
    expect((await get(port, '/metrics', { authorization: 'Bearer wrong' })).status).toBe(401);
    const allowed = await get(port, '/metrics', bearer);
    expect(allowed.status).toBe(200);
    expect(allowed.text).toContain('b10_auth_queries_total');
  });

  it('port_taken_refused: a listen_on whose port is taken is refused, saying so, and the old address keeps serving', async () => {
    const { stack, httpPort } = await statsStack();
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => new Promise<void>((resolve) => holder.close(() => resolve())));
    const taken = (holder.address() as net.AddressInfo).port;
    const r = await stack.b10('config', 'set', 'StatsHttpd/listen_on', JSON.stringify([{ address: '127.0.0.1', port: taken }]));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot listen on 127.0.0.1:${taken}: the port is taken`);
    expect((await get(httpPort, '/metrics')).status).toBe(200);
  });
});
