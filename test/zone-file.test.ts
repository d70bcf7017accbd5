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
  // -i local: no lookups of names outside the zone (the machine may have no resolver).
  const out = execFileSync(checkzone, ['-k', 'ignore', '-i', 'local', '-D', '-o', '-', zone, path.basename(file)], { cwd: path.dirname(file), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return out.split('\n').filter((l) => l !== '' && l !== 'OK' && !l.startsWith(';')).map(normalize).sort();
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
  for (const [zone, file] of [['example.com', 'basic.zone'], ['nasty.example', 'nasty.zone'], ['every.test', 'every-type.zone']] as const) {
    it(`conformance_${file.replace('.zone', '')}: record by record what named-checkzone -D reads`, () => {
      const theirs = bindRecords(zone, path.join(ZONES, file));
      expect(theirs.length).toBeGreaterThan(10);
      expect(ourRecords(zone, path.join(ZONES, file))).toEqual(theirs);
    });
  }

  it('every_type_read_back: what b10 prints of a zone with every type, read by named-checkzone -D, is the same zone', async () => {
    const original = path.join(ZONES, 'every-type.zone');
    const printed = await zoneFile(`${parseMasterFile(original, 'every.test').map(formatRecord).join('\n')}\n`);
    const theirs = bindRecords('every.test', original);
    expect(new Set(theirs.map((l) => l.split(' ')[3])).size).toBeGreaterThan(80);
    expect(bindRecords('every.test', printed)).toEqual(theirs);
  });
});

describe('what named loads past, and what it refuses', () => {
  it('out_of_zone: left out with a warning naming file and line, the rest loaded', async () => {
    const file = await zoneFile(`${HEAD}www.other.test. A 192.0.2.3
in A 192.0.2.4
`);
    const warnings: string[] = [];
    const records = parseMasterFile(file, 'example.org', undefined, (w) => warnings.push(`${w.file}:${w.line}: ${w.message}`));
    expect(warnings).toEqual([`${file}:5: ignoring out-of-zone data (www.other.test)`]);
    expect(records.map((r) => r.name)).toContain('in.example.org.');
    expect(records.map((r) => r.name)).not.toContain('www.other.test.');
  });

  // Each line is refused by named-checkzone too (checked here): a zone named would not load, b10 does not load.
  const refused: [string, RegExp][] = [
    ['x MD foo', /type 'MD': obsolete/],
    ['x MF foo', /type 'MF': obsolete/],
    ['x OPT \\# 0', /type 'OPT': invalid use of a meta type/],
    ['x TSIG \\# 0', /type 'TSIG': invalid use of a meta type/],
    ['x NULL foo', /NULL data is given only as \\#/],
    ['x A \\# 3 010203', /malformed A data/],
    ['x DNSKEY 256 3 8 AwEAAa', /bad base64/],
    ['x SVCB 1 foo. key3=443', /malformed port value/],
    ['x SVCB 1 foo. alpn=h2 alpn=h3', /alpn given twice/],
    ['x SVCB 1 foo. mandatory=port', /mandatory lists port, which is not given/],
    ['x HTTPS 1 . port=99999', /does not fit in 16 bits/],
    ['x LOC 91 0 0 N 0 E 0m', /LOC angle out of range/],
    ['x A6 129 ::1', /A6 prefix length over 128/],
    ['x APL 1:1.2.3.4/33', /APL prefix \/33 too long/],
    ['x NSEC3PARAM 1 0 10 XYZ', /bad hex/],
    ['x CAA 0 is-sue "x"', /CAA tag "is-sue"/],
    ['x EUI48 00-00-5e-00-53', /not 6 hex pairs/],
    ['x SSHFP 1 1 zz', /bad hex/],
    ['x TXT', /at least one string/],
    ['x WKS 192.0.2.1 tcp nosuchservice', /unknown service "nosuchservice"/],
    ['x MX 10', /missing a domain name/],
    ['x A 1.2.3', /not an IPv4 address/],
    ['x AAAA 1::2::3', /not an IPv6 address/],
    ['x CERT FOO 0 0 AAAA', /type "FOO" is not a number/],
    ['x DS 1 8 2 00', /digest type 2 takes 32 bytes, not 1/],
    ['x ZONEMD 1 1 1 00', /at least 12 bytes/],
    ['x IPSECKEY 10 4 2 . AAAA', /gateway type 4/],
    ['x NID 10 1:2:3', /not four hex groups/],
    ['x DOA 1 2 3 "" x', /bad base64/],
  ];
  for (const [line, why] of refused) {
    it(`refused_like_named: ${line}`, async () => {
      const file = await zoneFile(`${HEAD}${line}\n`);
      expect(() => bindRecords('example.org', file)).toThrow();
      expect(() => parseMasterFile(file, 'example.org')).toThrow(why);
      expect(() => parseMasterFile(file, 'example.org')).toThrow(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5: `));
    });
  }
});

it('cname_beside_dnssec: a CNAME may stand with its RRSIG, NSEC, SIG and KEY, as named lets it (a signed zone has them)', async () => {
  const file = await zoneFile(
    `${HEAD}x CNAME ns\nx RRSIG CNAME 8 3 300 20300101000000 20240101000000 12345 example.org. AwEAAcOm\n` +
      'x NSEC ns CNAME RRSIG NSEC\nx KEY 256 3 8 AwEAAcOm\nx SIG A 8 3 300 20300101000000 20240101000000 12345 example.org. AwEAAcOm\n',
  );
  expect(() => bindRecords('example.org', file)).not.toThrow();
  expect(parseMasterFile(file, 'example.org').filter((r) => r.name === 'x.example.org.').map((r) => r.type).sort((a, b) => a - b)).toEqual([5, 24, 25, 46, 47]);
});

describe('master file errors name file and line, and load nothing', () => {
  const cases: [string, string, number, RegExp][] = [
    ['bad_ipv4', `${HEAD}bad A 300.1.1.1\n`, 5, /"300\.1\.1\.1" is not an IPv4 address/],
    ['unknown_type', `${HEAD}x FROB 1\n`, 5, /unknown record type "FROB"/],
    ['unterminated_quote', `${HEAD}t TXT "open\n`, 5, /unterminated quoted string/],
    ['unclosed_paren', `${HEAD}m MX ( 10\n  mail\n`, 5, /"\(" is never closed/],
    ['stray_paren', `${HEAD}a A 192.0.2.2 )\n`, 5, /"\)" without "\("/],
    ['cname_and_other_data', `${HEAD}c A 192.0.2.4\nc CNAME ns\n`, 6, /has a CNAME and other data/],
    ['cname_beside_nxt', `${HEAD}c NXT ns A\nc CNAME ns\n`, 6, /has a CNAME and other data/],
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
