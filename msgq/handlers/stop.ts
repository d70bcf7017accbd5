import { isLoopback } from '../../src/listen.js';
import type { Bus } from '../bus.js';
import type { Client } from '../client.js';

export function handleStop(bus: Bus, client: Client): void {
  if (!bus.options.allowStop) {
    client.log.warn('stop ignored: msgq was not started with --allow-stop');
    return;
  }
  // A Unix socket client has no address: it is on this machine by definition.
  if (client.socket.remoteAddress !== undefined && !isLoopback(client.remoteAddress)) {
    client.log.warn({ address: client.remoteAddress }, 'stop ignored: not from loopback');
    return;
  }
  bus.stop(`stop requested by ${client.lname}`);
}
