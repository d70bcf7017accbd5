import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { rdataOfText } from '../src/dns/master-file.js';
import { RCODE } from '../src/dns/message.js';
import { ZONE_DB } from '../src/dns/zone-store.js';
import { query, rcodeOf, udpExchange } from './helpers/dns.js';
import { ROOT, type LogLine } from './helpers/processes.js';
import { TestPrimary } from './helpers/primary.js';
import { boot, byComponent, type Booted } from './helpers/stack.js';

const components = {
  auth: { process: 'b10-auth', kind: 'needed', address: 'Auth', priority: 10 },
  xfrin: { process: 'b10-xfrin', kind: 'dispensable', address: 'Xfrin', priority: 5 },
};
const OPCODE_NOTIFY = 4;

/** auth and xfrin with `xfrin` as Xfrin's configuration; the DNS port, once auth knows Xfrin's zones. */
async function secondary(xfrin: object): Promise<{ stack: Booted; authPort: number }> {
  const stack = await boot(components, ['-p', '0'], { Xfrin: xfrin });
  const listening = await stack.boss.waitForLog(byComponent('auth', 'auth listening'), 'auth listening');
  await stack.boss.waitForLog(byComponent('auth', 'Xfrin\'s zones known: NOTIFY for them answered here'), 'auth knows Xfrin\'s zones');
  return { stack, authPort: (listening.endpoints as { port: number }[])[0]!.port };
}

/** A NOTIFY for `zone` sent to auth from the address `from`; the rcode of the answer. */
async function notify(port: number, zone: string, from = '127.0.0.1'): Promise<number> {
  const answer = await udpExchange(port, query({ flags: (OPCODE_NOTIFY << 11) | 0x0400, name: zone, type: 6 }), 5000, from);
  if (!answer) throw new Error(`no answer to a NOTIFY for ${zone} from ${from}`);
  return rcodeOf(answer);
}

const xfrinLine = (msg: string, more: (l: LogLine) => boolean = () => true) => (l: LogLine) => l.component === 'xfrin' && l.msg === msg && more(l);
const transferred = (zone: string, serial: number) => xfrinLine('zone transferred', (l) => l.zone === zone && l.serial === serial);
const count = (stack: Booted, test: (l: LogLine) => boolean): number => stack.boss.logs.filter(test).length;

/** What the store in `dir` holds, read as another process would: the zones readers see, the rows hidden from them, every record. */
function stored(dir: string): { zones: { name: string; serial: number }[]; hidden: number; records: number } {
  const db = new Database(path.join(dir, ZONE_DB), { readonly: true });
  try {
    const rows = (sql: string): number => (db.prepare(sql).get() as { n: number }).n;
    return {
      zones: db.prepare("SELECT name, serial FROM zones WHERE name NOT LIKE ' %' ORDER BY name").all() as { name: string; serial: number }[],
      hidden: rows("SELECT COUNT(*) AS n FROM zones WHERE name LIKE ' %'"),
      records: rows('SELECT COUNT(*) AS n FROM records'),
    };
  } finally {
    db.close();
  }
}

/** Resolves once the store in `dir` holds what `test` wants (xfrin's thread writes it: the file is polled); fails after 10 s. */
async function untilStored(dir: string, test: (holds: ReturnType<typeof stored>) => boolean, what: string): Promise<void> {
  for (let tries = 0; !test(stored(dir)); tries++) {
    if (tries > 400) throw new Error(`the store never held ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** sec.test. (13 records) served by a TestPrimary and transferred once by xfrin; `more` is the rest of Xfrin's configuration. */
async function secondaryOfSec(more: object = {}): Promise<{ primary: TestPrimary; stack: Booted; authPort: number }> {
  const primary = await TestPrimary.start();
  primary.setZone('sec.test.', 1);
  const { stack, authPort } = await secondary({ ...more, zones: [{ name: 'sec.test', master_addr: '127.0.0.1', master_port: primary.port }] });
  await stack.boss.waitForLog(transferred('sec.test.', 1), 'first transfer');
  return { primary, stack, authPort };
}
const ONLY_THE_FIRST = { zones: [{ name: 'sec.test.', serial: 1 }], hidden: 0, records: 13 };

describe('xfrin acts on NOTIFY from the zone\'s primary only, one refresh at a time', () => {
  it('notify_from_a_stranger: REFUSED by auth (and by xfrin over the bus), logged once, and nothing is transferred', async () => {
    const primary = await TestPrimary.start();
    primary.setZone('sec.test.', 1);
    const { stack, authPort } = await secondary({ zones: [{ name: 'sec.test', master_addr: '127.0.0.1', master_port: primary.port }] });
    await stack.boss.waitForLog(transferred('sec.test.', 1), 'first transfer');
    primary.setZone('sec.test.', 2);

    const rcodes = await Promise.all(Array.from({ length: 20 }, () => notify(authPort, 'sec.test', '127.0.0.2')));
    expect(rcodes).toEqual(new Array(20).fill(RCODE.REFUSED));
    const viaBus = await stack.b10('send', 'Xfrin', 'notify', JSON.stringify({ zone_name: 'sec.test', master: '192.0.2.66' }));
    expect(JSON.parse(viaBus.stdout)).toEqual({ zone: 'sec.test.', rcode: 'REFUSED' });

    // The primary's own NOTIFY is acted on: the one transfer after the first.
    expect(await notify(authPort, 'sec.test', '127.0.0.1')).toBe(RCODE.NOERROR);
    await stack.boss.waitForLog(transferred('sec.test.', 2), 'transfer after the primary\'s NOTIFY');
    // auth logged this after the refused ones: they are all in the boss's log by now.
    await stack.boss.waitForLog(byComponent('auth', 'NOTIFY received: passed to Xfrin'), 'the primary\'s NOTIFY passed on');
    expect(primary.axfrs).toBe(2);
    const refused = (component: string) => (l: LogLine) => l.component === component && l.msg === 'NOTIFY refused: not from the zone\'s primary';
    expect(count(stack, refused('auth'))).toBe(1);
    expect(count(stack, refused('xfrin'))).toBe(1);
    expect(stack.boss.logs.find(refused('auth'))).toMatchObject({ zone: 'sec.test.', from: '127.0.0.2', primary: { address: '127.0.0.1', port: primary.port } });
  });

  it('notify_burst: 50 NOTIFYs from the primary during a refresh make one more refresh, not 50 transfers', async () => {
    const primary = await TestPrimary.start();
    primary.setZone('sec.test.', 1);
    const { stack, authPort } = await secondary({ zones: [{ name: 'sec.test', master_addr: '127.0.0.1', master_port: primary.port }] });
    await stack.boss.waitForLog(transferred('sec.test.', 1), 'first transfer');
    // Answered once the first refresh has run its course (auth told, timer set): none is under way after it.
    expect((await stack.b10('send', 'Xfrin', 'refresh', '{"zone_name":"sec.test"}')).code).toBe(0);
    primary.setZone('sec.test.', 2);
    primary.hold();
    const before = primary.axfrs;

    const rcodes = await Promise.all(Array.from({ length: 50 }, () => notify(authPort, 'sec.test')));
    expect(rcodes).toEqual(new Array(50).fill(RCODE.NOERROR));
    await primary.waitFor((p) => p.open === 1);
    const requested = xfrinLine('NOTIFY from the primary: refresh requested');
    await stack.boss.waitForLog((l) => requested(l) && count(stack, requested) === 50, 'xfrin has all 50 NOTIFYs');
    primary.release();
    // A refresh asked now joins the one queued: its answer comes once no refresh is left to run.
    const refreshed = await stack.b10('send', 'Xfrin', 'refresh', '{"zone_name":"sec.test"}');
    expect(refreshed.code, refreshed.stderr).toBe(0);

    expect(primary.axfrs - before).toBeLessThanOrEqual(2);
    expect(primary.peak).toBe(1);
    const how = stack.boss.logs.filter(requested).map((l) => l.refresh);
    expect(how.filter((h) => h === 'started')).toHaveLength(1);
    expect(how.filter((h) => h === 'queued')).toHaveLength(1);
    expect(how.filter((h) => h === 'joined')).toHaveLength(48);
    await stack.boss.waitForLog(transferred('sec.test.', 2), 'serial 2 transferred');
    expect(count(stack, transferred('sec.test.', 2))).toBe(1);
  });

  it('transfers_in: with a cap of 2 and 4 zones, 2 transfers run and 2 wait; a higher cap applies at once', async () => {
    const primary = await TestPrimary.start();
    const names = ['a.test', 'b.test', 'c.test', 'd.test'];
    for (const name of names) primary.setZone(`${name}.`, 1);
    primary.hold();
    const { stack } = await secondary({ transfers_in: 2, zones: names.map((name) => ({ name, master_addr: '127.0.0.1', master_port: primary.port })) });

    await primary.waitFor((p) => p.open >= 2);
    const queued = xfrinLine('transfer queued: transfers_in reached');
    await stack.boss.waitForLog((l) => queued(l) && count(stack, queued) === 2, 'two transfers queued');
    expect(primary.open).toBe(2);

    const set = await stack.b10('config', 'set', 'Xfrin/transfers_in', '3');
    expect(set.code, set.stderr).toBe(0);
    await primary.waitFor((p) => p.open === 3);
    primary.release();
    for (const name of names) await stack.boss.waitForLog(transferred(`${name}.`, 1), `${name} transferred`);
    expect(primary.peak).toBe(3);
    expect(primary.axfrs).toBe(4);
  });

  it('retransfer: refused for a zone that is not Xfrin\'s and for a master given to a zone that has one', async () => {
    const primary = await TestPrimary.start();
    primary.setZone('sec.test.', 1);
    primary.setZone('free.test.', 3);
    primary.setZone('auth.test.', 99);
    const { stack, authPort } = await secondary({
      zones: [
        { name: 'sec.test', master_addr: '127.0.0.1', master_port: primary.port },
        { name: 'free.test' },
      ],
    });
    expect((await stack.b10('zone', 'load', 'auth.test', path.join(ROOT, 'test/fixtures/zones/auth.zone'), '-d', stack.dir)).code).toBe(0);
    await stack.boss.waitForLog(transferred('sec.test.', 1), 'first transfer');
    const retransfer = (args: object) => stack.b10('send', 'Xfrin', 'retransfer', JSON.stringify(args));
    const from = { master: '127.0.0.1', port: primary.port };

    const notOurs = await retransfer({ zone_name: 'auth.test', ...from });
    expect(notOurs.code).toBe(1);
    expect(notOurs.stderr).toContain('auth.test. is not a zone of Xfrin\'s configuration');
    const stored = JSON.parse((await stack.b10('zone', 'list', '--json', '-d', stack.dir)).stdout) as { name: string; serial: number }[];
    expect(stored.find((z) => z.name === 'auth.test.')?.serial).toBe(7);

    const hasOne = await retransfer({ zone_name: 'sec.test', ...from });
    expect(hasOne.code).toBe(1);
    expect(hasOne.stderr).toContain(`sec.test. has its primary configured (127.0.0.1#${primary.port})`);
    const needsOne = await retransfer({ zone_name: 'free.test' });
    expect(needsOne.code).toBe(1);
    expect(needsOne.stderr).toContain('free.test. has no primary configured');
    expect(await notify(authPort, 'free.test')).toBe(RCODE.REFUSED);

    const byHand = await retransfer({ zone_name: 'free.test', ...from });
    expect(byHand.code, byHand.stderr).toBe(0);
    expect(JSON.parse(byHand.stdout)).toMatchObject({ zone: 'free.test.', serial: 3, transferred: true });
    expect(primary.axfrs).toBe(2);
  });
});

describe('xfrin stores a transfer whole or not at all', () => {
  it('refused_late_in_a_large_transfer: a record the rules refuse after 12,000 stored ones; the zone served and stored stays, nothing of the transfer is left', { timeout: 60_000 }, async () => {
    const { primary, stack, authPort } = await secondaryOfSec();
    primary.setZone('sec.test.', 2, 12_000);
    primary.append('sec.test.', { name: 'host0.sec.test.', ttl: 60, type: 5, rdata: rdataOfText(5, 'elsewhere.example.') });

    const refused = await stack.b10('send', 'Xfrin', 'retransfer', '{"zone_name":"sec.test"}');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('host0.sec.test. has a CNAME and other data');
    const answer = await udpExchange(authPort, query({ name: 'sec.test', type: 6 }));
    expect(answer && rcodeOf(answer)).toBe(RCODE.NOERROR);
    // The first zone's 13 records only: what was staged of the refused one went with it.
    expect(stored(stack.dir)).toEqual(ONLY_THE_FIRST);
  });

  it('transfer_never_ending: a primary that sends the same records over and over is cut at max_transfer_time_in; the zone stays, nothing staged is left', { timeout: 60_000 }, async () => {
    const { primary, stack } = await secondaryOfSec({ max_transfer_time_in: 2 });
    primary.setZone('sec.test.', 2, 12_000);
    primary.endless();

    const cut = await stack.b10('send', 'Xfrin', 'retransfer', '{"zone_name":"sec.test"}');
    expect(cut.code).toBe(1);
    expect(cut.stderr).toContain('not done after 2 s (max_transfer_time_in)');
    expect(stored(stack.dir)).toEqual(ONLY_THE_FIRST);
  });

  it('xfrin_killed_mid_transfer: what it had written of the zone stays out of sight, and is gone once xfrin is back', { timeout: 60_000 }, async () => {
    const { primary, stack, authPort } = await secondaryOfSec();
    primary.setZone('sec.test.', 2, 30_000);
    primary.stallAfter(8);
    const dying = stack.b10('send', 'Xfrin', 'retransfer', '{"zone_name":"sec.test"}');
    // The transfer's first batches are in the store (its messages carry thousands of records).
    await untilStored(stack.dir, (holds) => holds.records > 13, 'records of the transfer');
    const mark = stack.boss.logs.length;
    process.kill(stack.pidsOf('xfrin')[0]!, 'SIGKILL');
    expect((await dying).code).not.toBe(0);
    primary.setZone('sec.test.', 1);
    primary.release();
    await stack.boss.waitForLog((l) => l.component === 'xfrin' && l.msg === 'component ready', 'xfrin back', mark);
    // Still out of every reader's sight meanwhile: the zone served is the first one.
    const answer = await udpExchange(authPort, query({ name: 'host100.sec.test', type: 1 }));
    expect(answer && rcodeOf(answer)).toBe(RCODE.NXDOMAIN);

    // Its first use of the store (the refresh finds serial 1 there and at the primary: no transfer) drops them.
    const refreshed = await stack.b10('send', 'Xfrin', 'refresh', '{"zone_name":"sec.test"}', '--wait', '5000');
    expect(refreshed.code, refreshed.stderr).toBe(0);
    expect(JSON.parse(refreshed.stdout)).toMatchObject({ zone: 'sec.test.', serial: 1, transferred: false });
    expect(stored(stack.dir)).toEqual(ONLY_THE_FIRST);
  });
});

describe('xfrin\'s store thread outlives a transfer the store fails', () => {
  it('store_busy_past_its_wait: that transfer fails, the next one in the thread is stored, and nothing staged is left', { timeout: 90_000 }, async () => {
    const [first, second] = [await TestPrimary.start(), await TestPrimary.start()];
    first.setZone('one.test.', 1);
    second.setZone('two.test.', 1);
    const { stack, authPort } = await secondary({
      zones: [
        { name: 'one.test', master_addr: '127.0.0.1', master_port: first.port, request_ixfr: 'no' },
        { name: 'two.test', master_addr: '127.0.0.1', master_port: second.port, request_ixfr: 'no' },
      ],
    });
    await stack.boss.waitForLog(transferred('one.test.', 1), 'first transfer of one.test');
    await stack.boss.waitForLog(transferred('two.test.', 1), 'first transfer of two.test');
    // Several messages each, the first of a few hundred records: both staged, none of their records written yet.
    first.setZone('one.test.', 2, 3000);
    second.setZone('two.test.', 2, 3000);
    first.stallAfter(1);
    second.stallAfter(1);
    // By NOTIFY: xfrin's commands run one at a time, its refreshes of different zones at once.
    const mark = stack.boss.logs.length;
    expect(await notify(authPort, 'one.test')).toBe(RCODE.NOERROR);
    expect(await notify(authPort, 'two.test')).toBe(RCODE.NOERROR);
    const dbFile = path.join(stack.dir, ZONE_DB);
    await untilStored(stack.dir, (holds) => holds.hidden >= 2, 'both transfers staged');
    // Another writer holds the store past xfrin's wait (5 s) as one.test ends: its commit fails, and so does
    // dropping what it staged. two.test ends just after, its commit next in the thread.
    const writer = new Database(dbFile);
    try {
      writer.exec('BEGIN IMMEDIATE');
      first.release();
      await first.waitFor((p) => p.open === 0);
      second.release();
      await stack.boss.waitForLog(xfrinLine('refresh failed: the stored zone stays served', (l) => l.zone === 'one.test.' && String(l.err).includes('database is locked')), 'one.test failed', mark);
      writer.exec('COMMIT');
    } finally {
      writer.close();
    }
    const failedTwo = xfrinLine('refresh failed: the stored zone stays served', (l) => l.zone === 'two.test.');
    const done = await stack.boss.waitForLog((l) => transferred('two.test.', 2)(l) || failedTwo(l), 'two.test done', mark);
    expect(done.msg, String(done.err)).toBe('zone transferred');
    // xfrin tells auth once the zone it replaced is dropped (and with it what one.test left staged).
    await stack.boss.waitForLog((l) => byComponent('auth', 'zone loaded')(l) && l.zone === 'two.test.' && l.serial === 2, 'auth serves two.test at 2', mark);

    const answer = await udpExchange(authPort, query({ name: 'one.test', type: 6 }));
    expect(answer && rcodeOf(answer)).toBe(RCODE.NOERROR);
    expect(stored(stack.dir)).toEqual({
      zones: [
        { name: 'one.test.', serial: 1 },
        { name: 'two.test.', serial: 2 },
      ],
      hidden: 0,
      records: 13 + 3003,
    });
  });
});
