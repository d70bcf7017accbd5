import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatRecord, parseMasterFile, ZoneFileError } from '../src/dns/master-file.js';
import { requireTool } from './helpers/debian.js';
import { ROOT } from './helpers/processes.js';
import { tempDir } from './helpers/tmp.js';

const ZONES = path.join(ROOT, 'test/fixtures/zones');

/** A record line with names compared without case: everything outside quoted strings lowercased, blanks folded. */
function normalize(line: string): string {
  let out = '';
  let quoted = false;
  let escaped = false;
  for (const ch of line.replace(/\s+/g, ' ').trim()) {
    if (quoted) {
      out += ch;
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') quoted = false;
    } else {
      if (ch === '"') quoted = true;
      out += ch.toLowerCase();
    }
  }
  return out;
}

/** What BIND 9 makes of the file: named-checkzone -D, run where the file is (BIND reads $INCLUDE from its directory). */
function bindRecords(zone: string, file: string): string[] {
  const checkzone = requireTool('named-checkzone', 'bind9-utils');
  const out = execFileSync(checkzone, ['-k', 'ignore', '-D', '-o', '-', zone, path.basename(file)], { cwd: path.dirname(file), encoding: 'utf8' });
  return out.split('\n').filter((l) => l !== '' && l !== 'OK').map(normalize).sort();
}

function ourRecords(zone: string, file: string): string[] {
  return parseMasterFile(file, zone).map((r) => normalize(formatRecord(r))).sort();
}

async function zoneFile(text: string, name = 'z.zone'): Promise<string> {
  const file = path.join(await tempDir(), name);
  writeFileSync(file, text);
  return file;
}

const HEAD = '$TTL 300\n@ SOA ns hostmaster 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n';

describe('master files against BIND 9', () => {
  for (const [zone, file] of [['example.com', 'basic.zone'], ['nasty.example', 'nasty.zone']] as const) {
    it(`conformance_${file.replace('.zone', '')}: record by record what named-checkzone -D reads`, () => {
      const theirs = bindRecords(zone, path.join(ZONES, file));
      expect(theirs.length).toBeGreaterThan(10);
      expect(ourRecords(zone, path.join(ZONES, file))).toEqual(theirs);
    });
  }
});

describe('master file errors name file and line, and load nothing', () => {
  const cases: [string, string, number, RegExp][] = [
    ['bad_ipv4', `${HEAD}bad A 300.1.1.1\n`, 5, /"300\.1\.1\.1" is not an IPv4 address/],
    ['unknown_type', `${HEAD}x FROB 1\n`, 5, /unknown record type "FROB"/],
    ['unterminated_quote', `${HEAD}t TXT "open\n`, 5, /unterminated quoted string/],
    ['unclosed_paren', `${HEAD}m MX ( 10\n  mail\n`, 5, /"\(" is never closed/],
    ['stray_paren', `${HEAD}a A 192.0.2.2 )\n`, 5, /"\)" without "\("/],
    ['out_of_zone', `${HEAD}www.other.test. A 192.0.2.3\n`, 5, /outside the zone/],
    ['cname_and_other_data', `${HEAD}c A 192.0.2.4\nc CNAME ns\n`, 6, /has a CNAME and other data/],
    ['long_label', `${HEAD}${'l'.repeat(64)} A 192.0.2.5\n`, 5, /longer than 63 bytes/],
    ['long_txt', `${HEAD}t TXT "${'x'.repeat(256)}"\n`, 5, /256 bytes \(at most 255\)/],
    ['bad_generic', `${HEAD}g TYPE65000 \\# 3 0102\n`, 5, /says 3 bytes but gives 2/],
    ['class_ch', `${HEAD}c CH A 192.0.2.6\n`, 5, /only IN is served/],
    ['no_ttl', '@ SOA ns hostmaster 1 2 3 4 5\n@ NS ns\n', 2, /no TTL/],
    ['no_owner', ' A 192.0.2.7\n', 1, /no owner name/],
    ['unknown_directive', `${HEAD}$GENERATE 1-2 x A 192.0.2.8\n`, 5, /unknown directive \$GENERATE/],
    ['missing_include', `${HEAD}$INCLUDE nowhere.zone\n`, 5, /\$INCLUDE .*nowhere\.zone: no such file/],
    ['second_soa', `${HEAD}@ SOA ns2 hostmaster 2 2 3 4 5\n`, 5, /a second SOA/],
  ];
  for (const [name, text, line, why] of cases) {
    it(name, async () => {
      const file = await zoneFile(text);
      const err = (() => {
        try {
          parseMasterFile(file, 'example.org');
        } catch (e) {
          return e;
        }
        return undefined;
      })() as ZoneFileError;
      expect(err).toBeInstanceOf(ZoneFileError);
      expect(err.message).toMatch(why);
      expect(err.message.startsWith(`${file}:${line}: `)).toBe(true);
    });
  }

  it('no_soa_or_ns: a zone needs both at its apex', async () => {
    expect(() => parseMasterFile('x', 'example.org', () => '$TTL 1\n@ NS ns\n')).toThrow(/no SOA record at the zone apex example\.org\./);
    expect(() => parseMasterFile('x', 'example.org', () => '$TTL 1\n@ SOA a b 1 2 3 4 5\n')).toThrow(/no NS records at the zone apex/);
  });

  it('include_loop: refused, not followed forever', async () => {
    const file = await zoneFile(`${HEAD}$INCLUDE z.zone\n`);
    expect(() => parseMasterFile(file, 'example.org')).toThrow(/nested more than 16 deep/);
  });
});

describe('master file details', () => {
  it('ttl_rules: explicit, then $TTL, then the last explicit one; an RRset takes its first TTL; duplicates merge', () => {
    const text = '@ 100 SOA ns h 1 2 3 4 5\n@ NS ns\nns 200 A 192.0.2.1\nns A 192.0.2.2\n$TTL 50\na A 192.0.2.3\na 70 A 192.0.2.4\na A 192.0.2.3\n';
    const records = parseMasterFile('z', 'example.org', () => text);
    const ttl = (name: string, rdata: string) => records.find((r) => r.name === name && formatRecord(r).endsWith(`\t${rdata}`))?.ttl;
    expect(ttl('example.org.', 'ns.example.org.')).toBe(100);
    expect(ttl('ns.example.org.', '192.0.2.2')).toBe(200);
    expect(ttl('a.example.org.', '192.0.2.4')).toBe(50);
    expect(records.filter((r) => r.name === 'a.example.org.').length).toBe(2);
  });
});
