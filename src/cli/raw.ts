import { once } from 'node:events';
import type { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { Command, Option } from 'commander';
import { codecFor, detectCodec } from '../../protocol/codec.js';
import { ClosedError, ConnectionError, UsageError } from '../../protocol/errors.js';
import { encodeFrame, FrameDecoder, type Frame } from '../../protocol/framing.js';
import { DEFAULT_LIMITS } from '../../protocol/limits.js';
import { connectOnce, describeTarget, resolveMsgqTarget } from '../../protocol/transport.js';
import { parseMillisecondsOrZero } from '../options.js';
import { authFrame } from '../../protocol/handshake.js';
import { readTokenFile } from '../../protocol/token.js';
import { busTokenFile, withBusOptions, type BusOptions } from './common.js';

interface RawOpts extends BusOptions {
  json: boolean;
  auth: boolean;
  wait: number;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** One input line as the bytes to write: {"env": {...}, "body"?: ...} encoded as a frame, or {"hex": "..."} as it is. */
export function lineToBytes(line: string, lineNo: number, encode: (value: unknown) => Buffer): Buffer | undefined {
  if (line.trim() === '') return undefined;
  const fail = (why: string): never => {
    throw new UsageError(`stdin line ${lineNo}: ${why}`);
  };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return fail(`not JSON: ${(err as Error).message}`);
  }
  if (!isMap(value)) return fail('expected {"env": {...}, "body": ...} or {"hex": "..."}');
  if (typeof value.hex === 'string') {
    const hex = value.hex.replace(/\s+/g, '');
    if (!/^([0-9a-fA-F]{2})*$/.test(hex)) fail('"hex" must be pairs of hex digits');
    return Buffer.from(hex, 'hex');
  }
  if (!isMap(value.env)) return fail('expected {"env": {...}, "body": ...} or {"hex": "..."}');
  return encodeFrame(encode(value.env), 'body' in value ? encode(value.body) : undefined);
}

/** A received frame as one JSON line; byte strings are shown as {"hex": ...}. */
function frameLine(frame: Frame): unknown {
  const codec = detectCodec(frame.buffer.subarray(frame.headerStart, frame.bodyStart));
  const env = codec.decode(frame.buffer.subarray(frame.headerStart, frame.bodyStart));
  return frame.bodyLength > 0 ? { env, body: codec.decode(frame.body) } : { env };
}

function bytesAsHex(_key: string, value: unknown): unknown {
  if (value instanceof Uint8Array) return { hex: Buffer.from(value).toString('hex') };
  if (isMap(value) && value.type === 'Buffer' && Array.isArray(value.data)) return { hex: Buffer.from(value.data as number[]).toString('hex') };
  return value;
}

/**
 * `b10 raw`: frames from stdin to msgq on one connection, exactly as given;
 * every frame msgq sends back to stdout. Nothing is added but the auth frame
 * over TCP (no getlname, no checks), so malformed input reaches msgq and its
 * reaction can be seen.
 */
export function rawCommand(): Command {
  return withBusOptions(
    new Command('raw')
      .description(
        'send frames given as JSON lines on stdin ({"env": {...}, "body": ...} or {"hex": "..."}) on one connection, ' +
          'and print every frame received as a JSON line, until stdin ends and --wait passes',
      )
      .option('--json', 'encode env and body as JSON, as the original BIND 10 clients did (default CBOR)', false)
      .option('--no-auth', 'do not send the bus token first over TCP (msgq then refuses the connection, after a second)')
      .addOption(
        new Option('--wait <ms>', 'after stdin ends, how long to go on printing what arrives')
          .argParser(parseMillisecondsOrZero)
          .default(500),
      )
      .addHelpText(
        'after',
        '\nExit codes: 0 when stdin ended and --wait passed; 2 for a bad input line (nothing after it is sent);\n' +
          '3 when msgq cannot be reached or closes the connection (as it does on a malformed frame).',
      ),
    { connectWait: false },
  ).action(async (opts: RawOpts) => {
    const target = resolveMsgqTarget({ port: opts.msgqPort, socketFile: opts.msgqPort === undefined ? opts.msgqSocketFile : undefined });
    const token = opts.auth && !('path' in target) ? readTokenFile(busTokenFile(opts)) : undefined;
    let socket: Socket;
    try {
      socket = await connectOnce(target);
    } catch (err) {
      throw new ConnectionError(describeTarget(target), { cause: err });
    }
    const codec = codecFor(opts.json ? 'json' : 'cbor');
    if (token !== undefined) socket.write(authFrame(codec, token));
    const decoder = new FrameDecoder((frame) => printRawLine(frameLine(frame)), DEFAULT_LIMITS);
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('error', () => {});
    const closed = once(socket, 'close').then(() => 'closed' as const);

    const lines = createInterface({ input: process.stdin });
    let lineNo = 0;
    const reading = (async () => {
      for await (const line of lines) {
        const bytes = lineToBytes(line, ++lineNo, (v) => codec.encode(v));
        if (bytes && !socket.destroyed) socket.write(bytes);
      }
    })();
    try {
      const ended = await Promise.race([reading.then(() => 'stdin' as const), closed]);
      if (ended === 'stdin') {
        const timer = new Promise<'waited'>((resolve) => setTimeout(() => resolve('waited'), opts.wait).unref());
        if ((await Promise.race([timer, closed])) === 'waited') {
          socket.end();
          await closed;
          return;
        }
      }
      throw new ClosedError('msgq closed the connection');
    } finally {
      reading.catch(() => {});
      lines.close();
      process.stdin.destroy();
      socket.destroy();
    }
  });
}

function printRawLine(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, bytesAsHex)}\n`);
}
