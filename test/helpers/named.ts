import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { requireTool } from './debian.js';
import { query, rcodeOf, udpExchange } from './dns.js';
import { freePort, Proc } from './processes.js';

/**
 * BIND 9's named on a loopback port, for the tests and benches that compare
 * b10 with it or transfer zones to and from it: the one way this project
 * starts named.
 *
 * The configuration keeps named's defaults (minimal-responses, rrset-order,
 * EDNS sizes...) so that what b10 is compared with is named as shipped; it
 * only sets what running many instances side by side needs: its own
 * directory, pid file and session key file, one loopback port,
 * IPv6 off, no control channel (it would take port 953 in every instance),
 * no recursion (an authoritative server), no NOTIFY unless a zone asks (a
 * test server sends nothing off the machine), and no SO_REUSEPORT on its
 * sockets: with it, the OS may give dig or delv (which set it too, and run
 * as the same user) named's port as their source port, and then packets
 * meant for one reach the other. One worker thread (-n 1) has nothing to
 * balance anyway.
 */

export interface NamedZone {
  /** The zone's name ("example.test"). */
  name: string;
  /** primary (the default) loads `file`; secondary transfers into it (relative names are in named's directory). */
  type?: 'primary' | 'secondary';
  file: string;
  /** More statements for the zone block, each ending in ";" (primaries, also-notify...). */
  statements?: string;
}

export interface NamedOptions {
  zones: NamedZone[];
  /** The port, when it must be known before named starts (from freePort); by default one is picked. */
  port?: number;
  /** More statements for the options block, each ending in ";". */
  options?: string;
  /** Worker threads (-n); 1 unless a bench compares with more. */
  threads?: number;
  /** named's debug level (-d): what it logs at that level comes on stderr too (e.g. 3: which transfer, IXFR or AXFR, it asked). */
  debug?: number;
  /** Statements at the top level of named.conf, before the zones (TSIG key clauses). */
  statements?: string;
  /**
   * Called with stop() once named runs, so that it ends with the test:
   * pass vitest's onTestFinished. Without it the caller stops named.
   */
  stopWith?: (stop: () => Promise<void>) => void;
}

export interface Named {
  proc: Proc;
  port: number;
  /** named's own directory: its configuration, pid file and the secondaries' copies; removed by stop(). */
  dir: string;
  /** SIGTERM, SIGKILL after a grace time, then the directory removed. */
  stop(): Promise<void>;
}

/** How long named has to load its zones and answer for them. */
const READY_MS = 15_000;
/** One SOA query's wait while polling for readiness. */
const POLL_MS = 250;
/** Starts on another port when the one picked was taken meanwhile. */
const PORT_TRIES = 3;

function config(dir: string, port: number, options: NamedOptions): string {
  const zones = options.zones.map(
    (z) => `zone "${z.name}" { type ${z.type ?? 'primary'}; file "${z.file}"; ${z.statements ?? ''} };`,
  );
  return `options {
  directory "${dir}";
  pid-file "${dir}/named.pid";
  session-keyfile "${dir}/session.key";
  listen-on port ${port} { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  notify no;
  reuseport no;
  ${options.options ?? ''}
};
controls { };
${options.statements ?? ''}
${zones.join('\n')}
`;
}

class PortTaken extends Error {
  constructor(port: number) {
    super(`port ${port} is taken`);
  }
}

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];
const AA = 0x0400;

/** named's answer to the zone's SOA: its rcode ("not authoritative" for NOERROR without AA), undefined when none came. */
async function soaRcode(port: number, zone: string): Promise<string | undefined> {
  const reply = await udpExchange(port, query({ name: zone.replace(/\.$/, ''), type: 6 }), POLL_MS);
  if (!reply) return undefined;
  const rcode = rcodeOf(reply);
  if (rcode === 0 && (reply.readUInt16BE(2) & AA) === 0) return 'not authoritative';
  return RCODES[rcode] ?? `rcode ${rcode}`;
}

/** Resolves once every primary zone answers its SOA with authority; a zone named could not load is an error at once. */
async function ready(proc: Proc, port: number, zones: NamedZone[]): Promise<void> {
  await proc.waitForLog((l) => / running$/.test(String(l.msg)), 'named running');
  // A port another named took meanwhile (two picked the same free port): this one runs without its TCP
  // socket, and the other answers its UDP questions. It must not pass for ready.
  if (proc.stderrLines.some((l) => /address in use/i.test(l))) throw new PortTaken(port);
  const deadline = Date.now() + READY_MS;
  for (const zone of zones.filter((z) => (z.type ?? 'primary') === 'primary')) {
    for (;;) {
      if (proc.child.exitCode !== null || proc.child.signalCode !== null) throw new Error(`named exited:\n${proc.stderrLines.join('\n')}`);
      const rcode = await soaRcode(port, zone.name);
      if (rcode === 'NOERROR') break;
      if (rcode !== undefined) {
        const said = proc.stderrLines.filter((l) => l.includes(zone.name)).join('\n');
        throw new Error(`named answers ${rcode} for the SOA of ${zone.name}: the zone did not load\n${said}`);
      }
      if (Date.now() > deadline) throw new Error(`named did not answer for ${zone.name} within ${READY_MS} ms:\n${proc.stderrLines.join('\n')}`);
    }
  }
}

/** named, started on a free loopback port, once it answers for its primary zones. */
export async function startNamed(options: NamedOptions): Promise<Named> {
  const binary = requireTool('named', 'bind9');
  for (let attempt = 1; ; attempt++) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'b10-named-'));
    const port = options.port ?? (await freePort());
    await writeFile(path.join(dir, 'named.conf'), config(dir, port, options));
    // -g: foreground, the log on stderr; -n 1 (unless asked): one worker, the machine is shared.
    const debug = options.debug === undefined ? [] : ['-d', String(options.debug)];
    const proc = new Proc(spawn(binary, ['-g', '-n', String(options.threads ?? 1), ...debug, '-c', path.join(dir, 'named.conf')], { stdio: ['ignore', 'pipe', 'pipe'] }));
    const stop = async (): Promise<void> => {
      await proc.stop(5000);
      await rm(dir, { recursive: true, force: true });
    };
    try {
      await ready(proc, port, options.zones);
    } catch (err) {
      await stop();
      if (err instanceof PortTaken && options.port === undefined && attempt < PORT_TRIES) continue;
      throw err;
    }
    options.stopWith?.(stop);
    return { proc, port, dir, stop };
  }
}
