import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Session } from '../protocol/session.js';
import { CONFIG_FILE } from '../src/cfgmgr/store.js';
import { parseMasterFile } from '../src/dns/master-file.js';
import { ZoneStore } from '../src/dns/zone-store.js';
import { expectMessage, startBus } from '../src/testing/index.js';
import { sumSnapshots } from '../src/auth/counters.js';
import { keptPicks } from '../src/auth/endpoints.js';
import { blockingPorts, workersFor } from '../src/auth/workers.js';
import { ListenError } from '../src/auth/endpoints.js';
import { requireTool } from './helpers/debian.js';
import { digAt, query, rcodeOf, udpExchange } from './helpers/dns.js';
import { ROOT, start } from './helpers/processes.js';
import { alive, boot, byComponent, expectAllGone, type Booted } from './helpers/stack.js';
import { tempDir } from './helpers/tmp.js';
import { DDNS_CONFIG, dynamicStack, nsupdate } from './helpers/ddns.js';

const ZONE = path.join(ROOT, 'test/fixtures/zones/auth.zone');
const auth = { auth: { process: 'b10-auth', kind: 'needed', address: 'Auth' } };

interface PsRow {
  name: string;
  pid: number | null;
  state: string;
  restarts: number;
}

interface WorkerZones {
  worker: number;
  pid: number | null;
  zones?: { origin: string; serial: number }[];
}

/** b10 with auth (Auth/workers as given) on a free port, serving auth.test; its DNS port. */
async function stackWith(workers: number, components: Record<string, object> = auth): Promise<{ stack: Booted; port: number }> {
  const stack = await boot(components, ['-p', '0'], { Auth: { workers } });
  const listening = await stack.boss.waitForLog(byComponent('auth', 'auth listening'), 'auth listening');
  const loaded = await stack.b10('zone', 'load', 'auth.test', ZONE, '-d', stack.dir);
  expect(loaded.stderr).toBe('b10: auth serves auth.test. as loaded');
  return { stack, port: (listening.endpoints as { port: number }[])[0]!.port };
}

async function ask(stack: Booted, command: string): Promise<unknown> {
  const session = await Session.connect({ port: stack.port, tokenFile: stack.tokenFile });
  try {
    return await session.command('Auth', command);
  } finally {
    await session.close();
  }
}

async function ps(stack: Booted): Promise<PsRow[]> {
  const r = await stack.b10('ps', '--json');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as PsRow[];
}

const workerRows = (rows: PsRow[]): PsRow[] => rows.filter((r) => r.name.startsWith('auth/'));

/** The same questions as dig asks them, over UDP and TCP: what the server says, id and timing aside. */
async function answers(digBin: string, port: number): Promise<string[]> {
  const out: string[] = [];
  for (const transport of ['+notcp', '+tcp']) {
    for (const [name, type] of [['auth.test', 'SOA'], ['www.auth.test', 'A'], ['nope.auth.test', 'A'], ['auth.test', 'NS'], ['other.example', 'A']]) {
      // Six times each: with two workers, both answer some of them.
      for (let i = 0; i < 6; i++) {
        const r = await digAt(digBin, port, '+norec', transport, name!, type!);
        out.push(JSON.stringify([transport, name, type, r.status, r.flags, r.answer, r.authority, r.additional]));
      }
    }
  }
  return out;
}

/** www.auth.test A over UDP within a second: its address, undefined for no answer. */
async function www(port: number, id: number): Promise<string | undefined> {
  const msg = await udpExchange(port, query({ id, name: 'www.auth.test' }), 1000);
  if (!msg || rcodeOf(msg) !== 0 || msg.readUInt16BE(0) !== id) return undefined;
  return [...msg.subarray(-4)].join('.');
}

/** Asks www.auth.test over UDP one query after another until stopped: how many were asked, and how many not answered right. */
function queryLoop(port: number): { asked: () => number; lost: () => number; after: (count: number) => Promise<void>; stop: () => Promise<void> } {
  let lost = 0;
  let asked = 0;
  let looping = true;
  const loop = (async () => {
    for (let i = 0; looping; i++) {
      asked++;
      if ((await www(port, i & 0xffff)) !== '192.0.2.10') lost++;
    }
  })();
  return {
    asked: () => asked,
    lost: () => lost,
    // Resolves once `count` more queries were asked.
    after: async (count) => {
      const at = asked;
      while (asked < at + count) await new Promise((resolve) => setTimeout(resolve, 10));
    },
    stop: async () => {
      looping = false;
      await loop;
    },
  };
}

describe('Auth/workers: auth on every core', () => {
  it('workers_answer_as_one: two workers answer dig over UDP and TCP exactly as one auth does; b10 ps lists them', { timeout: 90_000 }, async () => {
    const digBin = requireTool('dig', 'dnsutils');
    const one = await stackWith(1);
    const expected = await answers(digBin, one.port);
    expect(workerRows(await ps(one.stack))).toEqual([]);
    await one.stack.boss.stop();

    const two = await stackWith(2);
    expect(await answers(digBin, two.port)).toEqual(expected);
    const rows = workerRows(await ps(two.stack));
    expect(rows.map((r) => [r.name, r.state])).toEqual([['auth/1', 'running'], ['auth/2', 'running']]);
    const authPid = (await ps(two.stack)).find((r) => r.name === 'auth')!.pid;
    expect(rows.map((r) => r.pid)).not.toContain(authPid);
    // Both answered: the queries they counted add up in getstats.
    const stats = (await ask(two.stack, 'getstats')) as { queries: { udp: Record<string, number>; tcp: Record<string, number> } };
    expect(stats.queries.udp.SOA).toBe(6);
    expect(stats.queries.tcp.A).toBe(18);
  });

  it('set_then_restart: b10 config set Auth/workers 2 is taken at the next start of auth (said so at once); b10 restart auth then runs two', { timeout: 60_000 }, async () => {
    const { stack } = await stackWith(1);
    expect((await stack.b10('config', 'set', 'Auth/workers', '2')).code).toBe(0);
    await stack.boss.waitForLog((l) => l.component === 'auth' && l.msg === 'Auth/workers changed: it takes effect when auth is restarted (b10 restart auth)', 'the warning');
    expect(workerRows(await ps(stack))).toEqual([]);
    const mark = stack.boss.logs.length;
    expect((await stack.b10('restart', 'auth')).code).toBe(0);
    // Started again on -p 0: a port of its own.
    const listening = await stack.boss.waitForLog(byComponent('auth', 'auth listening'), 'auth listening again', mark);
    const port = (listening.endpoints as { port: number }[])[0]!.port;
    expect(workerRows(await ps(stack)).map((r) => [r.name, r.state])).toEqual([['auth/1', 'running'], ['auth/2', 'running']]);
    expect(await www(port, 1)).toBe('192.0.2.10');
    expect((await stack.b10('config', 'set', 'Auth/workers', '17')).code).toBe(1);
  });

  it('zone_load_reaches_every_worker: b10 zone load answers once each worker serves the new serial', { timeout: 60_000 }, async () => {
    const { stack, port } = await stackWith(2);
    const dir = await tempDir();
    const changed = path.join(dir, 'auth.zone');
    await writeFile(changed, (await readFile(ZONE, 'utf8')).replace('hostmaster 7 ', 'hostmaster 8 ').replace('www A 192.0.2.10', 'www A 192.0.2.11'));
    const loaded = await stack.b10('zone', 'load', 'auth.test', changed, '-d', stack.dir);
    expect(loaded.code).toBe(0);
    const workers = (await ask(stack, 'workers')) as WorkerZones[];
    expect(workers.length).toBe(2);
    for (const w of workers) expect(w.zones).toEqual([{ origin: 'auth.test.', serial: 8 }]);
    for (let i = 0; i < 20; i++) expect(await www(port, i)).toBe('192.0.2.11');
  });

  it('transfer_through_a_worker: AXFR asked of either worker goes on to xfrout with the connection, the whole zone comes back', { timeout: 60_000 }, async () => {
    const digBin = requireTool('dig', 'dnsutils');
    const xfrout = { process: 'b10-xfrout', kind: 'dispensable', address: 'Xfrout', priority: 20 };
    const { port } = await stackWith(2, { ...auth, xfrout });
    // TCP connections are dealt to the workers in turn: two transfers, one through each.
    for (let i = 0; i < 2; i++) {
      const r = await digAt(digBin, port, 'auth.test', 'AXFR');
      const records = r.raw.split('\n').filter((l) => l !== '' && !l.startsWith(';'));
      expect(records.length).toBeGreaterThan(50);
      expect(records[0]).toMatch(/^auth\.test\.\s+300\s+IN\s+SOA\s/);
    }
  });

  it('update_through_workers: nsupdate over UDP and TCP, whichever worker takes it, is applied by ddns and answered; every worker serves it', { timeout: 60_000 }, async () => {
    const { stack, port } = await dynamicStack(undefined, [], { config: { ...DDNS_CONFIG, Auth: { workers: 2 } } });
    for (const [i, via] of [[], [], ['-v'], ['-v']].entries()) {
      const r = await nsupdate(port, [`update add n${i}.dyn.test 300 A 192.0.2.${100 + i}`], via);
      expect(r).toMatchObject({ code: 0 });
    }
    const workers = (await ask(stack, 'workers')) as WorkerZones[];
    for (const w of workers) expect(w.zones).toEqual([{ origin: 'dyn.test.', serial: 5 }]);
  });

  it('worker_killed: kill -9 of one worker during a query loop costs at most one query; the worker is started again alone', { timeout: 60_000 }, async () => {
    const { stack, port } = await stackWith(2);
    const before = workerRows(await ps(stack));
    const victim = before[0]!.pid!;
    const survivor = before[1]!.pid!;
    const authPid = (await ps(stack)).find((r) => r.name === 'auth')!.pid;
    const loop = queryLoop(port);
    try {
      await loop.after(50);
      process.kill(victim, 'SIGKILL');
      await stack.boss.waitForLog((l) => l.component === 'auth' && l.msg === 'auth worker exited: starting it again' && l.workerPid === victim, 'worker exit seen');
      const started = await stack.boss.waitForLog(
        (l) => l.component === 'auth' && l.msg === 'auth worker started' && l.workerPid !== victim && l.workerPid !== survivor,
        'worker started again',
      );
      // Until the new worker answers, and some queries after.
      for (;;) {
        const rows = workerRows(await ps(stack));
        if (rows.every((r) => r.state === 'running')) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await loop.after(100);
      const after = workerRows(await ps(stack));
      expect(after.map((r) => r.pid).sort()).toEqual([started.workerPid as number, survivor].sort());
      expect(after.find((r) => r.pid === started.workerPid)!.restarts).toBe(1);
      expect(alive(victim)).toBe(false);
      // auth itself and the other worker ran on throughout.
      expect((await ps(stack)).find((r) => r.name === 'auth')!.pid).toBe(authPid);
    } finally {
      await loop.stop();
    }
    expect(loop.lost()).toBeLessThanOrEqual(1);
    // Stopping b10 stops the workers too, the one started again included.
    const workers = workerRows(await ps(stack)).map((r) => r.pid!);
    await stack.boss.stop();
    await expectAllGone(workers);
  });

  it('workers_resized_live: Auth/workers 2 to 3 to 2 is applied without a restart of auth, a UDP query loop meanwhile getting every answer', { timeout: 90_000 }, async () => {
    const { stack, port } = await stackWith(2);
    const authPid = (await ps(stack)).find((r) => r.name === 'auth')!.pid;
    const first = workerRows(await ps(stack)).map((r) => r.pid);
    const loop = queryLoop(port);
    try {
      await loop.after(20);
      let mark = stack.boss.logs.length;
      expect((await stack.b10('config', 'set', 'Auth/workers', '3')).code).toBe(0);
      await stack.boss.waitForLog((l) => l.component === 'auth' && l.msg === 'auth workers resized', 'grown to three', mark);
      const three = workerRows(await ps(stack));
      expect(three.map((r) => [r.name, r.state])).toEqual([['auth/1', 'running'], ['auth/2', 'running'], ['auth/3', 'running']]);
      // The new one serves the zone: the workers each list it.
      const zones = (await ask(stack, 'workers')) as WorkerZones[];
      expect(zones.map((w) => w.zones)).toEqual(Array(3).fill([{ origin: 'auth.test.', serial: 7 }]));
      await loop.after(50);
      mark = stack.boss.logs.length;
      expect((await stack.b10('config', 'set', 'Auth/workers', '2')).code).toBe(0);
      await stack.boss.waitForLog((l) => l.component === 'auth' && l.msg === 'auth workers resized', 'back to two', mark);
      expect(workerRows(await ps(stack)).map((r) => r.pid)).toEqual(first);
      expect(alive(three[2]!.pid!)).toBe(false);
      await loop.after(50);
      expect((await ps(stack)).find((r) => r.name === 'auth')!.pid).toBe(authPid);
    } finally {
      await loop.stop();
    }
    expect(loop.lost()).toBe(0);
  });

  it('shutdown_while_starting: a bus shutdown that reaches auth while its workers still load the zones ends it cleanly, nothing logged as an error', { timeout: 90_000 }, async () => {
    // Big enough that the workers are still loading it once auth has joined the bus, which it does meanwhile.
    const dir = await tempDir();
    const lines = ['$TTL 60', '@ SOA ns h 1 2 3 4 5', '@ NS ns', 'ns A 192.0.2.1'];
    for (let i = 0; i < 200_000; i++) lines.push(`h${i} A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    const file = path.join(dir, 'big.zone');
    await writeFile(file, `${lines.join('\n')}\n`);
    const store = ZoneStore.open(dir);
    store.replaceZone('big.test.', parseMasterFile(file, 'big.test'));
    store.close();
    await writeFile(path.join(dir, CONFIG_FILE), JSON.stringify({ version: 2, Auth: { workers: 2 } }));
    const bus = await startBus({ cfgmgr: true, dataPath: dir });
    onTestFinished(() => bus.stop());
    const watcher = await bus.connect();
    await watcher.subscribe('cc_config');
    const auth = start('src/auth/main.js', ['-p', '0', '-d', dir], { env: bus.env, lifeline: true });
    onTestFinished(() => auth.stop());
    const registered = JSON.stringify({ notification: ['module_spec', { module_name: 'Auth' }] });
    await expectMessage(watcher, (m) => JSON.stringify(m.body) === registered, 30_000);
    expect(auth.logs.some((l) => l.msg === 'auth listening')).toBe(false);
    await watcher.command('Auth', 'shutdown');
    expect((await auth.exited).code).toBe(0);
    expect(auth.logs.filter((l) => Number(l.level) >= 50)).toEqual([]);
    expect(auth.logs.some((l) => l.msg === 'auth stopping' && l.reason === 'shutdown command')).toBe(true);
  });
});

describe('Auth/workers: the pure parts', () => {
  it('stats_summed: getstats adds every number of the workers\' counters, tables and zones included', () => {
    const a = { counting: true, queries: { udp: { A: 2 }, tcp: {} }, dropped: 1, zones: { 'x.': { queries: 2, nxdomain: 0 } } };
    const b = { counting: true, queries: { udp: { A: 1, MX: 4 }, tcp: { SOA: 1 } }, dropped: 0, zones: { 'y.': { queries: 1, nxdomain: 1 } } };
    expect(sumSnapshots([a, b])).toEqual({
      counting: true,
      queries: { udp: { A: 3, MX: 4 }, tcp: { SOA: 1 } },
      dropped: 1,
      zones: { 'x.': { queries: 2, nxdomain: 0 }, 'y.': { queries: 1, nxdomain: 1 } },
    });
  });

  it('port_zero_kept: an endpoint asked as port 0 again keeps the port picked for it; a new one gets none yet', () => {
    const asked = [{ address: '127.0.0.1', port: 0 }, { address: '::1', port: 53 }];
    const bound = [{ address: '127.0.0.1', port: 4242 }, { address: '::1', port: 53 }];
    expect(keptPicks([{ address: '127.0.0.1', port: 0 }, { address: '127.0.0.1', port: 0 }, { address: '::1', port: 54 }], asked, bound)).toEqual([4242, undefined, 54]);
  });

  it('overlap_blocked: a move refused as in use, on a port the workers hold on an address given up, names that port; any other failure none', () => {
    const inUse = new ListenError('cannot listen', 'EADDRINUSE');
    const previous = [{ address: '127.0.0.1', port: 5353 }, { address: '::1', port: 5353 }];
    expect([...blockingPorts(inUse, previous, [{ address: '0.0.0.0', port: 5353 }, { address: '::1', port: 5353 }])]).toEqual([5353]);
    expect([...blockingPorts(inUse, previous, [{ address: '0.0.0.0', port: 5354 }])]).toEqual([]);
    expect([...blockingPorts(new ListenError('no such address', 'EADDRNOTAVAIL'), previous, [{ address: '0.0.0.0', port: 5353 }])]).toEqual([]);
  });

  it('workers_default: unset or 0 is one worker per CPU (at most 16); 1..16 as given; anything else none', () => {
    const cpus = Math.min(16, os.availableParallelism());
    expect([workersFor(undefined), workersFor(0), workersFor(1), workersFor(16)]).toEqual([cpus, cpus, 1, 16]);
    expect([workersFor(17), workersFor(2.5), workersFor('2'), workersFor(-1)]).toEqual([undefined, undefined, undefined, undefined]);
  });
});
