import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { lengthPrefixed } from '../src/dns/message.js';
import { requireTool } from './helpers/debian.js';
import { query, startAuth, tcpConnect, trickle, type Trickler } from './helpers/dns.js';

const exec = promisify(execFile);

const TRICKLERS = 100;
const IDLE_MS = 1500;
/** How long the attack runs while dig asks. */
const ATTACK_MS = 6000;
/** Queries the never-reading client sends on each connection: a TCP answer of big.auth.test is ~2.7 KB each. */
const PIPELINED_BYTES = 8 * 1024 * 1024;

function rssMb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
}

/** A client that pipelines queries for a large answer and never reads one; again on a new connection once auth closes it. */
function pipelineWithoutReading(port: number, until: () => boolean): { closedByAuth: () => number; done: Promise<void> } {
  const queries = Buffer.concat(Array.from({ length: 1000 }, (_, i) => lengthPrefixed(query({ id: i, name: 'big.auth.test', type: 16 }))));
  let closed = 0;
  const once = async (): Promise<void> => {
    const socket: net.Socket = await tcpConnect(port);
    socket.on('error', () => {});
    const gone = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    let sent = 0;
    let open = true;
    void gone.then(() => (open = false));
    // Written as fast as auth takes them; never a 'data' listener, so nothing is read.
    while (open && sent < PIPELINED_BYTES && until()) {
      sent += queries.length;
      if (!socket.write(queries)) await Promise.race([new Promise((resolve) => socket.once('drain', resolve)), gone]);
    }
    if (!until()) {
      socket.destroy();
      return;
    }
    await gone;
    closed++;
  };
  const done = (async (): Promise<void> => {
    while (until()) await once();
  })();
  return { closedByAuth: () => closed, done };
}

describe('b10-auth under a TCP attack', () => {
  it(
    'tcp_slots_and_memory_under_attack: 100 tricklers and a client that never reads; dig over UDP and TCP still answered, RSS bounded',
    { timeout: 30_000 },
    async () => {
      const dig = requireTool('dig', 'dnsutils');
      // Room for every attacker and dig, so dig is never turned away: checked is that auth closes every attacker, keeps answering, and keeps its memory.
      const handle = await startAuth({ args: ['--tcp-idle-timeout', String(IDLE_MS), '--tcp-max-connections', String(TRICKLERS + 10)] });
      onTestFinished(() => handle.stop());
      const { port, auth } = handle;

      let attacking = true;
      const trickled = lengthPrefixed(query({ name: 'www.auth.test' }));
      const closedTricklers = new Set<number>();
      const live = new Set<Trickler>();
      // Each trickler sends a byte every 250 ms, and connects again once auth closes it.
      const trickleOn = async (n: number): Promise<void> => {
        while (attacking) {
          const t = await trickle(port, trickled, 250);
          live.add(t);
          await t.closed;
          live.delete(t);
          if (attacking) closedTricklers.add(n);
        }
      };
      const tricklers = Array.from({ length: TRICKLERS }, (_, n) => trickleOn(n));
      const pipeliner = pipelineWithoutReading(port, () => attacking);
      onTestFinished(() => {
        attacking = false;
        live.forEach((t) => t.stop());
      });

      let maxRss = 0;
      const answers: string[] = [];
      const end = Date.now() + ATTACK_MS;
      while (Date.now() < end) {
        for (const over of ['+notcp', '+tcp']) {
          const { stdout } = await exec(dig, ['@127.0.0.1', '-p', String(port), over, '+short', '+tries=1', '+time=2', 'www.auth.test', 'A']);
          answers.push(stdout.trim());
          maxRss = Math.max(maxRss, rssMb(auth.pid));
        }
        await sleep(100);
      }
      attacking = false;
      live.forEach((t) => t.stop());
      await Promise.all([...tricklers, pipeliner.done]);

      expect(answers.length).toBeGreaterThan(4);
      expect(answers.filter((a) => a !== '192.0.2.10')).toEqual([]);
      expect(maxRss).toBeLessThan(300);
      // Every trickler was closed by auth at least once, and so was the client that never reads.
      expect(closedTricklers.size).toBe(TRICKLERS);
      expect(pipeliner.closedByAuth()).toBeGreaterThan(0);
    },
  );
});
