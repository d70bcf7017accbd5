import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Session } from '../protocol/session.js';
import { TOKEN_FILE_NAME } from '../protocol/token.js';
import { axfrFrom } from '../src/dns/axfr-client.js';
import { startNamed } from '../test/helpers/named.js';
import { median } from './boss.js';
import { benchStack, storeZoneFile } from './stack.js';

/**
 * Zone transfers of a 100,000-record zone: out of b10's xfrout against
 * named serving the same zone (one client, b10's AXFR client, for both), and
 * into b10's xfrin against a named secondary pulling from the same primary
 * (named's own figure from its log). Same run, same machine.
 */
const RECORDS = 100_000;
const ZONE = 'xfer.test';
const NAMED = '/usr/sbin/named';

/** Transfers out of each, alternating, after b10's first. */
const OUT_ROUNDS = 5;
/** Transfers into xfrin after its first, and named secondaries started afresh, each transferring the zone once. */
const IN_ROUNDS = 5;
const IN_NAMED_ROUNDS = 3;

export interface AxfrFigures {
  /** b10's first transfer of the zone, from the store. */
  outB10FirstMs: number;
  /** Medians of OUT_ROUNDS. */
  outB10Ms: number;
  outNamedMs: number;
  /** Medians of IN_ROUNDS after xfrin's first: from the retransfer command to its answer (the zone stored, and auth serving it). */
  inB10Ms: number;
  /** The same, xfrin's own figure, from its connection to the zone stored: what named's "Transfer completed" counts. */
  inB10StoredMs: number;
  /** xfrin's first transfer after its start (its code not yet compiled for speed). */
  inB10FirstStoredMs: number;
  /** Median of IN_NAMED_ROUNDS. */
  inNamedMs: number;
}

function zoneText(): string {
  const lines = [`$ORIGIN ${ZONE}.`, '$TTL 3600', '@ SOA ns1 hostmaster 1 3600 900 604800 300', '@ NS ns1', 'ns1 A 192.0.2.1'];
  for (let i = 0; lines.length < RECORDS; i++) lines.push(`h${i} A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  return `${lines.join('\n')}\n`;
}

async function timed<T>(work: () => Promise<T>): Promise<[number, T]> {
  const t0 = process.hrtime.bigint();
  const result = await work();
  return [Number(process.hrtime.bigint() - t0) / 1e6, result];
}

export async function benchAxfr(): Promise<AxfrFigures | string> {
  if (!existsSync(NAMED)) return 'named is not installed: apt-get install bind9 (npm run bench installs it with the DNS bench when run as root)';
  const dir = await mkdtemp(path.join(os.tmpdir(), 'b10-axfrbench-'));
  const stops: (() => Promise<void>)[] = [];
  try {
    const zoneFile = await storeZoneFile(dir, ZONE, zoneText());

    const primary = await startNamed({ zones: [{ name: ZONE, file: zoneFile }] });
    stops.push(primary.stop);
    const primaryPort = primary.port;

    const { authPort, msgqPort, boss } = await benchStack(
      dir,
      {
        xfrout: { process: 'b10-xfrout', kind: 'needed', address: 'Xfrout', priority: 20 },
        auth: { process: 'b10-auth', kind: 'needed', address: 'Auth', priority: 10 },
        xfrin: { process: 'b10-xfrin', kind: 'needed', address: 'Xfrin', priority: 5 },
      },
      // No primary configured: the zone is transferred only when asked, from the master the bench names.
      { Xfrin: { zones: [{ name: ZONE, master_addr: '' }] } },
      stops,
    );

    // The first transfer out of b10 reads the store and prepares the messages; named has the zone in
    // memory from its start. Then rounds alternate, and the medians are compared.
    const out = async (port: number): Promise<[number, number]> => {
      const [ms, records] = await timed(() => axfrFrom({ address: '127.0.0.1', port }, `${ZONE}.`, 60_000));
      return [ms, records.length];
    };
    const [outB10FirstMs, ours] = await out(authPort);
    const b10Rounds: number[] = [];
    const namedRounds: number[] = [];
    for (let round = 0; round < OUT_ROUNDS; round++) {
      const [b10Ms] = await out(authPort);
      const [namedMs, theirs] = await out(primaryPort);
      if (ours !== theirs) throw new Error(`b10 sent ${ours} records, named ${theirs}`);
      b10Rounds.push(b10Ms);
      namedRounds.push(namedMs);
    }
    const outB10Ms = median(b10Rounds);
    const outNamedMs = median(namedRounds);

    const session = await Session.connect({ port: msgqPort, tokenFile: path.join(dir, TOKEN_FILE_NAME), timeout: 120_000 });
    const storedMs: number[] = [];
    const commandMs: number[] = [];
    for (let round = 0; round <= IN_ROUNDS; round++) {
      const [ms] = await timed(() => session.command('Xfrin', 'retransfer', { zone_name: ZONE, master: '127.0.0.1', port: primaryPort }));
      const stored = boss.logs.findLast((l) => l.component === 'xfrin' && l.msg === 'zone transferred' && l.transfer === 'AXFR');
      storedMs.push(Number(stored?.ms));
      commandMs.push(ms);
    }
    await session.close();
    const inB10FirstStoredMs = storedMs[0]!;
    const inB10StoredMs = median(storedMs.slice(1));
    const inB10Ms = median(commandMs.slice(1));

    const namedMs: number[] = [];
    for (let round = 0; round < IN_NAMED_ROUNDS; round++) {
      const secondary = await startNamed({
        zones: [{ name: ZONE, type: 'secondary', file: 'secondary.db', statements: `primaries { 127.0.0.1 port ${primaryPort}; };` }],
      });
      try {
        const done = await secondary.proc.waitForLog((l) => /Transfer completed: .* ([\d.]+) secs/.test(String(l.msg)), 'named secondary transferred');
        namedMs.push(Number(/([\d.]+) secs/.exec(String(done.msg))![1]) * 1000);
      } finally {
        await secondary.stop();
      }
    }
    const inNamedMs = median(namedMs);
    return { outB10FirstMs, outB10Ms, outNamedMs, inB10Ms, inB10StoredMs, inB10FirstStoredMs, inNamedMs };
  } finally {
    for (const stop of stops.reverse()) await stop();
    await rm(dir, { recursive: true, force: true });
  }
}
