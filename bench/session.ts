import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect as natsConnect, type NatsConnection } from 'nats';
import { cbor } from '../protocol/codec.js';
import { ModuleSession } from '../protocol/module-session.js';
import { Session } from '../protocol/session.js';
import { Proc, startMsgq } from '../test/helpers/processes.js';
import { freePort } from './ports.js';

/**
 * b10's client library end to end against nats.js on nats-server, same
 * machine, same run, on payloads a real consumer reads: every message is a
 * distinct 100-byte CBOR map {seq, data}, encoded by the sender and decoded
 * by every receiver (the same cbor-x codec on both sides), which checks that
 * the seqs arrive in order and complete.
 */
const PUBLISHED = 300_000;
/** A producer waits for its socket to drain every this many messages, as a bulk sender should. */
const FLUSH_EVERY = 1000;
const RPC_CALLERS = 8;
const RPC_REQUESTS = 40_000;
const ROUNDS = 3;
const WARMUP_TRIPS = 1000;
/** Sequential round trips per side and round: short rounds alternating b10 and nats.js, so that the shared machine's bursts of load hit both alike. */
const TRIPS_PER_ROUND = 100;
const TRIP_ROUNDS = 100;
const PAYLOAD_BYTES = 100;

interface Payload {
  seq: number;
  data: string;
}

/** Padding that makes {seq, data} encode to PAYLOAD_BYTES whatever seq's width: map 1, "seq" 4, seq w, "data" 5, text head 2. */
const PADS = [1, 2, 3, 5].map((w) => 'x'.repeat(PAYLOAD_BYTES - 12 - w));

/** The message numbered `seq` (0 <= seq < 2^32). */
function payload(seq: number): Payload {
  const width = seq < 24 ? 0 : seq < 0x100 ? 1 : seq < 0x10000 ? 2 : 3;
  return { seq, data: PADS[width]! };
}

/** What every receiver does with each decoded body: checks that the seqs come in order, and sums them. */
class SeqCheck {
  private expected = 1;
  sum = 0;

  /** True once `total` messages have come in order; throws at the first one out of order or malformed. */
  take(body: unknown, total: number): boolean {
    const seq = (body as Payload | undefined)?.seq;
    if (seq !== this.expected) throw new Error(`message ${String(seq)} received where ${this.expected} was due`);
    this.sum += seq;
    return this.expected++ === total;
  }
}

export interface ClientFigures {
  /** Deliveries per second, b10 Session and nats.js, for 1 and 4 subscribers. */
  pubsub: { subscribers: number; b10: number; nats: number }[];
  /** One request at a time: p50 and p99 of the round trip, µs. */
  latency: { b10P50us: number; b10P99us: number; natsP50us: number; natsP99us: number };
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
      const check = new SeqCheck();
      for await (const m of r) if (check.take(m.body, PUBLISHED)) return;
    });
    const t0 = process.hrtime.bigint();
    for (let i = 1; i <= PUBLISHED; i++) {
      publisher.send('Bench', payload(i));
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
        new Promise<void>((resolve, reject) => {
          const check = new SeqCheck();
          r.subscribe('bench', {
            callback: (_err, m) => {
              try {
                if (check.take(cbor.decode(m.data), PUBLISHED)) resolve();
              } catch (err) {
                reject(err as Error);
              }
            },
          });
        }),
    );
    for (const r of readers) await r.flush();
    const t0 = process.hrtime.bigint();
    for (let i = 1; i <= PUBLISHED; i++) {
      publisher.publish('bench', cbor.encode(payload(i)));
      if (i % FLUSH_EVERY === 0) await publisher.flush();
    }
    await Promise.all(received);
    return (PUBLISHED * subscribers) / (Number(process.hrtime.bigint() - t0) / 1e9);
  } finally {
    for (const c of [publisher, ...readers]) await c.close();
  }
}

/** The answer a responder makes to a request's body: the same seq back, its own padding. */
function echoed(body: unknown): Payload {
  return payload((body as Payload).seq);
}

function checkEcho(body: unknown, seq: number): void {
  const got = (body as Payload | undefined)?.seq;
  if (got !== seq) throw new Error(`answer for ${String(got)} received to request ${seq}`);
}

/** `trips` sequential round trips numbered from `first`: each one's time in µs. */
async function roundTrips(trip: (seq: number) => Promise<void>, first: number, trips: number, samples: number[]): Promise<void> {
  for (let seq = first; seq < first + trips; seq++) {
    const t0 = process.hrtime.bigint();
    await trip(seq);
    samples.push(Number(process.hrtime.bigint() - t0) / 1e3);
  }
}

/** A Session answering every request of group Echo, reading its body as a module would. */
async function b10Echo(port: number): Promise<{ trip: (seq: number) => Promise<void>; close: () => Promise<void> }> {
  const requester = await Session.connect({ port });
  const responder = await Session.connect({ port });
  await responder.subscribe('Echo');
  void (async () => {
    for await (const m of responder) responder.reply(m.env, echoed(m.body));
  })().catch(() => {});
  return {
    trip: async (seq) => checkEcho((await requester.request('Echo', payload(seq))).body, seq),
    close: async () => {
      await requester.close();
      await responder.close();
    },
  };
}

async function natsEcho(port: number): Promise<{ trip: (seq: number) => Promise<void>; close: () => Promise<void> }> {
  const responder = await natsConnect({ servers: `127.0.0.1:${port}` });
  const requester = await natsConnect({ servers: `127.0.0.1:${port}` });
  responder.subscribe('echo', { callback: (_err, m) => m.respond(cbor.encode(echoed(cbor.decode(m.data)))) });
  await responder.flush();
  return {
    trip: async (seq) => checkEcho(cbor.decode((await requester.request('echo', cbor.encode(payload(seq)))).data), seq),
    close: async () => {
      await requester.close();
      await responder.close();
    },
  };
}

/** Sequential request/reply, b10 and nats.js alternating rounds after a warm-up of each: p50 and p99. */
async function latency(msgqPort: number, natsPort: number): Promise<ClientFigures['latency']> {
  const b10 = await b10Echo(msgqPort);
  const nats = await natsEcho(natsPort);
  try {
    const b10Samples: number[] = [];
    const natsSamples: number[] = [];
    await roundTrips(b10.trip, 1, WARMUP_TRIPS, []);
    await roundTrips(nats.trip, 1, WARMUP_TRIPS, []);
    for (let r = 0; r < TRIP_ROUNDS; r++) {
      const first = WARMUP_TRIPS + 1 + r * TRIPS_PER_ROUND;
      await roundTrips(b10.trip, first, TRIPS_PER_ROUND, b10Samples);
      await roundTrips(nats.trip, first, TRIPS_PER_ROUND, natsSamples);
    }
    return {
      b10P50us: percentile(b10Samples, 0.5),
      b10P99us: percentile(b10Samples, 0.99),
      natsP50us: percentile(natsSamples, 0.5),
      natsP99us: percentile(natsSamples, 0.99),
    };
  } finally {
    await b10.close();
    await nats.close();
  }
}

/** RPC_CALLERS loops of `call` sharing RPC_REQUESTS (numbered from 1); requests per second and p99 in µs. */
async function callers(call: (seq: number) => Promise<void>): Promise<{ rate: number; p99us: number }> {
  const samples: number[] = [];
  let next = 1;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: RPC_CALLERS }, async () => {
      while (next <= RPC_REQUESTS) {
        const seq = next++;
        const s = process.hrtime.bigint();
        await call(seq);
        samples.push(Number(process.hrtime.bigint() - s) / 1e3);
      }
    }),
  );
  const rate = RPC_REQUESTS / (Number(process.hrtime.bigint() - t0) / 1e9);
  return { rate, p99us: percentile(samples, 0.99) };
}

async function b10Rpc(port: number): Promise<{ rate: number; p99us: number }> {
  const args = [
    { item_name: 'seq', item_type: 'integer' as const, item_optional: false, item_default: 0 },
    { item_name: 'data', item_type: 'string' as const, item_optional: false, item_default: '' },
  ];
  const responder = await ModuleSession.start({
    spec: { module_name: 'Bench', config_data: [], commands: [{ command_name: 'echo', command_args: args }] },
    connect: { port },
    onCommand: (_name, body) => echoed(body),
  });
  const caller = await Session.connect({ port });
  const call = async (seq: number): Promise<void> => checkEcho(await caller.command('Bench', 'echo', payload(seq)), seq);
  try {
    for (let i = 1; i <= WARMUP_TRIPS; i++) await call(i);
    return await callers(call);
  } finally {
    await caller.close();
    await responder.close();
  }
}

async function natsRpc(port: number): Promise<{ rate: number; p99us: number }> {
  const responder: NatsConnection = await natsConnect({ servers: `127.0.0.1:${port}` });
  const caller = await natsConnect({ servers: `127.0.0.1:${port}` });
  const call = async (seq: number): Promise<void> => checkEcho(cbor.decode((await caller.request('bench.echo', cbor.encode(payload(seq)))).data), seq);
  try {
    responder.subscribe('bench.echo', { callback: (_err, m) => m.respond(cbor.encode(echoed(cbor.decode(m.data)))) });
    await responder.flush();
    for (let i = 1; i <= WARMUP_TRIPS; i++) await call(i);
    return await callers(call);
  } finally {
    await caller.close();
    await responder.close();
  }
}

/**
 * The client library's scenarios, each against nats.js on nats-server in
 * the same run; the reason instead when nats-server cannot be had.
 */
export async function benchClients(): Promise<ClientFigures | string> {
  const binary = natsServerBinary();
  if (Array.isArray(binary)) return binary[0]!;
  const msgq = await startMsgq();
  const nats = await startNats(binary);
  const debug = (what: string, values: unknown): void => {
    if (process.env.B10_BENCH_DEBUG) process.stderr.write(`${what}: ${JSON.stringify(values)}\n`);
  };
  try {
    // Latency first, on fresh daemons: the throughput rounds leave garbage
    // (in this process and the daemons) whose collection shows as outliers.
    const trips = await latency(msgq.port, nats.port);
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
      debug(`pub/sub 1->${subscribers}`, { b10, nats: ref });
      pubsub.push({ subscribers, b10: median(b10), nats: median(ref) });
    }
    const b10 = await b10Rpc(msgq.port);
    const ref = await natsRpc(nats.port);
    return { pubsub, latency: trips, rpc: { b10: b10.rate, nats: ref.rate, b10P99us: b10.p99us, natsP99us: ref.p99us } };
  } finally {
    await msgq.stop();
    await nats.proc.stop();
  }
}

/** The lines `npm run bench` prints for these figures, targets beside them. */
export function clientLines(clients: ClientFigures | string): string[] {
  if (typeof clients === 'string') return [`client library vs nats.js: skipped: ${clients}`];
  const rate = (n: number): string => `${Math.round(n).toLocaleString('en-US')}/s`;
  const us = (n: number): string => `${n.toFixed(0)} us`;
  const lines = [`client library vs nats.js on nats-server (distinct ${PAYLOAD_BYTES}-byte CBOR bodies, every one decoded and checked; same run)`];
  for (const p of clients.pubsub) {
    lines.push(`  pub/sub 1->${p.subscribers}          Session ${rate(p.b10)}, nats.js ${rate(p.nats)} deliveries = ${(p.b10 / p.nats).toFixed(2)}x  (target >= 1.0x)`);
  }
  const l = clients.latency;
  lines.push(`  request/reply p50    Session ${us(l.b10P50us)}, nats.js ${us(l.natsP50us)} = ${(l.natsP50us / l.b10P50us).toFixed(2)}x  (target: Session at or under nats.js, >= 1.0x)`);
  lines.push(`  request/reply p99    Session ${us(l.b10P99us)}, nats.js ${us(l.natsP99us)} = ${(l.natsP99us / l.b10P99us).toFixed(2)}x  (target: Session at or under nats.js, >= 1.0x)`);
  const { rpc } = clients;
  lines.push(`  RPC, 8 callers       Session.command ${rate(rpc.b10)}, nats.js request ${rate(rpc.nats)} = ${(rpc.b10 / rpc.nats).toFixed(2)}x  (target >= 1.0x)`);
  lines.push(`  RPC p99              Session ${us(rpc.b10P99us)}, nats.js ${us(rpc.natsP99us)}  (target < 1000 us)`);
  return lines;
}
