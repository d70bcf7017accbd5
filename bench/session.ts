import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect as natsConnect, type NatsConnection } from 'nats';
import { ModuleSession } from '../protocol/module-session.js';
import { Session } from '../protocol/session.js';
import { Proc, startMsgq } from '../test/helpers/processes.js';
import { freePort } from './ports.js';

/** b10's client library end to end against nats.js on nats-server, same machine, same run. */
const BODY = 'x'.repeat(100 - 3); // a CBOR text of 100 bytes with its head
const PAYLOAD = new Uint8Array(100).fill(0x78);
const PUBLISHED = 300_000;
/** A producer waits for its socket to drain every this many messages, as a bulk sender should. */
const FLUSH_EVERY = 1000;
const RPC_CALLERS = 8;
const RPC_REQUESTS = 40_000;
const ROUNDS = 3;

export interface ClientFigures {
  /** Deliveries per second, b10 Session and nats.js, for 1 and 4 subscribers. */
  pubsub: { subscribers: number; b10: number; nats: number }[];
  rpc: { b10: number; nats: number; b10P99us: number; natsP99us: number };
}

const NATS_SERVER = '/usr/sbin/nats-server';

/** nats-server, installed from Debian's package when missing and we may; undefined (and why) otherwise. */
function natsServerBinary(): string | string[] {
  if (existsSync(NATS_SERVER)) return NATS_SERVER;
  if (process.getuid?.() !== 0) return ['nats-server is not installed: apt-get install nats-server'];
  try {
    execFileSync('apt-get', ['install', '-y', '-qq', 'nats-server'], { stdio: 'ignore' });
  } catch {
    try {
      execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore' });
      execFileSync('apt-get', ['install', '-y', '-qq', 'nats-server'], { stdio: 'ignore' });
    } catch (err) {
      return [`nats-server could not be installed: ${(err as Error).message}`];
    }
  }
  return existsSync(NATS_SERVER) ? NATS_SERVER : ['nats-server is not at /usr/sbin after apt-get install'];
}

async function startNats(binary: string): Promise<{ proc: Proc; port: number }> {
  const port = await freePort();
  const proc = new Proc(spawn(binary, ['-a', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] }));
  await proc.waitForLog((l) => String(l.msg).includes('Server is ready'), 'nats-server ready');
  return { proc, port };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function percentile(samples: number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Session publish -> Session subscribe: deliveries per second. */
async function b10PubSub(port: number, subscribers: number): Promise<number> {
  const publisher = await Session.connect({ port });
  const readers = await Promise.all(Array.from({ length: subscribers }, () => Session.connect({ port })));
  try {
    for (const r of readers) await r.subscribe('Bench');
    const received = readers.map(async (r) => {
      let n = 0;
      for await (const _ of r) if (++n === PUBLISHED) return;
    });
    const t0 = process.hrtime.bigint();
    for (let i = 1; i <= PUBLISHED; i++) {
      publisher.send('Bench', BODY);
      if (i % FLUSH_EVERY === 0) await publisher.flush();
    }
    await Promise.all(received);
    return (PUBLISHED * subscribers) / (Number(process.hrtime.bigint() - t0) / 1e9);
  } finally {
    for (const s of [publisher, ...readers]) await s.close();
  }
}

/** nats.js publish -> nats.js subscribe through nats-server: deliveries per second. */
async function natsPubSub(port: number, subscribers: number): Promise<number> {
  const publisher = await natsConnect({ servers: `127.0.0.1:${port}` });
  const readers = await Promise.all(Array.from({ length: subscribers }, () => natsConnect({ servers: `127.0.0.1:${port}` })));
  try {
    const received = readers.map(
      (r) =>
        new Promise<void>((resolve) => {
          let n = 0;
          r.subscribe('bench', { callback: () => ++n === PUBLISHED && resolve() });
        }),
    );
    for (const r of readers) await r.flush();
    const t0 = process.hrtime.bigint();
    for (let i = 1; i <= PUBLISHED; i++) {
      publisher.publish('bench', PAYLOAD);
      if (i % FLUSH_EVERY === 0) await publisher.flush();
    }
    await Promise.all(received);
    return (PUBLISHED * subscribers) / (Number(process.hrtime.bigint() - t0) / 1e9);
  } finally {
    for (const c of [publisher, ...readers]) await c.close();
  }
}

/** RPC_CALLERS loops of `call` sharing RPC_REQUESTS; requests per second and p99 in µs. */
async function callers(call: () => Promise<unknown>): Promise<{ rate: number; p99us: number }> {
  const samples: number[] = [];
  let left = RPC_REQUESTS;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: RPC_CALLERS }, async () => {
      while (left-- > 0) {
        const s = process.hrtime.bigint();
        await call();
        samples.push(Number(process.hrtime.bigint() - s) / 1e3);
      }
    }),
  );
  const rate = RPC_REQUESTS / (Number(process.hrtime.bigint() - t0) / 1e9);
  return { rate, p99us: percentile(samples, 0.99) };
}

async function b10Rpc(port: number): Promise<{ rate: number; p99us: number }> {
  const responder = await ModuleSession.start({
    spec: { module_name: 'Bench', config_data: [], commands: [{ command_name: 'echo', command_args: [] }] },
    connect: { port },
    onCommand: () => BODY,
  });
  const caller = await Session.connect({ port });
  try {
    for (let i = 0; i < 1000; i++) await caller.command('Bench', 'echo');
    return await callers(() => caller.command('Bench', 'echo'));
  } finally {
    await caller.close();
    await responder.close();
  }
}

async function natsRpc(port: number): Promise<{ rate: number; p99us: number }> {
  const responder: NatsConnection = await natsConnect({ servers: `127.0.0.1:${port}` });
  const caller = await natsConnect({ servers: `127.0.0.1:${port}` });
  try {
    responder.subscribe('bench.echo', { callback: (_err, m) => m.respond(PAYLOAD) });
    await responder.flush();
    for (let i = 0; i < 1000; i++) await caller.request('bench.echo', PAYLOAD);
    return await callers(() => caller.request('bench.echo', PAYLOAD));
  } finally {
    await caller.close();
    await responder.close();
  }
}

/**
 * The client library's scenarios, each against nats.js on nats-server in
 * the same run; undefined with the reason when nats-server cannot be had.
 */
export async function benchClients(): Promise<ClientFigures | string> {
  const binary = natsServerBinary();
  if (Array.isArray(binary)) return binary[0]!;
  const msgq = await startMsgq();
  const nats = await startNats(binary);
  try {
    const pubsub: ClientFigures['pubsub'] = [];
    for (const subscribers of [1, 4]) {
      const b10: number[] = [];
      const ref: number[] = [];
      // A warm-up round of each, then alternating rounds.
      await b10PubSub(msgq.port, subscribers);
      await natsPubSub(nats.port, subscribers);
      for (let i = 0; i < ROUNDS; i++) {
        b10.push(await b10PubSub(msgq.port, subscribers));
        ref.push(await natsPubSub(nats.port, subscribers));
      }
      pubsub.push({ subscribers, b10: median(b10), nats: median(ref) });
    }
    const b10 = await b10Rpc(msgq.port);
    const ref = await natsRpc(nats.port);
    return { pubsub, rpc: { b10: b10.rate, nats: ref.rate, b10P99us: b10.p99us, natsP99us: ref.p99us } };
  } finally {
    await msgq.stop();
    await nats.proc.stop();
  }
}
