import { isIPv4, type ListenOptions, type Server } from 'node:net';

/** `server.listen` as a promise: a failure to listen (EADDRINUSE …) rejects instead of becoming an 'error' event. */
export function listenOn(server: Server, options: ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** A loopback address, as a listener or a peer gives it (IPv4-mapped IPv6 included). */
export function isLoopback(address: string): boolean {
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIPv4(v4)) return v4.startsWith('127.');
  return address === '::1' || address === 'localhost';
}
