import type { ListenOptions, Server } from 'node:net';

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
