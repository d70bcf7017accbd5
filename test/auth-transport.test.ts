import net from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { Bus } from '../src/testing/index.js';
import { query, rcodeOf, startAuth, udpExchange } from './helpers/dns.js';
import { freePort, type Proc } from './helpers/processes.js';

/** Auth with a config manager on the bus, stopped when the test ends. */
async function authWith(args: string[] = []): Promise<{ bus: Bus; auth: Proc; port: number }> {
  const handle = await startAuth({ cfgmgr: true, args });
  onTestFinished(() => handle.stop());
  return handle;
}

function tcpConnect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' }, () => resolve(socket));
    socket.once('error', reject);
  });
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

const framed = (msg: Buffer): Buffer => Buffer.concat([Buffer.from([msg.length >> 8, msg.length & 0xff]), msg]);

describe('b10-auth transports', () => {
  it('tcp_pipelining: several queries in one write on one connection, each answered with its own id', async () => {
    const { port } = await authWith();
    const socket = await tcpConnect(port);
    onTestFinished(() => void socket.destroy());
    const answers = tcpMessages(socket, 3);
    socket.write(Buffer.concat([1, 2, 3].map((id) => framed(query({ id, name: ['www', 'c', 'nope'][id - 1] + '.auth.test' })))));
    const got = await answers;
    expect(got.map((m) => m.readUInt16BE(0))).toEqual([1, 2, 3]);
    expect(got.map(rcodeOf)).toEqual([0, 0, 3]);
  });

  it('tcp_idle_timeout: a connection that sends nothing is closed', async () => {
    const { port } = await authWith(['--tcp-idle-timeout', '200']);
    const socket = await tcpConnect(port);
    socket.write(Buffer.from([0, 50, 1]));
    await new Promise((resolve) => socket.once('close', resolve));
    expect(socket.destroyed).toBe(true);
  });

  it('tcp_connection_cap: past the cap a connection is closed at once; UDP and the others still served', async () => {
    const { port } = await authWith(['--tcp-max-connections', '2']);
    const held = [await tcpConnect(port), await tcpConnect(port)];
    onTestFinished(() => held.forEach((s) => s.destroy()));
    const third = await tcpConnect(port);
    await new Promise((resolve) => third.once('close', resolve));
    const answer = tcpMessages(held[0]!, 1);
    held[0]!.write(framed(query({ id: 9, name: 'www.auth.test' })));
    expect(rcodeOf((await answer)[0]!)).toBe(0);
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
