import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { requireTool } from './debian.js';
import type { DiffQuery } from './dns-diff.js';

const exec = promisify(execFile);

/**
 * The questions worth asking about a zone, from its master file: every
 * (owner, type) it holds, and the cases around them that lookup rules are
 * made of: names that do not exist (beside and below existing ones, below
 * empty non-terminals), names a wildcard stands in for, empty
 * non-terminals, names below a CNAME owner and below a DNAME, names below
 * a delegation, DS at every delegation, ANY, a type with no data at each
 * name, a name in no zone served. BIND reads the file (named-checkzone
 * -D), so $INCLUDE, $GENERATE and escapes are read as named reads them.
 */

export interface ZoneRecordLine {
  owner: string;
  ttl: number;
  type: string;
  rdata: string;
}

/** The zone's records as BIND reads them: absolute owners in presentation form, one record a line. */
export async function zoneRecords(zoneFile: string, origin: string): Promise<ZoneRecordLine[]> {
  const checkzone = requireTool('named-checkzone', 'bind9-utils');
  // Run where the file is: BIND reads $INCLUDE relative to its working directory. -i none: no checks that
  // ask the system's resolver about names (glue below a cut counts as "out of zone" for them).
  const { stdout } = await exec(checkzone, ['-q', '-i', 'none', '-D', '-o', '-', origin, path.basename(zoneFile)], {
    cwd: path.dirname(zoneFile),
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith(';'))
    .map((line) => {
      const [owner, ttl, , type, ...rest] = line.split(/\s+/);
      return { owner: owner!, ttl: Number(ttl), type: type!, rdata: rest.join(' ') };
    });
}

/** The labels of a name in presentation form: split on the dots that are not escaped ("a\\.b.c." has two). */
const labelsOf = (name: string): string[] => name.match(/(?:[^.\\]|\\.)+/g) ?? [];

/** `name` with its first label dropped ("." stays "."). */
export function parentOf(name: string): string {
  const parent = labelsOf(name).slice(1);
  return parent.length === 0 ? '.' : `${parent.join('.')}.`;
}

/** `name` is strictly below `ancestor` (label by label, letters in any case). */
function isBelow(name: string, ancestor: string): boolean {
  const own = labelsOf(name.toLowerCase());
  const above = labelsOf(ancestor.toLowerCase());
  return own.length > above.length && own.slice(own.length - above.length).join('.') === above.join('.');
}

/** Types to ask at a name for "no data of this type": the first of these the name has none of. */
const PROBES = ['A', 'TXT', 'AAAA', 'MX'];

export async function queriesForZone(zoneFile: string, origin: string): Promise<DiffQuery[]> {
  const apex = origin.endsWith('.') ? origin.toLowerCase() : `${origin.toLowerCase()}.`;
  const records = await zoneRecords(zoneFile, apex);
  const types = new Map<string, Set<string>>();
  for (const r of records) {
    if (!types.has(r.owner)) types.set(r.owner, new Set());
    types.get(r.owner)!.add(r.type);
  }
  const owners = [...types.keys()];
  const cuts = owners.filter((o) => o !== apex && types.get(o)!.has('NS'));
  const ents = new Set<string>();
  for (const owner of owners) {
    for (let up = parentOf(owner); isBelow(up, apex); up = parentOf(up)) if (!types.has(up)) ents.add(up);
  }

  const out: DiffQuery[] = [];
  const seen = new Set<string>();
  const add = (name: string, type: string): void => {
    const key = `${name.toLowerCase()} ${type}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ name, type });
  };

  for (const r of records) add(r.owner, r.type);
  for (const [owner, held] of types) {
    add(owner, PROBES.find((t) => !held.has(t)) ?? 'TYPE65280');
    if (held.size > 1 || owner === apex) add(owner, 'ANY');
    if (held.has('CNAME')) add(`below.${owner}`, 'A');
    if (held.has('DNAME')) {
      add(`www.${owner}`, 'A');
      add(`deep.www.${owner}`, 'AAAA');
    }
  }
  for (const cut of cuts) {
    add(cut, 'DS');
    add(`www.${cut}`, 'A');
  }
  for (const ent of ents) {
    add(ent, 'A');
    add(ent, 'ANY');
    add(`nonexistent.${ent}`, 'A');
  }
  for (const wildcard of owners.filter((o) => o.startsWith('*.'))) {
    const parent = wildcard.slice(2);
    for (const type of types.get(wildcard)!) add(`match.${parent}`, type);
    add(`match.${parent}`, PROBES.find((t) => !types.get(wildcard)!.has(t)) ?? 'TYPE65280');
    add(`match.${parent}`, 'ANY');
    add(`deeper.match.${parent}`, 'A');
  }
  add(`nonexistent.${apex}`, 'A');
  add(`nonexistent.${apex}`, 'ANY');
  const leaf = owners.find((o) => o !== apex && !cuts.some((c) => o === c || isBelow(o, c)) && !types.get(o)!.has('DNAME'));
  if (leaf) add(`nonexistent.${leaf}`, 'A');
  add('not-served.invalid.', 'A');
  return out;
}
