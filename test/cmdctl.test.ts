import { describe, expect, it, onTestFinished } from 'vitest';
import { WebSocket } from 'ws';
import { Accounts } from '../src/cmdctl/accounts.js';
import { startBus, startModule, type Bus } from '../src/testing/index.js';
import { run, start } from './helpers/processes.js';
import { fixture } from './helpers/stack.js';

interface Gate {
  bus: Bus;
  url: string;
  login(username?: string, password?: string): Promise<Response>;
  ws(headers?: Record<string, string>): Promise<WebSocket>;
  refused(headers?: Record<string, string>): Promise<number>;
}

/** A bus with a config manager, the Echo module, a module that never answers, and cmdctl on a free port. */
async function gate(args: string[] = []): Promise<Gate> {
  const bus = await startBus({ cfgmgr: true });
  onTestFinished(() => bus.stop());
  await (await Accounts.load(bus.dataPath)).add('operator', 'correct horse');
  await startModule(bus, fixture('echo'), { module: 'Echo' });
  const silent = await bus.connect();
  await silent.subscribe('Silent');
  const cmdctl = start('src/cmdctl/main.js', ['-p', '0', '-d', bus.dataPath, ...args], { env: bus.env, lifeline: true });
  onTestFinished(() => cmdctl.stop());
  const port = (await cmdctl.waitForLog((l) => l.msg === 'cmdctl listening', 'cmdctl listening')).port as number;
  const url = `http://127.0.0.1:${port}`;
  const login = (username = 'operator', password = 'correct horse') =>
    fetch(`${url}/login`, { method: 'POST', body: JSON.stringify({ username, password }), headers: { 'content-type': 'application/json' } });
  const open = (headers: Record<string, string> = {}): WebSocket => new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers });
  return {
    bus,
    url,
    login,
    ws: (headers) =>
      new Promise((resolve, reject) => {
        const ws = open(headers);
        onTestFinished(() => ws.terminate());
        ws.once('open', () => resolve(ws));
        ws.once('error', reject);
      }),
    refused: (headers) =>
      new Promise((resolve) => {
        const ws = open(headers);
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('open', () => resolve(101));
        ws.once('error', () => {});
      }),
  };
}

async function token(g: Gate): Promise<string> {
  return ((await (await g.login()).json()) as { token: string }).token;
}

/** Answers on a socket, by id, until `count` have come. */
function answers(ws: WebSocket, count: number): Promise<Map<unknown, unknown>> {
  return new Promise((resolve) => {
    const got = new Map<unknown, unknown>();
    ws.on('message', (data) => {
      const { id, result } = JSON.parse(String(data)) as { id: unknown; result: unknown };
      got.set(id, result);
      if (got.size === count) resolve(got);
    });
  });
}

describe('b10-cmdctl', () => {
  it('login: a token and an HttpOnly SameSite=Strict cookie for the right password, 401 for a wrong one or user', async () => {
    const g = await gate();
    const ok = await g.login();
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { token: string }).token).toMatch(/^[0-9a-f]{64}$/);
    expect(ok.headers.get('set-cookie')).toMatch(/^b10_token=[0-9a-f]{64}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=3600$/);
    expect((await g.login('operator', 'wrong')).status).toBe(401);
    expect((await g.login('nobody', 'correct horse')).status).toBe(401);
  });

  it('rate_limit: past 5 failures a minute an address gets 429 with Retry-After, even with the right password', async () => {
    const g = await gate();
    for (let i = 0; i < 5; i++) expect((await g.login('operator', `wrong ${i}`)).status).toBe(401);
    const limited = await g.login();
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('upgrade_refused: no token, a bad one, an expired one (401), a foreign Origin (403), before any WebSocket exists', async () => {
    const g = await gate(['--token-ttl', '300']);
    expect(await g.refused()).toBe(401);
    expect(await g.refused({ authorization: `Bearer ${'0'.repeat(64)}` })).toBe(401);
    const t = await token(g);
    expect(await g.refused({ authorization: `Bearer ${t}`, origin: 'http://evil.example' })).toBe(403);
    expect(await g.refused({ authorization: `Bearer ${t}`, origin: g.url })).toBe(101);
    expect(await g.refused({ cookie: `b10_token=${t}` })).toBe(101);
    await new Promise((resolve) => setTimeout(resolve, 350)); // the token's whole life: this is what is tested
    expect(await g.refused({ authorization: `Bearer ${t}` })).toBe(401);
    const out = await fetch(`${g.url}/logout`, { method: 'POST', headers: { authorization: `Bearer ${await token(g)}` } });
    expect(out.status).toBe(200);
  });

  it('round_trip_and_in_flight: answers carry their ids; a module that never answers times out for its id only', async () => {
    const g = await gate(['--command-timeout', '500']);
    const ws = await g.ws({ authorization: `Bearer ${await token(g)}` });
    const got = answers(ws, 5);
    ws.send(JSON.stringify({ id: 'never', module: 'Silent', command: 'anything' }));
    for (const n of [1, 2, 3]) ws.send(JSON.stringify({ id: n, module: 'Echo', command: 'echo', args: { text: `hi ${n}` } }));
    ws.send(JSON.stringify({ id: 'unknown', module: 'Echo', command: 'frobnicate' }));
    const results = await got;
    expect(results.get(1)).toEqual([0, 'hi 1']);
    expect(results.get(3)).toEqual([0, 'hi 3']);
    expect(results.get('unknown')).toEqual([1, 'Unknown command: frobnicate']);
    expect(results.get('never')).toEqual([-2, 'Silent did not answer within 500 ms']);
  });

  it('oversized_message: closes that socket only', async () => {
    const g = await gate();
    const t = await token(g);
    const [big, other] = [await g.ws({ authorization: `Bearer ${t}` }), await g.ws({ authorization: `Bearer ${t}` })];
    const closed = new Promise<number>((resolve) => big.once('close', (code) => resolve(code)));
    big.send('x'.repeat(2 * 1024 * 1024));
    expect(await closed).toBe(1009);
    const got = answers(other, 1);
    other.send(JSON.stringify({ id: 7, module: 'Echo', command: 'echo', args: { text: 'still here' } }));
    expect((await got).get(7)).toEqual([0, 'still here']);
  });

  it('no_tls_no_network: a non-loopback address is refused at start with the reason', async () => {
    const r = await run('src/cmdctl/main.js', ['-a', '0.0.0.0', '-p', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/refusing to listen on 0\.0\.0\.0 without TLS/);
  });
});
