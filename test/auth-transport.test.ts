import { execFile } from 'node:child_process';
import type net from 'node:net';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { Bus } from '../src/testing/index.js';
import { lengthPrefixed } from '../src/dns/message.js';
import { requireTool } from './helpers/debian.js';
import { query, rcodeOf, startAuth, tcpConnect, trickle, udpExchange } from './helpers/dns.js';
import { freePort, type Proc } from './helpers/processes.js';

const exec = promisify(execFile);

/** Auth with a config manager on the bus, stopped when the test ends. */
async function authWith(args: string[] = []): Promise<{ bus: Bus; auth: Proc; port: number }> {
  const handle = await startAuth({ cfgmgr: true, args });
  onTestFinished(() => handle.stop());
  return handle;
}

/** Every length-prefixed message the socket receives until `count` have come. */
function tcpMessages(socket: net.Socket, count: number): Promise<Buffer[]> {
  return new Promise((resolve) => {
    let pending = Buffer.alloc(0);
    const out: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        out.push(pending.subarray(2, 2 + pending.readUInt16BE(0)));
        pending = pending.subarray(2 + pending.readUInt16BE(0));
        if (out.length === count) resolve(out);
      }
    });
  });
}

describe('b10-auth transports', () => {
  it('tcp_pipelining: several queries in one write on one connection, each answered with its own id', async () => {
    const { port } = await authWith();
    const socket = await tcpConnect(port);
    onTestFinished(() => void socket.destroy());
    const answers = tcpMessages(socket, 3);
    socket.write(Buffer.concat([1, 2, 3].map((id) => lengthPrefixed(query({ id, name: ['www', 'c', 'nope'][id - 1] + '.auth.test' })))));
    const got = await answers;
    expect(got.map((m) => m.readUInt16BE(0))).toEqual([1, 2, 3]);
    expect(got.map(rcodeOf)).toEqual([0, 0, 3]);
  });

  it('tcp_half_close: a client that sends many queries and closes its side gets every answer, past the window of answers not taken', async () => {
    const { port } = await authWith();
    const socket = await tcpConnect(port);
    onTestFinished(() => void socket.destroy());
    // ~2.7 KB each: 200 answers are 8 times the 64 KiB auth lets wait before it reads on.
    const answers = tcpMessages(socket, 200);
    socket.end(Buffer.concat(Array.from({ length: 200 }, (_, id) => lengthPrefixed(query({ id, name: 'big.auth.test', type: 16 })))));
    const got = await answers;
    expect(got.map((m) => m.readUInt16BE(0))).toEqual(Array.from({ length: 200 }, (_, id) => id));
    await new Promise((resolve) => socket.once('close', resolve));
  });

  it('tcp_idle_timeout: a connection that sends nothing is closed', async () => {
    const { port } = await authWith(['--tcp-idle-timeout', '200']);
    const socket = await tcpConnect(port);
    socket.write(Buffer.from([0, 50, 1]));
    await new Promise((resolve) => socket.once('close', resolve));
    expect(socket.destroyed).toBe(true);
  });

  it('tcp_trickle: connections sending a byte at a time, no query complete within the idle timeout, are closed; dig +tcp then gets a slot', async () => {
    const dig = requireTool('dig', 'dnsutils');
    const { port } = await authWith(['--tcp-idle-timeout', '500', '--tcp-max-connections', '3']);
    const message = lengthPrefixed(query({ name: 'www.auth.test' }));
    // A byte every 200 ms: never 500 ms without one, and the query would take 6 s to complete.
    const tricklers = await Promise.all([1, 2, 3].map(() => trickle(port, message, 200)));
    onTestFinished(() => tricklers.forEach((t) => t.stop()));
    const extra = await tcpConnect(port);
    extra.resume();
    await new Promise((resolve) => extra.once('close', resolve));
    await Promise.all(tricklers.map((t) => t.closed));
    for (const t of tricklers) expect(t.sent()).toBeLessThan(message.length);
    const { stdout } = await exec(dig, ['@127.0.0.1', '-p', String(port), '+tcp', '+short', '+tries=1', 'www.auth.test', 'A']);
    expect(stdout.trim()).toBe('192.0.2.10');
  });

  it('tcp_connection_cap: past the cap a connection is closed at once; UDP and the others still served', async () => {
    const { port } = await authWith(['--tcp-max-connections', '2']);
    const connections = [await tcpConnect(port), await tcpConnect(port), await tcpConnect(port)];
    onTestFinished(() => connections.forEach((s) => s.destroy()));
    // One process closes the third; workers, counting together, the one they hear of last.
    const closed = await Promise.race(connections.map((s) => new Promise<net.Socket>((resolve) => s.once('close', () => resolve(s)))));
    const held = connections.filter((s) => s !== closed);
    for (const [i, socket] of held.entries()) {
      const answer = tcpMessages(socket, 1);
      socket.write(lengthPrefixed(query({ id: 9 + i, name: 'www.auth.test' })));
      expect(rcodeOf((await answer)[0]!)).toBe(0);
    }
    expect(rcodeOf((await udpExchange(port, query({ name: 'www.auth.test' })))!)).toBe(0);
  });

  it('listen_on: configured addresses replace the default, applied at once', async () => {
    const { bus, auth, port } = await authWith();
    const newPort = await freePort();
    const client = await bus.connect();
    const mark = auth.logs.length;
    await client.command('ConfigManager', 'set_config', ['Auth', { listen_on: [{ address: '127.0.0.1', port: newPort }] }]);
    await auth.waitForLog((l) => l.msg === 'auth listening', 'auth listening again', mark);
    expect(rcodeOf((await udpExchange(newPort, query({ name: 'www.auth.test' })))!)).toBe(0);
    expect(await udpExchange(port, query({ name: 'www.auth.test' }), 200)).toBeUndefined();
  });
});
