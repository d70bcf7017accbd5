import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { MAX_UPDATES_IN_FLIGHT } from '../src/auth/update-relay.js';
import { ZoneStore } from '../src/dns/zone-store.js';
import { dynamicStack } from './helpers/ddns.js';
import { byComponent } from './helpers/stack.js';
import { encodeUpdate, IN, NONE, udpSender } from './helpers/update-client.js';

const UPDATES = 1000;
const KILL_AT = 400;
const NOERROR = 0;
const SERVFAIL = 2;
const YXDOMAIN = 6;

/** Update i: if h<i> is not in use, give it two A records; the pair shows whether it was applied whole. */
function update(i: number): Buffer {
  const name = `h${i}.dyn.test`;
  const a = (last: number): Buffer => Buffer.from([10, i >> 8, i & 0xff, last]);
  return encodeUpdate(i + 1, 'dyn.test', [{ name, type: 255, klass: NONE }], [
    { name, type: 1, klass: IN, ttl: 300, rdata: a(1) },
    { name, type: 1, klass: IN, ttl: 300, rdata: a(2) },
  ]);
}

describe('auth\'s cap on updates waiting for ddns', () => {
  it('in_flight_capped: with ddns stopped, of 101 updates one is answered SERVFAIL at once (workers counted together); the 100 are applied once ddns goes on', async () => {
    const { stack, port } = await dynamicStack();
    const [pid] = stack.pidsOf('ddns');
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const answers = new Map<number, number>();
    let answered = (): void => {};
    socket.on('message', (msg) => {
      answers.set(msg.readUInt16BE(0), msg.readUInt16BE(2) & 0xf);
      answered();
    });
    const until = (done: () => boolean): Promise<void> =>
      new Promise((resolve) => {
        answered = () => done() && resolve();
        answered();
      });
    process.kill(pid!, 'SIGSTOP');
    let refused: number | undefined;
    try {
      for (let i = 0; i <= MAX_UPDATES_IN_FLIGHT; i++) socket.send(update(i), port, '127.0.0.1');
      // Each waits from the moment auth reads it: the one read last is over the cap (with workers, the last
      // to reach auth's primary, which counts for them all; one process reads them in the order sent).
      await until(() => answers.size > 0);
      expect([...answers.values()]).toEqual([SERVFAIL]);
      refused = [...answers.keys()][0];
    } finally {
      process.kill(pid!, 'SIGCONT');
    }
    await until(() => answers.size === MAX_UPDATES_IN_FLIGHT + 1);
    socket.close();
    expect([...answers].filter(([id]) => id !== refused).every(([, rcode]) => rcode === NOERROR)).toBe(true);
    await stack.boss.waitForLog(byComponent('auth', 'update answered SERVFAIL: too many updates in flight'), 'the refusal logged');
  });
});

describe('b10-ddns killed in the middle of updates', () => {
  it('kill_9_mid_stream: every update acknowledged before the kill is in the zone, none half-applied, and the restarted ddns takes the rest', async () => {
    const { stack, port } = await dynamicStack(undefined, ['--restart-period', '500']);
    const sender = await udpSender(port, 3000);
    const rcodes: (number | undefined)[] = [];
    let ackedBeforeKill: number[] = [];
    try {
      for (let i = 0; i < UPDATES; i++) {
        if (i !== KILL_AT) {
          rcodes.push(await sender.send(update(i)));
          continue;
        }
        // Killed while update i is on its way: it may or may not have been written, and is not acknowledged.
        ackedBeforeKill = rcodes.flatMap((rcode, n) => (rcode === NOERROR ? [n] : []));
        const [pid] = stack.pidsOf('ddns');
        const since = stack.boss.logs.length;
        const inFlight = sender.send(update(i));
        process.kill(pid!, 'SIGKILL');
        rcodes.push(await inFlight);
        await stack.boss.waitForLog((l) => l.msg === 'component ready' && l.component === 'ddns', 'ddns running again', since);
        // Sent again: YXDOMAIN says the first one had been written after all (its prerequisite guards the pair).
        const again = await sender.send(update(i));
        expect([NOERROR, YXDOMAIN]).toContain(again);
      }
    } finally {
      sender.close();
    }
    expect(ackedBeforeKill).toHaveLength(KILL_AT);
    expect(rcodes.filter((rcode, i) => i !== KILL_AT && rcode !== NOERROR)).toEqual([]);
    expect(stack.pidsOf('ddns')).toHaveLength(2);

    const store = ZoneStore.open(stack.dir, { readonly: true });
    const pairs = new Map<string, number>();
    try {
      for (const r of store.records('dyn.test.')!) if (r.name.startsWith('h')) pairs.set(r.name, (pairs.get(r.name) ?? 0) + 1);
    } finally {
      store.close();
    }
    expect([...pairs.values()].filter((n) => n !== 2)).toEqual([]);
    expect(pairs.size).toBe(UPDATES);
  });
});
