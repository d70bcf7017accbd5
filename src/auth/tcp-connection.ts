import type net from 'node:net';
import { lengthPrefixed } from '../dns/message.js';
import { TcpFrames } from '../dns/tcp-frames.js';

/**
 * One DNS-over-TCP connection (RFC 7766): 2-byte length, then the message,
 * many per connection, answered in order. What a client can hold with it is
 * bounded: a slot, for the idle timeout from its accept or its last
 * complete query (bytes that complete nothing do not count), and memory, a
 * window of answers it has not taken.
 */

/**
 * Answers written and not yet taken by the client, in bytes, past which no
 * more of its queries are read: the next are answered once these drain. A
 * client that never reads is closed by the idle timeout, no query completing
 * meanwhile.
 */
export const MAX_UNSENT_ANSWERS = 64 * 1024;

/**
 * What becomes of one query: its answer, none, its answer later (an update
 * ddns answers: the connection reads nothing more until it comes), or the
 * connection is someone else's from here (a transfer).
 */
export type TcpOutcome = Buffer | undefined | Promise<Buffer | undefined> | 'handed-off';

/**
 * Serves `socket` until it closes or `answer` hands it off; `idleMs` as
 * above. A client that sends its queries and closes its side still gets
 * every answer: the stream's 'end' (upon which Node ends our side) comes
 * only once every byte received has been taken, and none is while paused.
 */
export function serveTcpConnection(socket: net.Socket, idleMs: number, answer: (packet: Buffer) => TcpOutcome): void {
  const idle = setTimeout(() => socket.destroy(), idleMs);
  const input = new TcpFrames();
  let waiting = false;

  const work = (): void => {
    while (!waiting && socket.writableLength < MAX_UNSENT_ANSWERS) {
      const packet = input.next();
      if (packet === undefined) break;
      idle.refresh();
      const outcome = answer(packet);
      if (outcome === 'handed-off') {
        // The connection is another process's from here: auth reads no more of it.
        clearTimeout(idle);
        socket.off('data', onData);
        socket.off('drain', onDrain);
        socket.pause();
        return;
      }
      if (outcome instanceof Promise) {
        // Answers go out in the order asked: nothing more is read until this one is written.
        waiting = true;
        socket.pause();
        void outcome.then((response) => {
          waiting = false;
          if (socket.destroyed) return;
          if (response) socket.write(lengthPrefixed(response));
          idle.refresh();
          socket.resume();
          work();
        });
        return;
      }
      if (outcome) socket.write(lengthPrefixed(outcome));
    }
    if (socket.writableLength >= MAX_UNSENT_ANSWERS) socket.pause();
  };
  const onData = (chunk: Buffer): void => {
    input.push(chunk);
    work();
  };
  const onDrain = (): void => {
    if (waiting) return;
    socket.resume();
    work();
  };
  socket.on('data', onData);
  socket.on('drain', onDrain);
  socket.on('error', () => socket.destroy());
  socket.on('close', () => clearTimeout(idle));
}
