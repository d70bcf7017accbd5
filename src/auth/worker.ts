import { Keyring } from '../dns/tsig.js';
import { changesFromBus } from '../dns/zone-changes.js';
import { ZoneStore } from '../dns/zone-store.js';
import { createLogger } from '../log.js';
import { EXIT_FAILURE } from '../options.js';
import { XfrinZones } from '../xfrin/follow.js';
import type { ResponseKind, Verdict } from './rrl.js';
import { AuthServer } from './server.js';
import { loadZone, parentHandOff, parentUpdateRelay, serveStoredZones } from './serving.js';
import {
  errorToWire,
  WORKER_ENV,
  TCP_CLOSED,
  type PrimaryAnswer,
  type PrimaryAsk,
  type PrimaryQuestion,
  type WorkerNotify,
  type WorkerOptions,
  type WorkerReply,
  type WorkerRequest,
  type WorkerSettings,
} from './worker-protocol.js';

/**
 * One of auth's workers (Auth/workers above 1): it answers DNS from the
 * zones in memory, on the sockets it shares with the other workers through
 * the cluster, and does what the primary asks over IPC. It has no bus of its
 * own, and ends with its primary.
 */
const options = JSON.parse(process.env[WORKER_ENV] ?? '{}') as WorkerOptions;
const log = createLogger('auth', { verbose: options.verbose });
const send = (message: WorkerReply | WorkerNotify | PrimaryAsk | { type: 'auth:up' | typeof TCP_CLOSED }): void => {
  if (process.connected) process.send!(message, () => {});
};
const updates = parentUpdateRelay(log);
// The primary logs a zone load once every worker serves it, as one process logs it: here only with -v.
const zoneLog = log.child({}, { level: options.verbose ? 'debug' : 'warn' });
/** The worker proper: async for the Xfrin zones it reads first (a bundle allows no top-level await). */
async function run(): Promise<void> {
  // Xfrin's zones as the primary follows them: a NOTIFY is answered here as a lone auth answers it. The primary
  // is told of each, and logs and passes it as for its own (one log for all the workers); this copy says nothing.
  const xfrinZones = await XfrinZones.load(log.child({}, { level: 'silent' }));
  const server = new AuthServer(
    log,
    { tcpIdleMs: options.tcpIdleMs, maxTcpConnections: options.maxTcpConnections },
    parentHandOff(log),
    (zone, from, key) => {
      send({ type: 'auth:notify', zone, from, key });
      return xfrinZones.answerNotify(zone, from, () => {});
    },
    (packet, query, client) => updates.forward(packet, query, client),
  );

  /** Questions asked of the primary, by id; a retiring worker ends once none is left. */
  const asked = new Map<number, (answer: unknown) => void>();
  let askIds = 0;
  const askPrimary = (question: PrimaryQuestion): Promise<unknown> =>
    new Promise((resolve) => {
      const id = ++askIds;
      asked.set(id, resolve);
      send({ type: 'auth:ask', id, question });
    });
  const sharedRateLimit = (client: string, kind: ResponseKind, name: string, qtype: number): Promise<Verdict> =>
    askPrimary({ what: 'rate', client, kind, name, qtype }) as Promise<Verdict>;
  server.sharedTcpCap = {
    open: () => askPrimary({ what: 'tcp' }) as Promise<boolean>,
    closed: () => send({ type: TCP_CLOSED }),
  };

  // Opened at the first request, not before: the primary forks the workers as it starts and makes a fresh
  // store meanwhile, asking them nothing until it has (two making a fresh store together, one finds it locked).
  let opened: ZoneStore | undefined;
  const openStore = (): ZoneStore => {
    if (opened) return opened;
    try {
      opened = ZoneStore.open(options.dataPath);
      serveStoredZones(server, opened);
      return opened;
    } catch (err) {
      log.fatal(`worker cannot start: ${(err as Error).message}`);
      process.exit(EXIT_FAILURE);
    }
  };

  const answer = async (request: WorkerRequest): Promise<unknown> => {
    const store = openStore();
    switch (request.type) {
      case 'auth:listen':
        return (await server.listen(request.endpoints)).bound;
      case 'auth:loadzone':
        return loadZone(server, store, zoneLog, request.origin, changesFromBus(request.changes));
      case 'auth:stats':
        return server.counters.snapshot();
      case 'auth:zones':
        return server.zoneList();
      case 'auth:sync':
        return undefined;
      case 'auth:retire':
        return retire();
    }
  };

  /** Stops reading (the others read what is left on the shared sockets), then waits for the answers still to send. */
  async function retire(): Promise<void> {
    await server.close();
    while (asked.size > 0 || updates.inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  process.on('message', (message: WorkerRequest | WorkerSettings | PrimaryAnswer) => {
    if (message?.type === 'auth:answer') {
      const resolve = asked.get(message.id);
      asked.delete(message.id);
      resolve?.(message.answer);
      return;
    }
    if (message?.type === 'auth:settings') {
      if (message.rateLimited !== undefined) server.sharedRateLimit = message.rateLimited ? sharedRateLimit : undefined;
      if (message.keys !== undefined) server.keyring = Keyring.fromEntries(message.keys);
      if (message.secondaries !== undefined) xfrinZones.adopt(message.secondaries);
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
      opened?.close();
      process.exit(0);
    });
  };
  // SIGTERM is the primary stopping it; the channel closing is the primary's end, however it ended.
  process.once('SIGTERM', stop);
  process.once('disconnect', stop);
}

void run();
