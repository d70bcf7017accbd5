import { isIPv4, isIPv6 } from 'node:net';
import type { Bus } from '../bus.js';
import type { Client } from '../client.js';

function isLoopback(address: string): boolean {
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIPv4(v4)) return v4.startsWith('127.');
  return isIPv6(address) && address === '::1';
}

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
