import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { lengthPrefixed } from '../src/dns/message.js';
import { listenOn } from '../src/listen.js';
import { requireTool } from './helpers/debian.js';
import { query, rcodeOf, startAuth, tcpConnect, type AuthHandle } from './helpers/dns.js';
import { freePort, run } from './helpers/processes.js';

/**
 * Auth/listen_on changed through `b10 config`, as an operator does: a change
 * auth cannot make whole is refused and changes nothing, an endpoint kept
 * across a change answers throughout, and unset brings the default back.
 */

const exec = promisify(execFile);
const WWW = '192.0.2.10';

async function authWith(args: string[] = [], stored?: object): Promise<AuthHandle> {
  const handle = await startAuth({ cfgmgr: true, args, stored });
  onTestFinished(() => handle.stop());
  return handle;
}

const b10 = (auth: AuthHandle, ...args: string[]): ReturnType<typeof run> => run('src/cli/main.js', args, { env: auth.bus.env });

async function listenOnShown(auth: AuthHandle): Promise<unknown> {
  const shown = await b10(auth, 'config', 'show', 'Auth/listen_on');
  expect(shown.code).toBe(0);
  return JSON.parse(shown.stdout);
}

/** www.auth.test's address as real dig gets it from 127.0.0.1:port, or undefined when nothing answers there. */
async function dig(port: number, tcp: boolean): Promise<string | undefined> {
  const digBin = requireTool('dig', 'dnsutils');
  try {
    const { stdout } = await exec(digBin, ['@127.0.0.1', '-p', String(port), '+short', '+time=1', '+tries=1', ...(tcp ? ['+tcp'] : []), 'www.auth.test', 'A']);
    return stdout.trim();
  } catch {
    return undefined;
  }
}

async function expectAnswering(port: number): Promise<void> {
  expect(await dig(port, false)).toBe(WWW);
  expect(await dig(port, true)).toBe(WWW);
}

async function expectSilent(port: number): Promise<void> {
  expect(await dig(port, false)).toBeUndefined();
  expect(await dig(port, true)).toBeUndefined();
}

/** Whether this process can bind `port` on 127.0.0.1 over UDP and TCP: nobody, auth included, holds it. */
async function portFree(port: number): Promise<boolean> {
  const udp = dgram.createSocket('udp4');
  const tcp = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, '127.0.0.1', resolve);
    });
    await listenOn(tcp, { port, host: '127.0.0.1' });
    return true;
  } catch {
    return false;
  } finally {
    udp.close(() => {});
    tcp.close();
  }
}

/** One query on an open TCP connection: its rcode, or a rejection when auth closes the connection instead. */
function askOn(socket: net.Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) return reject(new Error('auth closed the connection'));
    let got = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      got = Buffer.concat([got, chunk]);
      if (got.length < 2 || got.length < 2 + got.readUInt16BE(0)) return;
      socket.off('data', onData).off('close', onClose);
      resolve(rcodeOf(got.subarray(2)));
    };
    const onClose = (): void => reject(new Error('auth closed the connection'));
    socket.on('data', onData).once('close', onClose);
    socket.write(lengthPrefixed(query({ name: 'www.auth.test' })));
  });
}

describe('Auth/listen_on: all or nothing', () => {
  it('refused_port_taken: a port another program holds is refused with the reason; the old address answers over UDP and TCP, config unchanged, nothing left bound', async () => {
    const auth = await authWith();
    const squatter = net.createServer();
    await listenOn(squatter, { port: 0, host: '127.0.0.1' });
    onTestFinished(() => void squatter.close());
    const taken = (squatter.address() as net.AddressInfo).port;
    // The first endpoint binds: the refusal must close it again.
    const first = await freePort();
    const wanted = [{ address: '127.0.0.1', port: first }, { address: '127.0.0.1', port: taken }];

    const refused = await b10(auth, 'config', 'set', 'Auth/listen_on', JSON.stringify(wanted));
    expect(refused.code).toBe(1);
    await expectAnswering(auth.port);
    expect(await listenOnShown(auth)).toEqual([]);
    expect(await portFree(first)).toBe(true);
    expect(refused.stderr).toBe(
      `b10: Auth refused the configuration: listen_on: cannot listen on 127.0.0.1:${taken} (TCP): the port is in use by another program (EADDRINUSE); still answering on 127.0.0.1:${auth.port}`,
    );
    // Unset after a refusal: the default, which never stopped answering.
    expect(await b10(auth, 'config', 'unset', 'Auth/listen_on')).toMatchObject({ code: 0 });
    await expectAnswering(auth.port);
  });

  it('refused_address_not_here: an address not on this host, or not an address, is refused; DNS goes on where it was and config show says so', async () => {
    const auth = await authWith();
    const newPort = await freePort();
    expect(await b10(auth, 'config', 'set', 'Auth/listen_on', JSON.stringify([{ address: '127.0.0.1', port: newPort }]))).toMatchObject({ code: 0 });
    await expectAnswering(newPort);

    const notHere = await b10(auth, 'config', 'set', 'Auth/listen_on', JSON.stringify([{ address: '203.0.113.1', port: newPort }]));
    expect(notHere).toMatchObject({ code: 1 });
    await expectAnswering(newPort);
    expect(notHere.stderr).toContain(`cannot listen on 203.0.113.1:${newPort} (UDP): the address is not on this host (EADDRNOTAVAIL); still answering on 127.0.0.1:${newPort}`);
    const notAnAddress = await b10(auth, 'config', 'set', 'Auth/listen_on', JSON.stringify([{ address: 'not-an-ip', port: 5300 }]));
    expect(notAnAddress).toMatchObject({ code: 1 });
    expect(notAnAddress.stderr).toContain('Auth/listen_on[0]/address: "not-an-ip" is not an IP address');

    await expectAnswering(newPort);
    expect(await listenOnShown(auth)).toEqual([{ address: '127.0.0.1', port: newPort }]);
  });

  it('move_then_unset: a valid move answers on the new port only; unset brings back the default address', async () => {
    const defaultPort = await freePort();
    const auth = await authWith(['-p', String(defaultPort)]);
    const newPort = await freePort();
    expect(await b10(auth, 'config', 'set', 'Auth/listen_on', JSON.stringify([{ address: '127.0.0.1', port: newPort }]))).toMatchObject({ code: 0 });
    await expectAnswering(newPort);
    await expectSilent(defaultPort);
    expect(await listenOnShown(auth)).toEqual([{ address: '127.0.0.1', port: newPort }]);

    expect(await b10(auth, 'config', 'unset', 'Auth/listen_on')).toMatchObject({ code: 0 });
    await expectAnswering(defaultPort);
    await expectSilent(newPort);
    expect(await listenOnShown(auth)).toEqual([]);
  });

  it('overlap_no_gap: an endpoint kept across changes answers every query meanwhile, and its open TCP connections stay', async () => {
    const auth = await authWith();
    const kept = auth.port;
    const added = await freePort();
    const held = await tcpConnect(kept);
    onTestFinished(() => void held.destroy());
    expect(await askOn(held)).toBe(0);

    let changing = true;
    const answers: (string | undefined)[] = [];
    const queries = (async () => {
      while (changing) answers.push(await dig(kept, answers.length % 2 === 1));
    })();
    const changes = [
      [{ address: '127.0.0.1', port: kept }, { address: '127.0.0.1', port: added }],
      [{ address: '127.0.0.1', port: added }, { address: '127.0.0.1', port: kept }],
      [{ address: '127.0.0.1', port: kept }],
    ];
    try {
      for (const listenOn of changes) {
        expect(await b10(auth, 'config', 'set', 'Auth/listen_on', JSON.stringify(listenOn))).toMatchObject({ code: 0 });
        expect(await askOn(held)).toBe(0);
      }
    } finally {
      changing = false;
      await queries;
    }
    expect(answers.length).toBeGreaterThan(2);
    expect(answers.filter((a) => a !== WWW)).toEqual([]);
    await expectSilent(added);
  });

  it('same_port_overlapping_address: 127.0.0.1:P to 0.0.0.0:P and back (never bindable side by side) moves; when the new one then fails, the old is put back', async () => {
    const auth = await authWith();
    const port = auth.port;
    const set = (address: string): ReturnType<typeof run> => b10(auth, 'config', 'set', 'Auth/listen_on', JSON.stringify([{ address, port }]));
    expect(await set('0.0.0.0')).toMatchObject({ code: 0 });
    await expectAnswering(port);
    expect(await set('127.0.0.1')).toMatchObject({ code: 0 });
    await expectAnswering(port);

    // Another program on 127.0.0.2:P over TCP: 0.0.0.0:P binds for UDP once the old listener is out of the way, not for TCP.
    const squatter = net.createServer();
    await listenOn(squatter, { port, host: '127.0.0.2' });
    onTestFinished(() => void squatter.close());
    const refused = await set('0.0.0.0');
    expect(refused.code).toBe(1);
    await expectAnswering(port);
    expect(await listenOnShown(auth)).toEqual([{ address: '127.0.0.1', port }]);
    expect(refused.stderr).toContain(`cannot listen on 0.0.0.0:${port} (TCP): the port is in use by another program (EADDRINUSE); still answering on 127.0.0.1:${port}`);
  });

  it('stored_unbindable_at_start: auth starts on the default address and says why, rather than dying; setting listen_on again applies it', async () => {
    const auth = await authWith([], { listen_on: [{ address: '203.0.113.1', port: 5300 }] });
    const why = await auth.auth.waitForLog((l) => l.level === 50, 'the error about listen_on');
    expect(why).toMatchObject({ reason: 'cannot listen on 203.0.113.1:5300 (UDP): the address is not on this host (EADDRNOTAVAIL)' });
    expect(String(why.msg)).toBe(`stored listen_on cannot be bound: answering on 127.0.0.1:${auth.port} until Auth/listen_on is set again`);
    await expectAnswering(auth.port);
    const newPort = await freePort();
    expect(await b10(auth, 'config', 'set', 'Auth/listen_on', JSON.stringify([{ address: '127.0.0.1', port: newPort }]))).toMatchObject({ code: 0 });
    await expectAnswering(newPort);
    await expectSilent(auth.port);
  });
});
