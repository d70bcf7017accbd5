import type net from 'node:net';

export interface ConnectionCaps {
  /** Connections open at once, all addresses together. */
  total: number;
  /** Connections open at once from one address (every local client is 127.0.0.1). */
  perAddress: number;
}

/** Open connections, in all and per address; one past either cap is not counted and is to be closed. */
export class ConnectionCounter {
  private total = 0;
  private readonly byAddress = new Map<string, number>();

  constructor(private readonly caps: ConnectionCaps) {}

  /** Counts a new connection from `address`; false, and nothing counted, when a cap is reached. */
  take(address: string): boolean {
    const mine = this.byAddress.get(address) ?? 0;
    if (this.total >= this.caps.total || mine >= this.caps.perAddress) return false;
    this.total++;
    this.byAddress.set(address, mine + 1);
    return true;
  }

  release(address: string): void {
    this.total--;
    const left = (this.byAddress.get(address) ?? 1) - 1;
    if (left > 0) this.byAddress.set(address, left);
    else this.byAddress.delete(address);
  }
}

/**
 * Closes at once each connection to `server` past the counter's caps,
 * before it is read; the others are counted until they close, WebSockets
 * included. One counter may serve several servers (a port being moved).
 */
export function capConnections(server: net.Server, counter: ConnectionCounter, refused: (address: string) => void): void {
  server.on('connection', (socket: net.Socket) => {
    const address = socket.remoteAddress ?? '';
    if (!counter.take(address)) {
      socket.destroy();
      refused(address);
      return;
    }
    socket.once('close', () => counter.release(address));
  });
}
