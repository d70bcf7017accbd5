import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bus } from '../src/testing/index.js';
import { requireTool } from './helpers/debian.js';
import { query, rcodeOf, startAuth, type AuthHandle } from './helpers/dns.js';

const exec = promisify(execFile);
/** Quiet this long after the last answer: the rest of the burst was dropped. */
const QUIET_MS = 500;

let handle: AuthHandle;
let client: Awaited<ReturnType<Bus['connect']>>;

interface Burst {
  /** Bytes sent, and bytes answered. */
  bytesIn: number;
  bytesOut: number;
  full: number;
  truncated: number;
  dropped: number;
  /** How long sending the burst took, ms. */
  tookMs: number;
}

/** `count` identical queries sent at once from one socket on 127.0.0.1; what came back. */
function burst(count: number, name: string, type = 1): Promise<Burst> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const answers: Buffer[] = [];
    let tookMs = 0;
    let quiet: NodeJS.Timeout;
    const finish = (): void => {
      socket.close();
      const truncated = answers.filter((m) => (m[2]! & 0x02) !== 0).length;
      const bytesOut = answers.reduce((sum, m) => sum + m.length, 0);
      resolve({ bytesIn: count * query({ name, type }).length, bytesOut, full: answers.length - truncated, truncated, dropped: count - answers.length, tookMs });
    };
    const waitQuiet = (): void => {
      clearTimeout(quiet);
      quiet = setTimeout(finish, QUIET_MS);
    };
    socket.on('message', (msg) => {
      answers.push(msg);
      if (answers.length === count) {
        clearTimeout(quiet);
        finish();
      } else waitQuiet();
    });
    socket.bind(0, '127.0.0.1', () => {
      const started = performance.now();
      for (let id = 1; id <= count; id++) socket.send(query({ id, name, type }), handle.port, '127.0.0.1');
      tookMs = performance.now() - started;
      waitQuiet();
    });
  });
}

const setRateLimit = (rateLimit: object): Promise<unknown> => client.command('ConfigManager', 'set_config', ['Auth', { rate_limit: rateLimit }]);

beforeAll(async () => {
  handle = await startAuth({ cfgmgr: true });
  client = await handle.bus.connect();
}, 30_000);

afterAll(() => handle?.stop());

describe('b10-auth response rate limiting (Auth/rate_limit)', () => {
  it('off_by_default: every one of a burst of identical queries is answered in full', async () => {
    expect(await burst(40, 'www.auth.test')).toMatchObject({ full: 40, truncated: 0, dropped: 0 });
  });

  it('responses_per_second: a burst gets about that many full answers, every other limited one truncated, the rest dropped; TCP not limited', async () => {
    await setRateLimit({ responses_per_second: 5 });
    const got = await burst(40, 'www.auth.test');
    // 5 credits to start with, and 5 more each second the burst took.
    expect(got.full).toBeGreaterThanOrEqual(5);
    expect(got.full).toBeLessThanOrEqual(5 + Math.ceil((got.tookMs / 1000) * 5));
    const limited = 40 - got.full;
    expect(got.truncated).toBe(Math.ceil(limited / 2));
    expect(got.dropped).toBe(Math.floor(limited / 2));
    // A client over TCP cannot be spoofed: never limited.
    const dig = requireTool('dig', 'dnsutils');
    for (let i = 0; i < 8; i++) {
      const { stdout } = await exec(dig, ['@127.0.0.1', '-p', String(handle.port), '+tcp', '+short', '+tries=1', 'www.auth.test', 'A']);
      expect(stdout.trim()).toBe('192.0.2.10');
    }
  });

  it('any_flood: with a limit, a flood of ANY queries gets back fewer bytes than it sent; without, several times more', async () => {
    await setRateLimit({ responses_per_second: 0 });
    const off = await burst(200, 'auth.test', 255);
    await setRateLimit({ responses_per_second: 5 });
    const on = await burst(200, 'auth.test', 255);
    expect(off.bytesOut / off.bytesIn).toBeGreaterThan(3);
    expect(on.bytesOut).toBeLessThan(on.bytesIn);
  });

  it('nxdomains_per_second: random names in one zone share one account, limited apart from answers', async () => {
    await setRateLimit({ responses_per_second: 0, nxdomains_per_second: 3, slip: 0 });
    const socket = dgram.createSocket('udp4');
    const answered: number[] = [];
    socket.on('message', (msg) => answered.push(rcodeOf(msg)));
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    for (let i = 0; i < 20; i++) socket.send(query({ id: i, name: `random${i}.auth.test` }), handle.port, '127.0.0.1');
    const full = await burst(20, 'www.auth.test');
    // The NXDOMAIN answers may come after the other burst's (another worker, a busy machine): wait for quiet.
    await new Promise<void>((resolve) => {
      let quiet = setTimeout(resolve, QUIET_MS);
      socket.on('message', () => {
        clearTimeout(quiet);
        quiet = setTimeout(resolve, QUIET_MS);
      });
    });
    socket.close();
    expect(answered.length).toBeGreaterThanOrEqual(3);
    expect(answered.length).toBeLessThan(10);
    expect(answered.every((rcode) => rcode === 3)).toBe(true);
    expect(full).toMatchObject({ full: 20, dropped: 0 });
  });

  it('bad_rate_limit: refused with the reason, the limit in force unchanged; set to 0 it is off at once', async () => {
    await setRateLimit({ responses_per_second: 2, slip: 0 });
    await expect(setRateLimit({ slip: 11 })).rejects.toThrow('Auth/rate_limit/slip: 11 is above the maximum 10');
    const limited = await burst(10, 'c.auth.test');
    expect(limited).toMatchObject({ truncated: 0 });
    expect(limited.dropped).toBeGreaterThan(0);
    await setRateLimit({ responses_per_second: 0, nxdomains_per_second: 0 });
    expect(await burst(40, 'c.auth.test')).toMatchObject({ full: 40, dropped: 0 });
  });
});
