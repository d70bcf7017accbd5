import { readFile } from 'node:fs/promises';
import { describe, expect, it, onTestFinished } from 'vitest';
import { CmdctlClient } from '../src/cmdctl/client.js';
import { answers, ask, gate } from './helpers/cmdctl.js';
import { run } from './helpers/processes.js';
import { selfSignedCert } from './helpers/tls.js';
import { tempDir } from './helpers/tmp.js';

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
    const t = await g.token();
    expect(await g.refused({ authorization: `Bearer ${t}`, origin: 'http://evil.example' })).toBe(403);
    expect(await g.refused({ authorization: `Bearer ${t}`, origin: g.url })).toBe(101);
    expect(await g.refused({ cookie: `b10_token=${t}` })).toBe(101);
    await new Promise((resolve) => setTimeout(resolve, 350)); // the token's whole life: this is what is tested
    expect(await g.refused({ authorization: `Bearer ${t}` })).toBe(401);
    const out = await fetch(`${g.url}/logout`, { method: 'POST', headers: { authorization: `Bearer ${await g.token()}` } });
    expect(out.status).toBe(200);
  });

  it('round_trip_and_in_flight: answers carry their ids; a module that never answers times out for its id only', async () => {
    const g = await gate(['--command-timeout', '500']);
    const ws = await g.ws({ authorization: `Bearer ${await g.token()}` });
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
    const t = await g.token();
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

  it('config_requests: show, set, unset and spec go to the config manager; a bad value is refused with the reason', async () => {
    const g = await gate();
    const ws = await g.ws({ authorization: `Bearer ${await g.token()}` });
    expect(await ask(ws, { config: 'show', target: 'Tunable' })).toEqual([0, { max_clients: 10, greeting: 'hello', verbose: false }]);
    expect(await ask(ws, { config: 'set', target: 'Tunable/max_clients', value: 42 })).toEqual([0]);
    expect(await ask(ws, { config: 'show', target: 'Tunable/max_clients' })).toEqual([0, 42]);
    expect(await ask(ws, { module: 'Tunable', command: 'greet', args: { name: 'you' } })).toEqual([0, 'hello, you']);
    expect(await ask(ws, { config: 'set', target: 'Tunable/max_clients', value: 'many' })).toEqual([1, expect.stringMatching(/^Tunable\/max_clients: expected integer/)]);
    expect(await ask(ws, { config: 'set', target: 'Tunable/max_clients', value: 0 })).toEqual([1, 'Tunable refused the configuration: max_clients must be at least 1']);
    expect(await ask(ws, { config: 'show', target: 'Tunable/max_clients' })).toEqual([0, 42]);
    expect(await ask(ws, { config: 'unset', target: 'Tunable/max_clients' })).toEqual([0]);
    expect(await ask(ws, { config: 'show', target: 'Tunable/max_clients' })).toEqual([0, 10]);
    const [rcode, specs] = (await ask(ws, { config: 'spec' })) as [number, Record<string, { commands: { command_name: string }[] }>];
    expect(rcode).toBe(0);
    // tsig_keys and Bridge: the config manager holds their specs itself (no process hosts tsig_keys; b10-bridge runs only once configured).
    expect(Object.keys(specs).sort()).toEqual(['Bridge', 'Cmdctl', 'Echo', 'Tunable', 'tsig_keys']);
    expect(specs.Tunable!.commands.map((c) => c.command_name)).toEqual(['greet', 'shutdown']);
    expect(await ask(ws, { config: 'spec', module: 'Nobody' })).toEqual([1, 'no spec registered for module Nobody']);
    expect(await ask(ws, { config: 'frobnicate' })).toEqual([1, 'config must be one of show, set, unset, spec']);
    expect(await ask(ws, { config: 'set', target: 'Tunable/max_clients' })).toEqual([1, 'config set needs value']);
  });

  it('secrets_masked_in_get_config: ConfigManager get_config through the gateway, whole or for tsig_keys, shows no TSIG secret', async () => {
    const g = await gate();
    const ws = await g.ws({ authorization: `Bearer ${await g.token()}` });
    const secret = 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I=';
    expect(await ask(ws, { config: 'set', target: 'tsig_keys/keys', value: [`gw-key:${secret}:hmac-sha256`] })).toEqual([0]);
    const whole = await ask(ws, { module: 'ConfigManager', command: 'get_config' });
    expect(whole).toEqual([0, expect.objectContaining({ tsig_keys: { keys: ['gw-key:****:hmac-sha256'] } })]);
    expect(await ask(ws, { module: 'ConfigManager', command: 'get_config', args: { module_name: 'tsig_keys' } })).toEqual([0, { keys: ['gw-key:****:hmac-sha256'] }]);
    expect(JSON.stringify(whole)).not.toContain(secret);
  });

  it('events_after_config_set: a socket that asked gets the committed change; one that did not gets only its answers', async () => {
    const g = await gate();
    const t = await g.token();
    const [watcher, other] = [await g.ws({ authorization: `Bearer ${t}` }), await g.ws({ authorization: `Bearer ${t}` })];
    expect(await ask(watcher, { events: true })).toEqual([0]);
    const seenByOther: unknown[] = [];
    other.on('message', (data) => seenByOther.push(JSON.parse(String(data))));
    const event = new Promise((resolve) =>
      watcher.on('message', (data) => {
        const message = JSON.parse(String(data)) as { event?: string };
        if (message.event === 'config_update') resolve(message);
      }),
    );
    expect(await ask(other, { config: 'set', target: 'Tunable/greeting', value: 'hi' })).toEqual([0]);
    expect(await event).toEqual({ event: 'config_update', module: 'Tunable', config: { greeting: 'hi' } });
    expect(await ask(watcher, { events: false })).toEqual([0]);
    expect(await ask(other, { config: 'set', target: 'Tunable/greeting', value: 'hey' })).toEqual([0]);
    expect(seenByOther.every((m) => (m as { event?: unknown }).event === undefined)).toBe(true);
  });

  it('tls: with --cert and --key, login and the WebSocket go over HTTPS and WSS; plain HTTP gets nothing', async () => {
    const { cert, key } = selfSignedCert(await tempDir());
    const g = await gate(['--cert', cert, '--key', key]);
    const port = new URL(g.url).port;
    const ca = await readFile(cert);
    const client = await CmdctlClient.login(`https://127.0.0.1:${port}`, 'operator', 'correct horse', { ca });
    onTestFinished(() => client.close());
    expect(await client.request({ module: 'Echo', command: 'echo', args: { text: 'over tls' } })).toEqual([0, 'over tls']);
    await expect(fetch(`http://127.0.0.1:${port}/login`, { method: 'POST', body: '{}' })).rejects.toThrow();
    await expect(CmdctlClient.login(`https://127.0.0.1:${port}`, 'operator', 'correct horse')).rejects.toThrow(/self-signed certificate/);
  });
});
