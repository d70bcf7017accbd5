import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CONFIG_FILE } from '../../src/cfgmgr/store.js';
import { parseMasterFile } from '../../src/dns/master-file.js';
import { ZoneStore } from '../../src/dns/zone-store.js';
import { expectMessage, startBus, type Bus } from '../../src/testing/index.js';
import { ROOT, start, type Proc } from './processes.js';

/** One UDP packet to auth (sent from the address `from` when given); its answer, or undefined after `ms`. */
export function udpExchange(port: number, packet: Buffer, ms = 300, from?: string): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    if (from !== undefined) socket.bind(0, from);
    const timer = setTimeout(() => {
      socket.close();
      resolve(undefined);
    }, ms);
    socket.on('message', (msg) => {
      clearTimeout(timer);
      socket.close();
      resolve(msg);
    });
    socket.send(packet, port, '127.0.0.1');
  });
}

/** A TCP connection to auth, once it is open. Auth may reset it later (that is what some tests provoke): never an unhandled error. */
export function tcpConnect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' }, () => resolve(socket));
    socket.on('error', reject);
  });
}

export interface Trickler {
  /** Bytes written so far. */
  sent(): number;
  /** Resolves when auth closes the connection. */
  closed: Promise<void>;
  stop(): void;
}

/** A client sending `message` to auth one byte every `everyMs` ms, as one that holds a connection cheaply would. */
export async function trickle(port: number, message: Buffer, everyMs: number): Promise<Trickler> {
  const socket = await tcpConnect(port);
  let sent = 0;
  const timer = setInterval(() => {
    if (sent < message.length) socket.write(message.subarray(sent, ++sent));
  }, everyMs);
  socket.on('error', () => {});
  socket.resume();
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  void closed.then(() => clearInterval(timer));
  return {
    sent: () => sent,
    closed,
    stop: () => {
      clearInterval(timer);
      socket.destroy();
    },
  };
}

/** A query by hand: header fields and a question, for the malformed cases dig will not send. */
export function query(
  options: { id?: number; flags?: number; qdcount?: number; name?: string; type?: number; trailing?: Buffer; edns?: { dnssecOk: boolean } } = {},
): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(options.id ?? 0x1234, 0);
  // RD by default, as a stub resolver and dig send it.
  header.writeUInt16BE(options.flags ?? 0x0100, 2);
  header.writeUInt16BE(options.qdcount ?? 1, 4);
  header.writeUInt16BE(options.edns ? 1 : 0, 10);
  const labels = (options.name ?? 'www.auth.test').split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(options.type ?? 1, 0);
  tail.writeUInt16BE(1, 2);
  // An OPT record offering 1232 bytes, with the DO bit as asked (RFC 6891, RFC 3225).
  const opt = options.edns ? Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, options.edns.dnssecOk ? 0x80 : 0, 0, 0, 0]) : Buffer.alloc(0);
  return Buffer.concat([header, ...labels, Buffer.from([0]), tail, opt, options.trailing ?? Buffer.alloc(0)]);
}

export const rcodeOf = (msg: Buffer): number => msg.readUInt16BE(2) & 0xf;

export interface DigResult {
  status: string;
  flags: string[];
  answer: string[];
  authority: string[];
  additional: string[];
  raw: string;
}

const exec = promisify(execFile);

/** Real dig at 127.0.0.1:`port`; the sections as record lines with blanks folded. */
export async function digAt(digBin: string, port: number, ...args: string[]): Promise<DigResult> {
  const { stdout } = await exec(digBin, ['@127.0.0.1', '-p', String(port), '+time=2', '+tries=1', ...args]);
  const section = (name: string): string[] => {
    const m = new RegExp(`;; ${name} SECTION:\\n([\\s\\S]*?)(?:\\n\\n|$)`).exec(stdout);
    return m ? m[1]!.split('\n').filter((l) => l && !l.startsWith(';')).map((l) => l.replace(/\s+/g, ' ')) : [];
  };
  return {
    status: /status: (\w+)/.exec(stdout)?.[1] ?? '',
    flags: (/;; flags: ([a-z ]*);/.exec(stdout)?.[1] ?? '').trim().split(' '),
    answer: section('ANSWER'),
    authority: section('AUTHORITY'),
    additional: section('ADDITIONAL'),
    raw: stdout,
  };
}

export interface AuthHandle {
  bus: Bus;
  auth: Proc;
  /** The DNS port auth answers on. */
  port: number;
  dataPath: string;
  stop(): Promise<void>;
}

/**
 * The zone store in a fresh data path holding `zones` (by default
 * test/fixtures/zones/auth.zone), a bus (with a config manager when asked,
 * holding `stored` as Auth's configuration) and b10-auth on a free port,
 * registered. The caller stops it.
 */
export async function startAuth(
  options: { cfgmgr?: boolean; args?: string[]; stored?: object; zones?: { origin: string; file: string }[] } = {},
): Promise<AuthHandle> {
  const dataPath = await mkdtemp(path.join(os.tmpdir(), 'b10-auth-'));
  const store = ZoneStore.open(dataPath);
  for (const zone of options.zones ?? [{ origin: 'auth.test', file: path.join(ROOT, 'test/fixtures/zones/auth.zone') }]) {
    store.replaceZone(zone.origin.endsWith('.') ? zone.origin : `${zone.origin}.`, parseMasterFile(zone.file, zone.origin));
  }
  store.close();
  // The DNS tests run with Auth/workers as it defaults (one per CPU); B10_TEST_AUTH_WORKERS=1 runs them against one process.
  const workers = process.env.B10_TEST_AUTH_WORKERS;
  const stored = workers ? { ...options.stored, workers: Number(workers) } : options.stored;
  if (stored) await writeFile(path.join(dataPath, CONFIG_FILE), JSON.stringify({ version: 2, Auth: stored }));
  const bus = await startBus({ cfgmgr: options.cfgmgr ?? false, dataPath });
  const watcher = await bus.connect();
  await watcher.subscribe('cc_config');
  const auth = start('src/auth/main.js', ['-p', '0', '-d', dataPath, ...(options.args ?? [])], { env: bus.env, lifeline: true });
  const stop = async (): Promise<void> => {
    await auth.stop();
    await bus.stop();
    await rm(dataPath, { recursive: true, force: true });
  };
  try {
    const listening = await auth.waitForLog((l) => l.msg === 'auth listening', 'auth listening');
    if (options.cfgmgr) {
      const registered = JSON.stringify({ notification: ['module_spec', { module_name: 'Auth' }] });
      await expectMessage(watcher, (m) => JSON.stringify(m.body) === registered, 5000);
    }
    return { bus, auth, port: (listening.endpoints as { port: number }[])[0]!.port, dataPath, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
