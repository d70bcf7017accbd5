import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { formatKeyEntry, TsigClient, type TsigKey } from '../src/dns/tsig.js';
import { startNamed } from '../test/helpers/named.js';
import { encodeUpdate, tcpSender, udpSender, type UpdateSender } from '../test/helpers/update-client.js';
import { median } from './boss.js';
import { benchStack, storeZoneFile } from './stack.js';

/**
 * Dynamic updates per second, b10 (auth handing each UPDATE to ddns) against
 * named (`allow-update { key upd-key; }`) on the same zone, same run: one
 * client sends single-record updates (a distinct A record each), each signed
 * with the TSIG key as nsupdate -y signs it, one at a time, each waiting for
 * its NOERROR (and checking its signature). Rounds alternate between the two.
 */
const ZONE = 'dyn.bench';
const HOSTS = 1000;
const WARMUP = 200;
/** Updates each server takes in the measured rounds, by transport: 10,000 over UDP. */
const ROUNDS = { udp: { rounds: 5, each: 2000 }, tcp: { rounds: 3, each: 1000 } } as const;
const KEY: TsigKey = { name: 'upd-key.', algorithm: 'hmac-sha256', secret: randomBytes(32) };
const NAMED = '/usr/sbin/named';

export interface DdnsFigures {
  udp: { b10: number; named: number };
  tcp: { b10: number; named: number };
}

function zoneText(): string {
  const lines = [`$ORIGIN ${ZONE}.`, '$TTL 3600', '@ SOA ns1 hostmaster 1 3600 900 604800 300', '@ NS ns1', 'ns1 A 192.0.2.1'];
  for (let i = 0; i < HOSTS; i++) lines.push(`h${i} A 10.0.${(i >> 8) & 255}.${i & 255}`);
  return `${lines.join('\n')}\n`;
}

/** Sends `count` updates from number `first` on; updates per second. Throws on any answer but NOERROR. */
async function round(sender: UpdateSender, first: number, count: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = first; i < first + count; i++) {
    const rdata = Buffer.from([10, 1 + (i >> 16), (i >> 8) & 255, i & 255]);
    const tsig = new TsigClient(KEY);
    const rcode = await sender.send(tsig.sign(encodeUpdate(i & 0xffff, ZONE, [], [{ name: `u${i}.${ZONE}`, type: 1, ttl: 300, rdata }])), (answer) => tsig.verify(answer));
    if (rcode !== 0) throw new Error(`update ${i} answered ${rcode === undefined ? 'nothing' : `rcode ${rcode}`}`);
  }
  return count / (Number(process.hrtime.bigint() - t0) / 1e9);
}

export async function benchDdns(): Promise<DdnsFigures | string> {
  if (!existsSync(NAMED)) return 'named is not installed: apt-get install bind9 (npm run bench installs it with the DNS bench when run as root)';
  const dir = await mkdtemp(path.join(os.tmpdir(), 'b10-ddnsbench-'));
  const stops: (() => Promise<void>)[] = [];
  try {
    const zoneFile = await storeZoneFile(dir, ZONE, zoneText());
    const named = await startNamed({
      statements: `key "${KEY.name}" { algorithm ${KEY.algorithm}; secret "${KEY.secret.toString('base64')}"; };`,
      zones: [{ name: ZONE, file: zoneFile, statements: `allow-update { key "${KEY.name}"; };` }],
    });
    stops.push(named.stop);

    const { authPort, boss } = await benchStack(
      dir,
      {
        ddns: { process: 'b10-ddns', kind: 'needed', address: 'DDNS', priority: 15 },
        auth: { process: 'b10-auth', kind: 'needed', address: 'Auth', priority: 10 },
      },
      {
        tsig_keys: { keys: [formatKeyEntry(KEY)] },
        DDNS: { zones: [{ origin: ZONE, update_acl: [{ action: 'ACCEPT', key: KEY.name }] }] },
      },
      stops,
    );
    await boss.waitForLog((l) => l.component === 'ddns' && l.msg === 'TSIG keyring loaded', 'ddns has the key');

    const figures: DdnsFigures = { udp: { b10: 0, named: 0 }, tcp: { b10: 0, named: 0 } };
    let next = 0;
    for (const transport of ['udp', 'tcp'] as const) {
      const open = transport === 'udp' ? udpSender : tcpSender;
      const b10 = await open(authPort);
      const theirs = await open(named.port);
      try {
        await round(b10, next, WARMUP);
        await round(theirs, next, WARMUP);
        next += WARMUP;
        const rates = { b10: [] as number[], named: [] as number[] };
        const { rounds, each } = ROUNDS[transport];
        for (let r = 0; r < rounds; r++) {
          rates.b10.push(await round(b10, next, each));
          rates.named.push(await round(theirs, next, each));
          next += each;
          if (process.env.B10_BENCH_DEBUG) process.stderr.write(`ddns ${transport} round ${r}: b10 ${rates.b10.at(-1)!.toFixed(0)}/s, named ${rates.named.at(-1)!.toFixed(0)}/s\n`);
        }
        figures[transport] = { b10: median(rates.b10), named: median(rates.named) };
      } finally {
        b10.close();
        theirs.close();
      }
    }
    return figures;
  } finally {
    for (const stop of stops.reverse()) await stop();
    await rm(dir, { recursive: true, force: true });
  }
}
