import type { Socket } from 'node:net';
import type { Logger } from '../src/log.js';
import { MiB } from '../protocol/limits.js';
import { FrameWriter } from '../protocol/writer.js';

const MAX_HIGH_WATER = 4 * MiB;

/**
 * msgq's one write path to a client. It owns backpressure: a client whose
 * unread bytes pass `maxQueue` is a slow reader and is cut off, so one stuck
 * reader cannot grow msgq's memory without bound. (The original cut a reader
 * that had not drained for 0.1 s; cutting on size spares a busy but healthy one.)
 */
export function createClientWriter(socket: Socket, maxQueue: number, log: Logger, onHighWater: () => void, onCut: () => void = () => {}): FrameWriter {
  return new FrameWriter(socket, {
    maxQueued: maxQueue,
    // Senders are paused well before the reader could be cut (see flow.ts).
    // Never below the socket's own mark: past it a write is sure to end in
    // the 'drain' event that releases them.
    highWater: Math.max(socket.writableHighWaterMark, Math.min(maxQueue > 0 ? maxQueue / 4 : Infinity, MAX_HIGH_WATER)),
    onHighWater,
    onOverflow(queued) {
      log.warn({ queued, maxQueue }, 'slow reader: outgoing queue over the limit, disconnecting');
      socket.destroy();
      onCut();
    },
  });
}
