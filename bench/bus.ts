import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { cbor } from '../protocol/codec.js';
import { encodeFrame, FrameDecoder } from '../protocol/framing.js';
import { createAnswer } from '../protocol/message.js';
import { authFrame } from '../protocol/handshake.js';
import { Session } from '../protocol/session.js';
import { readTokenFile, resolveTokenFile } from '../protocol/token.js';
import { start, startMsgq, type Proc } from '../test/helpers/processes.js';

const BODY = 'x'.repeat(100 - 3); // a CBOR text of 100 bytes with its head
const MESSAGES = 1_000_000;
/** Rounds per measurement, alternating msgq and the relay; the median is reported. */
const ROUNDS = 5;
/** Warm-up rounds: V8 needs a few million messages before msgq's hot path is fully optimised. */
const WARMUP_ROUNDS = 3;
/** Rounds of each general-path scenario; the median is reported. */
const GENERAL_ROUNDS = 3;
const BATCH = 500;
const ROUND_TRIPS = 10_000;
const WARMUP_TRIPS = 1_000;

export interface ScenarioFigures {
  name: string;
  rate: number;
  /** Share of the stream scenario's 1->1 rate, same run. */
  share: number;
  peakRssMb: number;
}

export interface BusFigures {
  general: ScenarioFigures[];
  /** Peak RSS of msgq during the stream rounds, MB. */
  streamRssMb: number;
  msgqOneToOne: number;
  rawOneToOne: number;
  ratio: number;
  msgqFanOut: number;
  rawFanOut: number;
  p50us: number;
  p99us: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function connect(port: number): Promise<net.Socket> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  socket.setNoDelay(true);
  await once(socket, 'connect');
  return socket;
}

/** A consumer that counts whole frames and nothing else. */
function countFrames(socket: net.Socket, expected: number): Promise<void> {
  let seen = 0;
  return new Promise((resolve, reject) => {
    const decoder = new FrameDecoder(() => {
      if (++seen === expected) resolve();
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.once('close', () => reject(new Error(`consumer closed after ${seen} of ${expected} frames`)));
  });
}

/** Writes batches until `count` frames are out, honouring backpressure; a batch holds `perBatch` frames. */
async function produceBatches(socket: net.Socket, batch: Buffer, perBatch: number, count: number): Promise<void> {
  for (let sent = 0; sent < count; sent += perBatch) {
    if (!socket.write(batch)) await once(socket, 'drain');
  }
}

/** Messages (deliveries) per second from one producer to `consumers` consumers. */
async function throughput(
  port: number,
  consumers: number,
  /** Readies the connections and returns a batch of BATCH frames to send. */
  prepare: (producer: net.Socket, consumers: net.Socket[]) => Promise<Buffer>,
): Promise<number> {
  return scenario(port, 1, consumers, async (producers, sinks) => [await prepare(producers[0]!, sinks)], BATCH);
}

/**
 * Deliveries per second from `producers` connections (MESSAGES in all,
 * split evenly) to `consumers` consumers. `prepare` readies the connections
 * and returns each producer's batch of `perBatch` frames.
 */
export async function scenario(
  port: number,
  producers: number,
  consumers: number,
  prepare: (producers: net.Socket[], consumers: net.Socket[]) => Promise<Buffer[]>,
  perBatch: number,
): Promise<number> {
  const sources = await Promise.all(Array.from({ length: producers }, () => connect(port)));
  const sinks = await Promise.all(Array.from({ length: consumers }, () => connect(port)));
  try {
    const batches = await prepare(sources, sinks);
    const each = Math.ceil(MESSAGES / producers / perBatch) * perBatch;
    const total = each * producers;
    const done = Promise.all(sinks.map((s) => countFrames(s, total)));
    const started = process.hrtime.bigint();
    await Promise.all(sources.map((source, i) => produceBatches(source, batches[i]!, perBatch, each)));
    await done;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return (total * consumers) / seconds;
  } finally {
    for (const s of [...sources, ...sinks]) s.destroy();
  }
}

/** Frames of one header shape, `header(i)` for the i-th, each with the 100-byte body. */
function frames(count: number, header: (i: number) => Record<string, unknown>): Buffer {
  const body = cbor.encode(BODY);
  return Buffer.concat(Array.from({ length: count }, (_, i) => encodeFrame(cbor.encode(header(i)), body)));
}

/** Frames in a batch for the general-path scenarios: large, so a repeat is far apart. */
export const GENERAL_BATCH = 10_000;

/** The traffic of a control plane: scenarios whose headers do not simply repeat. */
export const GENERAL: Record<string, { producers: number; prepare: (producers: net.Socket[], consumers: net.Socket[]) => Promise<Buffer[]> }> = {
  // A responder's stream of replies: direct sends, seq and reply changing every message.
  replies: {
    producers: 1,
    async prepare([producer], [consumer]) {
      const to = await handshake(consumer!);
      const from = await handshake(producer!);
      return [frames(GENERAL_BATCH, (i) => ({ type: 'send', from, to, group: 'Bench', instance: '*', seq: 7 + i, reply: 1000 + 3 * i }))];
    },
  },
  // Many modules talking to one: 16 connections, each its own lname.
  'senders x16': {
    producers: 16,
    async prepare(producers, [consumer]) {
      await handshake(consumer!, 'Bench');
      return Promise.all(producers.map(async (p) => sendBatch(await handshake(p))));
    },
  },
  // A sender that does not set `from` to its own lname: msgq rewrites the envelope.
  'from rewritten': {
    producers: 1,
    async prepare([producer], [consumer]) {
      await handshake(consumer!, 'Bench');
      await handshake(producer!);
      return [frames(BATCH, (i) => ({ type: 'send', from: 'somebody', to: '*', group: 'Bench', instance: '*', seq: 1000 + i }))];
    },
  },
  // Every message a new instance of the group: nothing repeats.
  'random headers': {
    producers: 1,
    async prepare([producer], [consumer]) {
      await handshake(consumer!, 'Bench');
      const from = await handshake(producer!);
      const word = (): string => Math.random().toString(36).slice(2, 2 + 4 + Math.floor(Math.random() * 8));
      return [frames(GENERAL_BATCH, (i) => ({ type: 'send', from, to: '*', group: 'Bench', instance: word(), seq: i * 7919 }))];
    },
  },
};

/** msgq's peak RSS since the last reset, in MB; resets it for the next scenario. */
function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  // Writing 5 to clear_refs resets the high-water mark (Linux 4.0 on).
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
  return kb / 1024;
}

/** Speaks to msgq just enough for the raw measurement: token, lname, subscribe, confirm. */
async function handshake(socket: net.Socket, subscribe?: string): Promise<string> {
  const frames: unknown[] = [];
  const decoder = new FrameDecoder((f) => frames.push(cbor.decode(f.body)));
  const onData = (chunk: Buffer): void => decoder.push(chunk);
  socket.on('data', onData);
  socket.write(authFrame(cbor, readTokenFile(resolveTokenFile())));
  socket.write(encodeFrame(cbor.encode({ type: 'getlname' })));
  if (subscribe) socket.write(encodeFrame(cbor.encode({ type: 'subscribe', group: subscribe, instance: '*' })));
  socket.write(encodeFrame(cbor.encode({ type: 'ping' }), cbor.encode('done')));
  while (frames.length < 2) await once(socket, 'data');
  socket.off('data', onData);
  return (frames[0] as { lname: string }).lname;
}

function msgqPrepare(producer: net.Socket, consumers: net.Socket[]): Promise<Buffer> {
  return (async () => {
    await Promise.all(consumers.map((c) => handshake(c, 'Bench')));
    return sendBatch(await handshake(producer));
  })();
}

/** What a Session would send: its own lname, seq counting up. */
function sendBatch(lname: string): Buffer {
  const body = cbor.encode(BODY);
  const frames = Array.from({ length: BATCH }, (_, i) =>
    encodeFrame(cbor.encode({ type: 'send', from: lname, to: '*', group: 'Bench', instance: '*', seq: 1000 + i }), body),
  );
  return Buffer.concat(frames);
}

async function rawPrepare(producer: net.Socket, consumers: net.Socket[]): Promise<Buffer> {
  // Each connection's first byte is the relay's welcome: nothing else is sent before it.
  await Promise.all([producer, ...consumers].map((s) => once(s, 'data')));
  return sendBatch('0_0@relay');
}

async function latency(port: number): Promise<{ p50us: number; p99us: number }> {
  const requester = await Session.connect({ port });
  const responder = await Session.connect({ port });
  try {
    await responder.subscribe('Echo');
    void (async () => {
      for await (const m of responder) responder.reply(m.env, createAnswer(0, m.body));
    })();
    for (let i = 0; i < WARMUP_TRIPS; i++) await requester.request('Echo', BODY);
    const samples: number[] = [];
    for (let i = 0; i < ROUND_TRIPS; i++) {
      const t0 = process.hrtime.bigint();
      await requester.request('Echo', BODY);
      samples.push(Number(process.hrtime.bigint() - t0) / 1e3);
    }
    samples.sort((a, b) => a - b);
    const at = (q: number): number => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
    return { p50us: at(0.5), p99us: at(0.99) };
  } finally {
    await requester.close();
    await responder.close();
  }
}

async function relay(): Promise<{ proc: Proc; port: number }> {
  const proc = start('bench/raw-relay.js', []);
  const line = await proc.waitForLog((l) => l.msg === 'relay listening');
  return { proc, port: line.port as number };
}

export async function benchBus(): Promise<BusFigures> {
  // Latency first, on a msgq of its own: the throughput runs leave garbage
  // whose collection would show up as round-trip outliers.
  const quiet = await startMsgq();
  const { p50us, p99us } = await latency(quiet.port).finally(() => quiet.stop());
  const msgq = await startMsgq();
  const raw = await relay();
  try {
    // Warm both up so JIT and socket buffers are settled before measuring.
    for (let i = 0; i < WARMUP_ROUNDS; i++) {
      await throughput(msgq.port, 1, msgqPrepare);
      await throughput(raw.port, 1, rawPrepare);
    }
    const rounds = { msgq1: [] as number[], raw1: [] as number[], msgq4: [] as number[], raw4: [] as number[] };
    for (let i = 0; i < ROUNDS; i++) {
      rounds.msgq1.push(await throughput(msgq.port, 1, msgqPrepare));
      rounds.raw1.push(await throughput(raw.port, 1, rawPrepare));
      rounds.msgq4.push(await throughput(msgq.port, 4, msgqPrepare));
      rounds.raw4.push(await throughput(raw.port, 4, rawPrepare));
    }
    const streamRssMb = peakRss(msgq.proc.pid);
    const general: ScenarioFigures[] = [];
    for (const [name, { producers, prepare }] of Object.entries(GENERAL)) {
      const perBatch = name === 'senders x16' || name === 'from rewritten' ? BATCH : GENERAL_BATCH;
      const runs: number[] = [];
      for (let i = 0; i < GENERAL_ROUNDS; i++) runs.push(await scenario(msgq.port, producers, 1, prepare, perBatch));
      general.push({ name, rate: median(runs), share: 0, peakRssMb: peakRss(msgq.proc.pid) });
      if (process.env.B10_BENCH_DEBUG) process.stderr.write(`${name}: ${JSON.stringify(runs)}\n`);
    }
    if (process.env.B10_BENCH_DEBUG) process.stderr.write(`${JSON.stringify(rounds)}\n`);
    const msgqOneToOne = median(rounds.msgq1);
    for (const g of general) g.share = g.rate / msgqOneToOne;
    const rawOneToOne = median(rounds.raw1);
    const msgqFanOut = median(rounds.msgq4);
    const rawFanOut = median(rounds.raw4);
    return { general, streamRssMb, msgqOneToOne, rawOneToOne, ratio: msgqOneToOne / rawOneToOne, msgqFanOut, rawFanOut, p50us, p99us };
  } finally {
    await msgq.stop();
    await raw.proc.stop();
  }
}
