import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMsgq, type MsgqHandle } from './helpers/processes.js';
import { frame, RawClient } from './helpers/raw.js';

const MAX_QUEUE = 1024 * 1024;
const BODY = 64 * 1024;
const MESSAGES = 2048; // 128 MiB through msgq, 128 times the queue limit

function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match![1]) * 1024;
}

let msgq: MsgqHandle;
beforeAll(async () => {
  msgq = await startMsgq(['--max-queue', String(MAX_QUEUE)]);
});
afterAll(() => msgq.stop());

describe('slow reader', () => {
  it('reader_never_reads: disconnected past the queue limit, msgq memory stays bounded', async () => {
    const watcher = await RawClient.open(msgq.port);
    const stuck = await RawClient.open(msgq.port);
    const healthy = await RawClient.open(msgq.port);
    const sender = await RawClient.open(msgq.port);
    try {
      await stuck.subscribe('Flood');
      await healthy.subscribe('Flood');
      await watcher.subscribe('cc_members');
      await watcher.next(); // its own subscription
      stuck.socket.pause();
      const rssBefore = rssBytes(msgq.proc.pid);

      // The healthy reader keeps a few messages in flight, well under the
      // limit, so only the stuck one can pass it.
      const WINDOW = 4;
      let received = 0;
      const body = Buffer.alloc(BODY, 0x61).toString();
      for (let i = 0; i < MESSAGES; i++) {
        if (i - received >= WINDOW) {
          await healthy.next(10_000);
          received++;
        }
        const ok = sender.socket.write(
          frame({ type: 'send', from: sender.lname, to: '*', group: 'Flood', instance: '*', seq: i }, body),
        );
        if (!ok) await once(sender.socket, 'drain');
      }
      for (; received < MESSAGES; received++) await healthy.next(10_000);

      // Announced to the bus and logged: the stuck reader was cut.
      let event: unknown;
      do event = (await watcher.next()).body;
      while (JSON.stringify(event) !== JSON.stringify({ notification: ['disconnected', { client: stuck.lname }] }));
      const line = await msgq.proc.waitForLog((l) => String(l.msg).startsWith('slow reader'));
      expect(line.client).toBe(stuck.lname);
      expect(received).toBe(MESSAGES);

      const growth = rssBytes(msgq.proc.pid) - rssBefore;
      // Without the cut msgq would hold all 128 MiB for the stuck reader.
      expect(growth).toBeLessThan(48 * 1024 * 1024);
    } finally {
      for (const c of [watcher, stuck, healthy, sender]) c.close();
    }
  });
});
