import type { Socket } from 'node:net';
import type { Logger } from '../src/log.js';
import { FrameWriter } from '../protocol/writer.js';

/**
 * msgq's one write path to a client. It owns backpressure: a client whose
 * unread bytes pass `maxQueue` is a slow reader and is cut off, so one stuck
 * reader cannot grow msgq's memory without bound. (The original cut a reader
 * that had not drained for 0.1 s; cutting on size spares a busy but healthy one.)
 */
export function createClientWriter(socket: Socket, maxQueue: number, log: Logger): FrameWriter {
  return new FrameWriter(socket, {
    maxQueued: maxQueue,
    onOverflow(queued) {
      log.warn({ queued, maxQueue }, 'slow reader: outgoing queue over the limit, disconnecting');
      socket.destroy();
    },
  });
}
