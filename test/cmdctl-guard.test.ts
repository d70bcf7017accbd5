import http from 'node:http';
import net from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Accounts } from '../src/cmdctl/accounts.js';
import { ask, closed, gate, PASSWORD } from './helpers/cmdctl.js';
import { run } from './helpers/processes.js';

/** A raw TCP connection to cmdctl from `localAddress` (any 127/8 address is this host); ended with the test. */
function connect(port: number, localAddress = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress });
    onTestFinished(() => void socket.destroy());
    socket.on('error', () => {});
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** What the server sent on a socket before it closed it. */
function closedByServer(socket: net.Socket): Promise<string> {
  let got = '';
  socket.setEncoding('utf8').on('data', (text: string) => (got += text));
  return new Promise((resolve) => socket.once('close', () => resolve(got)));
}

describe('cmdctl logins', () => {
  it('burst_of_guesses: 50 concurrent wrong passwords get no more password checks than the limit, the rest 429 at once; only that account waits', async () => {
    const g = await gate([], ['operator', 'admin']);
    const burst = await Promise.all(Array.from({ length: 50 }, (_, i) => g.login('operator', `wrong ${i}`)));
    const checked = burst.filter((a) => a.status === 401).length;
    expect(checked).toBeGreaterThan(0);
    expect(burst.filter((a) => a.status === 429).length).toBe(50 - checked);
    expect(burst.filter((a) => a.status === 429).every((a) => Number(a.headers.get('retry-after')) > 0)).toBe(true);
    // The burst may have ended before it used all 5 tries of the minute (at most 4 checks run at once): the rest go one by one.
    let more = 0;
    while ((await g.login('operator', 'wrong again')).status === 401) more++;
    expect(checked + more).toBe(5);
    expect((await g.login('operator')).status).toBe(429);
    expect((await g.login('admin')).status).toBe(200);
  });

  it('spray_over_names: concurrent guesses for 50 names from one address do not all reach a password check', async () => {
    const g = await gate();
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => g.login(`guess${i}`, 'wrong')));
    const busy = answers.filter((a) => a.status === 429);
    // All 50 arrive while the first 4 checks run (one check is tens of ms of scrypt): most are turned away unchecked.
    expect(busy.length).toBeGreaterThan(25);
    expect(busy.every((a) => Number(a.headers.get('retry-after')) > 0)).toBe(true);
    expect(answers.every((a) => a.status === 401 || a.status === 429)).toBe(true);
    expect((await g.login()).status).toBe(200);
  });

  it('login_csrf: a cross-origin or non-JSON login is refused before any password check, so it cannot log in or lock out', async () => {
    const g = await gate();
    const plain = await fetch(`${g.url}/login`, { method: 'POST', body: JSON.stringify({ username: 'operator', password: PASSWORD }), headers: { 'content-type': 'text/plain' } });
    expect(plain.status).toBe(415);
    expect(plain.headers.get('set-cookie')).toBeNull();
    expect((await g.login('operator', PASSWORD, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await g.login('operator', PASSWORD, { origin: 'null' })).status).toBe(403);
    for (let i = 0; i < 6; i++) {
      expect((await g.login('operator', 'wrong', { origin: 'http://evil.example' })).status).toBe(403);
      expect((await g.login('operator', 'wrong', { 'content-type': 'text/plain' })).status).toBe(415);
    }
    expect((await g.login('operator', PASSWORD, { origin: g.url })).status).toBe(200);
    expect((await g.login('operator', PASSWORD, { 'content-type': 'application/json; charset=utf-8', origin: `http://localhost:${g.port}` })).status).toBe(200);
    const t = await g.token();
    const foreignLogout = await fetch(`${g.url}/logout`, { method: 'POST', headers: { authorization: `Bearer ${t}`, origin: 'http://evil.example' } });
    expect(foreignLogout.status).toBe(403);
    expect(await g.refused({ authorization: `Bearer ${t}` })).toBe(101);
  });
});

describe('cmdctl sessions', () => {
  it('user_removed: b10 user remove closes that user\'s sockets and its token stops working; another user\'s socket stays', async () => {
    const g = await gate([], ['operator', 'admin']);
    const t = await g.token('operator');
    const [mine, other] = [await g.ws({ authorization: `Bearer ${t}` }), await g.ws({ authorization: `Bearer ${await g.token('admin')}` })];
    const gone = closed(mine);
    expect((await run('src/cli/main.js', ['user', 'remove', 'operator', '-d', g.bus.dataPath])).code).toBe(0);
    expect(await gone).toEqual({ code: 1008, reason: 'the account was removed or its password changed' });
    expect(await g.refused({ authorization: `Bearer ${t}` })).toBe(401);
    expect(await ask(other, { module: 'Echo', command: 'echo', args: { text: 'still here' } })).toEqual([0, 'still here']);
  });

  it('password_changed: a new password for a user closes the sockets opened with the old login', async () => {
    const g = await gate();
    const t = await g.token();
    const gone = closed(await g.ws({ authorization: `Bearer ${t}` }));
    await (await Accounts.load(g.bus.dataPath)).add('operator', 'a new one');
    expect(await gone).toEqual({ code: 1008, reason: 'the account was removed or its password changed' });
    expect(await g.refused({ authorization: `Bearer ${t}` })).toBe(401);
    expect((await g.login('operator', 'a new one')).status).toBe(200);
  });

  it('logout_closes_sockets: the sockets of the token logged out close; another login\'s socket stays', async () => {
    const g = await gate();
    const t = await g.token();
    const [mine, other] = [await g.ws({ authorization: `Bearer ${t}` }), await g.ws({ cookie: `b10_token=${await g.token()}` })];
    const gone = closed(mine);
    const out = await fetch(`${g.url}/logout`, { method: 'POST', headers: { cookie: `b10_token=${t}`, origin: g.url } });
    expect(out.status).toBe(200);
    expect(await gone).toEqual({ code: 1008, reason: 'logged out' });
    expect(await g.refused({ authorization: `Bearer ${t}` })).toBe(401);
    expect(await ask(other, { module: 'Echo', command: 'echo', args: { text: 'still here' } })).toEqual([0, 'still here']);
  });

  it('expiry_closes_sockets: a socket closes when the token it was opened with expires', async () => {
    const g = await gate(['--token-ttl', '3000']);
    const ws = await g.ws({ authorization: `Bearer ${await g.token()}` });
    expect(await ask(ws, { module: 'Echo', command: 'echo', args: { text: 'in time' } })).toEqual([0, 'in time']);
    expect(await closed(ws)).toEqual({ code: 1008, reason: 'the login expired' });
  });
});

describe('cmdctl HTTP', () => {
  it('csp_constant: a forged Host header does not get into the Content-Security-Policy', async () => {
    const g = await gate();
    const policy = await new Promise<string | undefined>((resolve, reject) => {
      const socket = net.connect({ port: g.port, host: '127.0.0.1' }, () => socket.write('GET / HTTP/1.1\r\nHost: x; script-src *\r\nConnection: close\r\n\r\n'));
      let text = '';
      socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      socket.on('end', () => resolve(/^content-security-policy: (.*)\r$/im.exec(text)?.[1]));
      socket.on('error', reject);
    });
    expect(policy).toBe("default-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
  });

  it('charts_served_locally: the console page loads uPlot from cmdctl itself (no CDN), with the same policy; a file beside it that is not listed is 404', async () => {
    const g = await gate();
    const page = await (await fetch(`${g.url}/`)).text();
    const sources = [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(sources).toEqual(expect.arrayContaining(['/uPlot.min.css', '/console.js']));
    expect(sources.every((s) => s.startsWith('/'))).toBe(true);
    const script = await fetch(`${g.url}/uPlot.esm.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.headers.get('content-security-policy')).toBe("default-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    expect(await script.text()).toContain('export { uPlot as default }');
    expect((await fetch(`${g.url}/uPlot.min.css`)).status).toBe(200);
    expect((await fetch(`${g.url}/uPlot.cjs.js`)).status).toBe(404);
    expect((await fetch(`${g.url}/rates.d.ts`)).status).toBe(404);
  });

  it('upgrade_reset: clients that reset while their upgrade is being refused or checked do not bring cmdctl down', async () => {
    const g = await gate();
    const t = await g.token();
    const resets = Array.from({ length: 20 }, async (_, i) => {
      const socket = await connect(g.port);
      const token = i % 2 === 0 ? t : '0'.repeat(64);
      socket.write(`GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer ${token}\r\n\r\n`);
      await new Promise((resolve) => setImmediate(resolve));
      socket.resetAndDestroy();
    });
    await Promise.all(resets);
    expect((await g.login()).status).toBe(200);
    expect(g.cmdctl.child.exitCode).toBeNull();
  });

  it('connection_caps: past the per-address cap a connection is closed at once while another address is served; past the total cap too', async () => {
    const g = await gate(['--max-connections', '6', '--max-connections-per-address', '3', '--request-timeout', '60000']);
    const held = [await connect(g.port, '127.0.0.2'), await connect(g.port, '127.0.0.2'), await connect(g.port, '127.0.0.2')];
    expect(await closedByServer(await connect(g.port, '127.0.0.2'))).toBe('');
    expect(held.every((s) => !s.destroyed && s.readyState === 'open')).toBe(true);
    // One kept-alive connection from 127.0.0.1, the operator's, for every request of theirs.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    onTestFinished(() => agent.destroy());
    const ask = (method: string, pathname: string, body?: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = http.request({ agent, host: '127.0.0.1', port: g.port, method, path: pathname, headers: { 'content-type': 'application/json' } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end(body);
      });
    expect(await ask('GET', '/')).toBe(200);
    expect(await ask('POST', '/login', JSON.stringify({ username: 'operator', password: PASSWORD }))).toBe(200);
    held.push(await connect(g.port, '127.0.0.3'), await connect(g.port, '127.0.0.3'));
    expect(await closedByServer(await connect(g.port, '127.0.0.4'))).toBe('');
    expect(await ask('GET', '/')).toBe(200);
  });

  it('slow_clients: a connection that sends no request, half its headers, or stays idle after an answer is closed after --request-timeout', async () => {
    const g = await gate(['--request-timeout', '300']);
    const silent = closedByServer(await connect(g.port));
    const half = await connect(g.port);
    half.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const idle = await connect(g.port);
    const served = closedByServer(idle);
    idle.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${g.port}\r\n\r\n`);
    expect(await closedByServer(half)).toMatch(/^HTTP\/1\.1 408 Request Timeout/);
    expect(await silent).toMatch(/^HTTP\/1\.1 408 Request Timeout/);
    expect(await served).toMatch(/^HTTP\/1\.1 200 OK/);
    expect((await g.login()).status).toBe(200);
  });
});
