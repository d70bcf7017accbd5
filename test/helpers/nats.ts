import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { requireTool } from './debian.js';
import { freePort, Proc } from './processes.js';

/** How often the cluster's route count is read while it forms, ms. */
const ROUTES_POLL_MS = 50;
const ROUTES_WAIT_MS = 10_000;

export interface NatsNode {
  proc: Proc;
  /** nats://127.0.0.1:<client port> */
  url: string;
  /** The client address as NATS clients report it: 127.0.0.1:<port>. */
  address: string;
}

export interface NatsCluster {
  nodes: NatsNode[];
  urls: string[];
  /** Stops every node still running. */
  stop(): Promise<void>;
}

async function routes(monitorPort: number): Promise<number> {
  try {
    const answer = await fetch(`http://127.0.0.1:${monitorPort}/routez`);
    return ((await answer.json()) as { num_routes?: number }).num_routes ?? 0;
  } catch {
    return 0;
  }
}

/**
 * A NATS cluster of `size` nodes on loopback (Debian's nats-server, each
 * routed to all others), resolved once every node is ready and has a route
 * to every other one (`extraArgs` for each node: TLS, say). `register` is given the cluster's stop at once, so the
 * caller's cleanup stops the nodes even when forming the cluster fails.
 */
export async function startNatsCluster(size: number, register: (stop: () => Promise<void>) => void, extraArgs: string[] = []): Promise<NatsCluster> {
  const binary = requireTool('nats-server', 'nats-server');
  const ports = await Promise.all(Array.from({ length: size }, async () => ({ client: await freePort(), cluster: await freePort(), monitor: await freePort() })));
  const nodes: NatsNode[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.proc.stop()));
  };
  register(stop);
  for (const [i, p] of ports.entries()) {
    const args = ['-a', '127.0.0.1', '-p', String(p.client), '-m', String(p.monitor), '-n', `b10test-${i + 1}`, ...extraArgs];
    if (size > 1) {
      const others = ports.filter((o) => o !== p).map((o) => `nats://127.0.0.1:${o.cluster}`);
      args.push('--cluster_name', 'b10test', '--cluster', `nats://127.0.0.1:${p.cluster}`, '--routes', others.join(','));
    }
    const proc = new Proc(spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    nodes.push({ proc, url: `nats://127.0.0.1:${p.client}`, address: `127.0.0.1:${p.client}` });
  }
  await Promise.all(nodes.map((n) => n.proc.waitForLog((l) => String(l.msg).includes('Server is ready'), 'nats-server ready')));
  // Readiness is the routes being up: each node must see every other before a subscription made on one is known to all.
  const deadline = Date.now() + ROUTES_WAIT_MS;
  for (const p of ports) {
    while ((await routes(p.monitor)) < size - 1) {
      if (Date.now() > deadline) throw new Error(`the NATS cluster did not form within ${ROUTES_WAIT_MS} ms`);
      await sleep(ROUTES_POLL_MS);
    }
  }
  return { nodes, urls: nodes.map((n) => n.url), stop };
}
