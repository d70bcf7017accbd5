import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
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
      // First its senders were held back, for the stall grace only.
      const gaveUp = await msgq.proc.waitForLog((l) => String(l.msg).includes('not drained within the stall grace'));
      expect(gaveUp.client).toBe(stuck.lname);

      const growth = rssBytes(msgq.proc.pid) - rssBefore;
      // Without the cut msgq would hold all 128 MiB for the stuck reader.
      expect(growth).toBeLessThan(48 * 1024 * 1024);
    } finally {
      for (const c of [watcher, stuck, healthy, sender]) c.close();
    }
  });

  /**
   * A reader that takes breaks (a GC pause, a long handler) while a producer
   * sends 16 times the queue limit as fast as it can.
   */
  async function readerTakingBreaks(port: number): Promise<{ reader: RawClient; received: number; cut: Promise<void> }> {
    const reader = await RawClient.open(port);
    const sender = await RawClient.open(port);
    await reader.subscribe('Bursty');
    const total = (16 * MAX_QUEUE) / BODY;
    const body = Buffer.alloc(BODY, 0x62).toString();
    void (async () => {
      for (let i = 0; i < total && !sender.socket.destroyed; i++) {
        const ok = sender.socket.write(
          frame({ type: 'send', from: sender.lname, to: '*', group: 'Bursty', instance: '*', seq: i }, body),
        );
        if (!ok) await once(sender.socket, 'drain');
      }
    })();
    let received = 0;
    try {
      for (; received < total; received++) {
        await reader.next(5000);
        if (received % 32 === 31) {
          reader.socket.pause();
          await sleep(30);
          reader.socket.resume();
        }
      }
    } catch {
      // Cut off: the caller checks how far it got.
    } finally {
      sender.close();
    }
    return { reader, received, cut: reader.closed };
  }

  it('reader_taking_breaks: senders are held back instead, it gets every message', async () => {
    const { reader, received } = await readerTakingBreaks(msgq.port);
    reader.close();
    expect(received).toBe((16 * MAX_QUEUE) / BODY);
    const about = (text: string): boolean =>
      msgq.proc.logs.some((l) => String(l.msg).includes(text) && l.client === reader.lname);
    expect(about('slow reader')).toBe(false);
    expect(about('stall grace')).toBe(false);
  });

  it('reader_taking_breaks_without_grace: --stall-grace 0 leaves only the queue limit, and it is cut', async () => {
    const strict = await startMsgq(['--max-queue', String(MAX_QUEUE), '--stall-grace', '0']);
    try {
      const { reader, received, cut } = await readerTakingBreaks(strict.port);
      await cut;
      expect(received).toBeLessThan((16 * MAX_QUEUE) / BODY);
      const line = await strict.proc.waitForLog((l) => String(l.msg).startsWith('slow reader'));
      expect(line.client).toBe(reader.lname);
    } finally {
      await strict.stop();
    }
  });
});
