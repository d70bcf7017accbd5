import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { requireTool } from './debian.js';
import type { DnsServer } from './dns-diff.js';
import { tempDir } from './tmp.js';

const exec = promisify(execFile);

/**
 * DNSSEC-signed zones for the tests, made with BIND's own tools as an
 * operator makes them (dnssec-keygen, dnssec-signzone), and a validator's
 * verdict on answers (delv), so that b10's DNSSEC answers can be checked
 * against named's and against a validator.
 */

export interface SignOptions {
  /** NSEC3 (no salt, 0 extra iterations: RFC 9276) instead of NSEC. */
  nsec3?: boolean;
  /** NSEC3 opt-out: insecure delegations get no NSEC3 of their own. */
  optOut?: boolean;
  /** Where the keys and the signed zone go; a directory removed when the test ends if not given. */
  dir?: string;
}

export interface SignedZone {
  /** The signed zone, one file (any $INCLUDE read in), absolute path. */
  signedFile: string;
  /** The KSK's DNSKEY record, as its .key file has it. */
  ksk: string;
  /** A file of trust-anchors for the KSK, for delv -a. */
  anchorFile: string;
  dir: string;
}

/**
 * The zone's records with their owner names in lowercase. dnssec-signzone
 * writes NSEC3 owner names (base32hex hashes) in uppercase; b10 stores owner
 * names in lowercase (docs/dns.md, "Master files") where named keeps the
 * case written, a difference of case only that these tests do not look at,
 * as every other fixture is written in lowercase. The signatures do not
 * change: they are made over the lowercase (canonical) owner name (RFC 4034
 * 6.2), and a validator checks them so.
 */
function lowercaseOwners(fullFormat: string): string {
  return fullFormat.replace(/^[^;\s]\S*/gm, (owner) => owner.toLowerCase());
}

/** ECDSA P-256: a key in milliseconds and the algorithm most signed zones use. */
const ALGORITHM = 'ECDSAP256SHA256';

/**
 * Signs `zoneFile` for `origin` with a fresh KSK and ZSK. The zone file is
 * read from its own directory, as its $INCLUDEs expect.
 */
export async function signZone(zoneFile: string, origin: string, options: SignOptions = {}): Promise<SignedZone> {
  const keygen = requireTool('dnssec-keygen', 'bind9-utils');
  const signzone = requireTool('dnssec-signzone', 'bind9-utils');
  const dir = options.dir ?? (await tempDir());
  const zone = origin.endsWith('.') ? origin : `${origin}.`;
  const ksk = (await exec(keygen, ['-q', '-K', dir, '-a', ALGORITHM, '-f', 'KSK', zone])).stdout.trim();
  await exec(keygen, ['-q', '-K', dir, '-a', ALGORITHM, zone]);
  const signedFile = path.join(dir, `${zone}signed`);
  const nsec3 = options.nsec3 || options.optOut ? ['-3', '-', '-H', '0', ...(options.optOut ? ['-A'] : [])] : [];
  // -S: the keys in -K's directory go into the zone and sign it; -O full: one record a line, owner names in full.
  await exec(signzone, ['-q', '-S', '-K', dir, '-d', dir, '-o', zone, '-f', signedFile, '-O', 'full', ...nsec3, path.basename(zoneFile)], {
    cwd: path.dirname(zoneFile),
  });
  await writeFile(signedFile, lowercaseOwners(await readFile(signedFile, 'utf8')));
  const dnskey = (await readFile(path.join(dir, `${ksk}.key`), 'utf8')).split('\n').find((l) => /\sDNSKEY\s/.test(l))!;
  const [flags, protocol, algorithm, ...key] = dnskey.split(/\s+/).slice(dnskey.split(/\s+/).indexOf('DNSKEY') + 1);
  const anchorFile = path.join(dir, 'trust-anchors.conf');
  await writeFile(anchorFile, `trust-anchors { "${zone}" static-key ${flags} ${protocol} ${algorithm} "${key.join('')}"; };\n`);
  return { signedFile, ksk: dnskey, anchorFile, dir };
}

export interface Validation {
  /** delv said "; fully validated" (a positive answer) or "; negative response, fully validated". */
  validated: boolean;
  /** All delv printed, for the failure message. */
  output: string;
}

/**
 * What a validating resolver makes of `server`'s answer to `name`/`type`,
 * with `anchorFile` (SignedZone.anchorFile) as the only trust anchor and
 * `zone` (the signed zone's name) where validation starts: delv asks
 * `server` every question, root included, and checks the chain from there.
 */
export async function delvValidates(server: DnsServer, zone: string, name: string, type: string, anchorFile: string): Promise<Validation> {
  const delv = requireTool('delv', 'bind9-dnsutils');
  const args = [`@${server.address ?? '127.0.0.1'}`, '-p', String(server.port), '-a', anchorFile, `+root=${zone}`, name, type];
  const { stdout, stderr } = await exec(delv, args, { timeout: 20_000 }).catch((err: { stdout?: string; stderr?: string }) => ({
    stdout: err.stdout ?? '',
    stderr: err.stderr ?? String(err),
  }));
  const output = `${stdout}${stderr}`;
  return { validated: /^; (negative response, )?fully validated$/m.test(output), output };
}
