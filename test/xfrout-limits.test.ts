import { once } from 'node:events';
import { statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import dnsPacket from 'dns-packet';
import { describe, expect, it, onTestFinished } from 'vitest';
import { axfrFrom } from '../src/dns/axfr-client.js';
import { rdataOfText, type ZoneRecord } from '../src/dns/master-file.js';
import { RCODE } from '../src/dns/message.js';
import { ZONE_DB, ZoneStore } from '../src/dns/zone-store.js';
import { ROOT, type LogLine } from './helpers/processes.js';
import { boot, byComponent, type Booted } from './helpers/stack.js';
import { tempDir } from './helpers/tmp.js';

const components = {
  xfrout: { process: 'b10-xfrout', kind: 'dispensable', address: 'Xfrout', priority: 20 },
  auth: { process: 'b10-auth', kind: 'needed', address: 'Auth', priority: 10 },
};
const BIG = 'big.test.';
/** Records of the big zone: about 7 MB on the wire, more than a client's and the server's socket buffers hold. */
const BIG_RECORDS = 60_000;

/** xfrout and auth with `xfrout` as Xfrout's configuration, and the big zone written straight into the store; the DNS port. */
async function stackWithBigZone(xfrout: object = {}): Promise<{ stack: Booted; port: number }> {
  const stack = await boot(components, ['-p', '0'], { Xfrout: xfrout });
  const listening = await stack.boss.waitForLog(byComponent('auth', 'auth listening'), 'auth listening');
  const records: ZoneRecord[] = [
    { name: BIG, ttl: 60, type: 6, rdata: rdataOfText(6, `ns.${BIG} hostmaster.${BIG} 1 3600 900 604800 60`) },
    { name: BIG, ttl: 60, type: 2, rdata: rdataOfText(2, `ns.${BIG}`) },
    { name: `ns.${BIG}`, ttl: 60, type: 1, rdata: rdataOfText(1, '192.0.2.1') },
  ];
  const txt = rdataOfText(16, `"${'x'.repeat(100)}"`);
  for (let i = 0; i < BIG_RECORDS; i++) records.push({ name: `h${i}.${BIG}`, ttl: 60, type: 16, rdata: txt });
  const store = ZoneStore.open(stack.dir);
  store.replaceZone(BIG, records);
  store.close();
  return { stack, port: (listening.endpoints as { port: number }[])[0]!.port };
}

const axfrQuery = (zone: string): Buffer => dnsPacket.streamEncode({ id: 7, type: 'query', questions: [{ name: zone.slice(0, -1), type: 'AXFR' }] });

/** A client that asks for the zone and then reads nothing; ended with the test. */
async function stalledClient(port: number, zone: string): Promise<net.Socket> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  // xfrout resets a connection it cuts with data unread: that is expected here.
  socket.on('error', () => socket.destroy());
  onTestFinished(() => void socket.destroy());
  await once(socket, 'connect');
  socket.pause();
  socket.write(axfrQuery(zone));
  return socket;
}

/** The rcode of the first message of an AXFR of `zone`. */
async function firstRcode(port: number, zone: string): Promise<number> {
  const socket = net.connect({ port, host: '127.0.0.1' }, () => socket.write(axfrQuery(zone)));
  try {
    return await new Promise<number>((resolve, reject) => {
      let got = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        got = Buffer.concat([got, chunk]);
        if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) resolve(got.readUInt16BE(4) & 0xf);
      });
      socket.on('error', reject);
      socket.on('close', () => reject(new Error(`the connection closed before an answer to the AXFR of ${zone}`)));
    });
  } finally {
    socket.destroy();
  }
}

const xfroutLine = (msg: string, more: (l: LogLine) => boolean = () => true) => (l: LogLine) => l.component === 'xfrout' && l.msg === msg && more(l);
const started = (zone: string) => xfroutLine('transfer started', (l) => l.zone === zone);

describe('b10-xfrout: no transfer holds the store or a place for ever', () => {
  it('stalled_client: a client that reads nothing is cut after idle_timeout, and the next transfer is whole', async () => {
    const { stack, port } = await stackWithBigZone({ idle_timeout: 1 });
    const client = await stalledClient(port, BIG);
    await stack.boss.waitForLog(started(BIG), 'transfer started');
    const cut = await stack.boss.waitForLog(xfroutLine('transfer cut: its read of the store ended'), 'transfer cut');
    expect(cut.err).toBe('the client read nothing for 1000 ms');

    // What was sent before the cut arrives, then the end: never the whole zone.
    let received = 0;
    client.on('data', (chunk: Buffer) => (received += chunk.length));
    client.resume();
    await once(client, 'close');
    const whole = await axfrFrom({ address: '127.0.0.1', port }, BIG, 30_000);
    expect(whole).toHaveLength(BIG_RECORDS + 3);
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(BIG_RECORDS * 100);
  });

  it('wal_checkpointed: a zone load while a client stalls a transfer leaves the WAL empty (no read transaction stays open)', async () => {
    const { stack, port } = await stackWithBigZone();
    await stalledClient(port, BIG);
    await stack.boss.waitForLog(started(BIG), 'transfer started');

    const dir = await tempDir();
    const file = path.join(dir, 'medium.zone');
    const lines = ['$TTL 60', '@ SOA ns h 1 2 3 4 5', '@ NS ns', 'ns A 192.0.2.1'];
    for (let i = 0; i < 5000; i++) lines.push(`h${i} TXT "${'y'.repeat(100)}"`);
    await writeFile(file, `${lines.join('\n')}\n`);
    const loaded = await stack.b10('zone', 'load', 'medium.test', file, '-d', stack.dir);
    expect(loaded.code, loaded.stderr).toBe(0);
    expect(statSync(path.join(stack.dir, `${ZONE_DB}-wal`)).size).toBe(0);
  });

  it('max_transfers_out: one transfer past the cap is answered SERVFAIL, as named does; a higher cap applies at once', async () => {
    const { stack, port } = await stackWithBigZone({ max_transfers_out: 1 });
    expect((await stack.b10('zone', 'load', 'auth.test', path.join(ROOT, 'test/fixtures/zones/auth.zone'), '-d', stack.dir)).code).toBe(0);
    await stalledClient(port, BIG);
    await stack.boss.waitForLog(started(BIG), 'transfer started');

    expect(await firstRcode(port, 'auth.test.')).toBe(RCODE.SERVFAIL);
    expect(await stack.boss.waitForLog(xfroutLine('transfer denied: max_transfers_out reached'))).toMatchObject({ zone: 'auth.test.', running: 1 });

    const set = await stack.b10('config', 'set', 'Xfrout/max_transfers_out', '2');
    expect(set.code, set.stderr).toBe(0);
    expect(await firstRcode(port, 'auth.test.')).toBe(RCODE.NOERROR);
  });
});
