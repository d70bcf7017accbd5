import { Keyring } from '../dns/tsig.js';
import { changesFromBus } from '../dns/zone-changes.js';
import { ZoneStore } from '../dns/zone-store.js';
import { createLogger } from '../log.js';
import { EXIT_FAILURE } from '../options.js';
import { rateLimitFrom, shareOf, type RateLimitItems } from './rrl.js';
import { AuthServer } from './server.js';
import { loadZone, parentHandOff, parentUpdateRelay, serveStoredZones } from './serving.js';
import { errorToWire, WORKER_ENV, type WorkerNotify, type WorkerOptions, type WorkerReply, type WorkerRequest, type WorkerSettings } from './worker-protocol.js';

/**
 * One of auth's workers (Auth/workers above 1): it answers DNS from the
 * zones in memory, on the sockets it shares with the other workers through
 * the cluster, and does what the primary asks over IPC. It has no bus of its
 * own, and ends with its primary.
 */
const options = JSON.parse(process.env[WORKER_ENV] ?? '{}') as WorkerOptions;
const log = createLogger('auth', { verbose: options.verbose });
const send = (message: WorkerReply | WorkerNotify | { type: 'auth:up' }): void => {
  if (process.connected) process.send!(message, () => {});
};
const updates = parentUpdateRelay(log);
const server = new AuthServer(
  log,
  { tcpIdleMs: options.tcpIdleMs, maxTcpConnections: options.maxTcpConnections },
  parentHandOff(log),
  // Xfrin's zones are the primary's to know: a NOTIFY is answered as for any zone, and passed on.
  (zone, from, key) => {
    send({ type: 'auth:notify', zone, from, key });
    return undefined;
  },
  (packet, query, client) => updates.forward(packet, query, client),
);
let store: ZoneStore;
try {
  store = ZoneStore.open(options.dataPath);
  serveStoredZones(server, store);
} catch (err) {
  log.fatal(`worker cannot start: ${(err as Error).message}`);
  process.exit(EXIT_FAILURE);
}

const answer = async (request: WorkerRequest): Promise<unknown> => {
  switch (request.type) {
    case 'auth:listen':
      return (await server.listen(request.endpoints)).bound;
    case 'auth:loadzone':
      return loadZone(server, store, log, request.origin, changesFromBus(request.changes));
    case 'auth:stats':
      return server.counters.snapshot();
    case 'auth:zones':
      return server.zoneList();
  }
};

process.on('message', (message: WorkerRequest | WorkerSettings) => {
  if (message?.type === 'auth:settings') {
    if (message.rateLimit !== undefined) server.setRateLimit(shareOf(rateLimitFrom(message.rateLimit as RateLimitItems), options.workers));
    if (message.keys !== undefined) server.keyring = Keyring.fromEntries(message.keys);
    return;
  }
  if (typeof message?.type !== 'string' || !message.type.startsWith('auth:')) return;
  answer(message).then(
    (result) => send({ type: 'auth:reply', seq: message.seq, result }),
    (err: unknown) => send({ type: 'auth:reply', seq: message.seq, error: errorToWire(err) }),
  );
});

send({ type: 'auth:up' });

const stop = (): void => {
  updates.close();
  void server.close().then(() => {
    store.close();
    process.exit(0);
  });
};
// SIGTERM is the primary stopping it; the channel closing is the primary's end, however it ended.
process.once('SIGTERM', stop);
process.once('disconnect', stop);
