import { describe, expect, it } from 'vitest';
import { parseMasterFile, rdataOfText, type ZoneRecord } from '../src/dns/master-file.js';
import { RCODE } from '../src/dns/message.js';
import { soaTimers } from '../src/dns/rdata.js';
import { typeCode } from '../src/dns/types.js';
import { rdatasOf, Zone } from '../src/dns/zone.js';
import { parseUpdate, type UpdateRR } from '../src/ddns/update-message.js';
import { nextSerial, processUpdate, ZoneData, type Outcome } from '../src/ddns/update.js';
import { ANY, encodeUpdate, IN, NONE } from './helpers/update-client.js';

const ORIGIN = 'dyn.test.';
const ZONE = [
  '$TTL 300',
  '@ SOA ns admin 10 3600 900 604800 300',
  '@ NS ns',
  '@ NS ns2',
  'ns A 192.0.2.1',
  'ns2 A 192.0.2.5',
  'www A 192.0.2.2',
  'www A 192.0.2.3',
  'alias CNAME www',
  'deep.below.ent A 192.0.2.4',
  'solo NS ns.solo',
];

function zone(lines = ZONE): ZoneData {
  return new ZoneData(ORIGIN, parseMasterFile('dyn.test.zone', ORIGIN, () => `${lines.join('\n')}\n`));
}

/** A record of an update or prerequisite section: `name type [data]`, class and TTL as given (IN, 0 by default). */
function rr(name: string, type: string, data = '', klass = IN, ttl = 0): UpdateRR {
  const code = typeCode(type)!;
  return { name: name === '@' ? ORIGIN : `${name}.${ORIGIN}`, type: code, klass, ttl, rdata: data === '' ? Buffer.alloc(0) : rdataOfText(code, data, ORIGIN) };
}
const add = (name: string, type: string, data: string, ttl = 300): UpdateRR => rr(name, type, data, IN, ttl);
const delRRset = (name: string, type: string): UpdateRR => rr(name, type, '', ANY);
const delRR = (name: string, type: string, data: string): UpdateRR => rr(name, type, data, NONE);

const text = (records: ZoneRecord[] | undefined): string[] =>
  (records ?? []).filter((r) => r.type !== 6).map((r) => `${r.name} ${r.ttl} ${r.type} ${r.rdata.toString('hex')}`).sort();
const serialOf = (outcome: Outcome): number | undefined => outcome.serial;

describe('RFC 2136 3.2 prerequisites', () => {
  const z = zone();
  const check = (...prereqs: UpdateRR[]): number => processUpdate(z, prereqs, []).rcode;

  it('a prerequisite with a TTL is FORMERR, one outside the zone NOTZONE, one of another class FORMERR', () => {
    expect(check(rr('www', 'A', '', ANY, 300))).toBe(RCODE.FORMERR);
    expect(check({ ...rr('www', 'A', '', ANY), name: 'www.other.test.' })).toBe(RCODE.NOTZONE);
    expect(check(rr('www', 'A', '', 3))).toBe(RCODE.FORMERR);
    expect(check(rr('www', 'A', '192.0.2.2', ANY))).toBe(RCODE.FORMERR);
    expect(check(rr('www', 'A', '192.0.2.2', NONE))).toBe(RCODE.FORMERR);
  });

  it('name is in use (ANY ANY): NXDOMAIN when it holds nothing, an empty non-terminal included', () => {
    expect(check(rr('www', 'ANY', '', ANY))).toBe(RCODE.NOERROR);
    expect(check(rr('nothere', 'ANY', '', ANY))).toBe(RCODE.NXDOMAIN);
    expect(check(rr('below.ent', 'ANY', '', ANY))).toBe(RCODE.NXDOMAIN);
  });

  it('name is not in use (NONE ANY): YXDOMAIN when it holds anything', () => {
    expect(check(rr('nothere', 'ANY', '', NONE))).toBe(RCODE.NOERROR);
    expect(check(rr('alias', 'ANY', '', NONE))).toBe(RCODE.YXDOMAIN);
  });

  it('RRset exists, value independent (ANY type): NXRRSET when the name lacks that type', () => {
    expect(check(rr('www', 'A', '', ANY))).toBe(RCODE.NOERROR);
    expect(check(rr('www', 'AAAA', '', ANY))).toBe(RCODE.NXRRSET);
  });

  it('RRset does not exist (NONE type): YXRRSET when it does', () => {
    expect(check(rr('www', 'AAAA', '', NONE))).toBe(RCODE.NOERROR);
    expect(check(rr('www', 'A', '', NONE))).toBe(RCODE.YXRRSET);
  });

  it('RRset exists, value dependent: the whole RRset exactly, neither part of it nor more; names in RDATA without case', () => {
    expect(check(rr('www', 'A', '192.0.2.2'), rr('www', 'A', '192.0.2.3'))).toBe(RCODE.NOERROR);
    expect(check(rr('www', 'A', '192.0.2.2'))).toBe(RCODE.NXRRSET);
    expect(check(rr('www', 'A', '192.0.2.2'), rr('www', 'A', '192.0.2.3'), rr('www', 'A', '192.0.2.9'))).toBe(RCODE.NXRRSET);
    expect(check(rr('alias', 'CNAME', 'WWW.DYN.TEST.'))).toBe(RCODE.NOERROR);
    expect(check(rr('nothere', 'A', '192.0.2.2'))).toBe(RCODE.NXRRSET);
  });

  it('the first prerequisite not met decides, and no update is made', () => {
    const outcome = processUpdate(z, [rr('www', 'A', '', NONE), rr('nothere', 'ANY', '', ANY)], [add('new', 'A', '192.0.2.9')]);
    expect(outcome).toMatchObject({ rcode: RCODE.YXRRSET });
    expect(outcome.diff).toBeUndefined();
  });
});

describe('RFC 2136 3.4.1 prescan', () => {
  const z = zone();
  const scan = (...updates: UpdateRR[]): number => processUpdate(z, [], updates).rcode;

  it('NOTZONE for a name outside the zone, FORMERR for meta types, wrong TTLs, data or class; nothing applied before it', () => {
    const good = add('new', 'A', '192.0.2.9');
    expect(scan(good, { ...good, name: 'x.other.test.' })).toBe(RCODE.NOTZONE);
    expect(scan(good, rr('new', 'ANY', '', IN, 300))).toBe(RCODE.FORMERR);
    expect(scan(good, rr('new', 'AXFR', '', IN, 300))).toBe(RCODE.FORMERR);
    expect(scan(good, rr('new', 'AXFR', '', ANY))).toBe(RCODE.FORMERR);
    expect(scan(good, rr('www', 'A', '', ANY, 300))).toBe(RCODE.FORMERR);
    expect(scan(good, rr('www', 'A', '192.0.2.2', ANY))).toBe(RCODE.FORMERR);
    expect(scan(good, rr('www', 'A', '192.0.2.2', NONE, 300))).toBe(RCODE.FORMERR);
    expect(scan(good, rr('www', 'ANY', '', NONE))).toBe(RCODE.FORMERR);
    expect(scan(good, rr('www', 'A', '192.0.2.2', 3, 300))).toBe(RCODE.FORMERR);
    expect(processUpdate(z, [], [good, rr('www', 'ANY', '', NONE)]).diff).toBeUndefined();
  });

  it('DNSSEC types are REFUSED: b10 does not sign', () => {
    expect(scan(add('@', 'DNSKEY', '257 3 13 IzASFiudMt5m0Ia3nUTCr7J/ncfn1Uw44or7NVR1NVa2QT5evDNNEJw8JWdOLymLfvSWc4PXjY6gKeXTH6zaDw=='))).toBe(RCODE.REFUSED);
    expect(scan(delRRset('www', 'RRSIG'))).toBe(RCODE.REFUSED);
  });
});

describe('RFC 2136 3.4.2 updates, as named makes them', () => {
  const apply = (z: ZoneData, ...updates: UpdateRR[]): Outcome => processUpdate(z, [], updates);

  it('an add: the record, and the SOA with its serial one more (old SOA removed, new added)', () => {
    const outcome = apply(zone(), add('new', 'A', '192.0.2.9', 600));
    expect(outcome.rcode).toBe(RCODE.NOERROR);
    expect(text(outcome.diff?.added)).toEqual(text([{ name: `new.${ORIGIN}`, ttl: 600, type: 1, rdata: Buffer.from([192, 0, 2, 9]) }]));
    expect(outcome.diff?.removed.map((r) => r.type)).toEqual([6]);
    expect(soaTimers(outcome.diff!.added.find((r) => r.type === 6)!.rdata).serial).toBe(11);
    expect(serialOf(outcome)).toBe(11);
  });

  it('a duplicate add changes nothing: NOERROR, no difference, the serial stays', () => {
    const outcome = apply(zone(), add('www', 'A', '192.0.2.2'));
    expect(outcome).toEqual({ rcode: RCODE.NOERROR, serial: 10 });
  });

  it('an add with another TTL gives the whole RRset that TTL', () => {
    const outcome = apply(zone(), add('www', 'A', '192.0.2.7', 60));
    expect(outcome.diff!.added.filter((r) => r.type === 1).map((r) => r.ttl)).toEqual([60, 60, 60]);
    expect(outcome.diff!.removed.filter((r) => r.type === 1).map((r) => r.ttl)).toEqual([300, 300]);
  });

  it('CNAME stands alone: no CNAME beside other data, no other data beside a CNAME; a CNAME replaces a CNAME', () => {
    expect(apply(zone(), add('www', 'CNAME', 'ns')).diff).toBeUndefined();
    expect(apply(zone(), add('alias', 'A', '192.0.2.9')).diff).toBeUndefined();
    const replaced = apply(zone(), add('alias', 'CNAME', 'ns'));
    expect(text(replaced.diff?.added)).toEqual(text([{ name: `alias.${ORIGIN}`, ttl: 300, type: 5, rdata: rdataOfText(5, 'ns', ORIGIN) }]));
    expect(text(replaced.diff?.removed)).toEqual(text([{ name: `alias.${ORIGIN}`, ttl: 300, type: 5, rdata: rdataOfText(5, 'www', ORIGIN) }]));
  });

  it('the SOA is replaced only by a newer serial, taken as given; an older or equal one, or one below the apex, is ignored', () => {
    const newer = apply(zone(), add('@', 'SOA', 'ns admin 20 3600 900 604800 300'));
    expect(newer.serial).toBe(20);
    expect(newer.diff?.added.map((r) => r.type)).toEqual([6]);
    expect(apply(zone(), add('@', 'SOA', 'ns admin 10 1 1 1 1')).diff).toBeUndefined();
    expect(apply(zone(), add('@', 'SOA', 'ns admin 5 3600 900 604800 300')).diff).toBeUndefined();
    expect(apply(zone(), add('www', 'SOA', 'ns admin 50 3600 900 604800 300')).diff).toBeUndefined();
  });

  it('serials wrap as RFC 1982 and named have it: past 4294967295 comes 1, never 0', () => {
    expect(nextSerial(41)).toBe(42);
    expect(nextSerial(0xffffffff)).toBe(1);
  });

  it('delete an RRset; at the apex the SOA and NS RRsets stay', () => {
    const outcome = apply(zone(), delRRset('www', 'A'));
    expect(outcome.diff!.removed.filter((r) => r.type === 1)).toHaveLength(2);
    expect(apply(zone(), delRRset('@', 'SOA')).diff).toBeUndefined();
    expect(apply(zone(), delRRset('@', 'NS')).diff).toBeUndefined();
    expect(apply(zone(), delRRset('nothere', 'A')).diff).toBeUndefined();
  });

  it('delete every RRset of a name; at the apex all but SOA and NS', () => {
    const below = apply(zone(), delRRset('www', 'ANY'));
    expect(below.diff!.removed.filter((r) => r.type !== 6)).toHaveLength(2);
    const apex = apply(zone([...ZONE, '@ MX 10 ns', '@ TXT "x"']), delRRset('@', 'ANY'));
    expect(apex.diff!.removed.filter((r) => r.type !== 6).map((r) => r.type).sort()).toEqual([15, 16]);
  });

  it('delete one record (names in RDATA without case); never the SOA, never the apex\'s last NS', () => {
    const one = apply(zone(), delRR('@', 'NS', 'NS2.DYN.TEST.'));
    expect(one.diff!.removed.filter((r) => r.type === 2)).toHaveLength(1);
    expect(apply(zone(), delRR('@', 'SOA', 'ns admin 10 3600 900 604800 300')).diff).toBeUndefined();
    const both = apply(zone(), delRR('@', 'NS', 'ns'), delRR('@', 'NS', 'ns2'));
    expect(both.diff!.removed.filter((r) => r.type === 2)).toHaveLength(1);
    expect(apply(zone(), delRR('solo', 'NS', 'ns.solo')).diff!.removed.filter((r) => r.type === 2)).toHaveLength(1);
    expect(apply(zone(), delRR('www', 'A', '192.0.2.99')).diff).toBeUndefined();
  });

  it('updates apply in order: add then delete of the same record is nothing; the zone held in memory follows a difference', () => {
    const z = zone();
    expect(apply(z, add('tmp', 'A', '192.0.2.9'), delRRset('tmp', 'A')).diff).toBeUndefined();
    const outcome = apply(z, add('tmp', 'A', '192.0.2.9'));
    z.apply(outcome.diff!);
    expect(soaTimers(z.soa.rdata).serial).toBe(11);
    expect(z.node(`tmp.${ORIGIN}`)?.has(1)).toBe(true);
    expect(apply(z, add('tmp', 'A', '192.0.2.9')).diff).toBeUndefined();
    z.apply(apply(z, delRRset('tmp', 'ANY')).diff!);
    expect(z.node(`tmp.${ORIGIN}`)).toBeUndefined();
    expect(soaTimers(z.soa.rdata).serial).toBe(12);
  });
});

describe('UPDATE messages off the wire', () => {
  it('reads the zone, prerequisite and update sections; FORMERR for bad RDATA or a cut message', () => {
    const packet = encodeUpdate(9, 'dyn.test', [{ name: 'www.dyn.test', type: 1, klass: ANY }], [{ name: 'x.dyn.test', type: 1, ttl: 60, rdata: Buffer.from([192, 0, 2, 1]) }]);
    const parsed = parseUpdate(packet);
    expect(parsed.kind).toBe('update');
    if (parsed.kind !== 'update') return;
    expect(parsed.message.query.qname).toBe(ORIGIN);
    expect(parsed.message.prerequisites).toEqual([{ name: `www.${ORIGIN}`, type: 1, klass: ANY, ttl: 0, rdata: Buffer.alloc(0) }]);
    expect(parsed.message.updates).toEqual([{ name: `x.${ORIGIN}`, type: 1, klass: IN, ttl: 60, rdata: Buffer.from([192, 0, 2, 1]) }]);
    expect(parseUpdate(packet.subarray(0, -1)).kind).toBe('formerr');
    expect(parseUpdate(encodeUpdate(9, 'dyn.test', [], [{ name: 'x.dyn.test', type: 1, ttl: 60, rdata: Buffer.from([1, 2]) }])).kind).toBe('formerr');
  });
});

describe('auth\'s zone changed in memory by a difference', () => {
  const build = (lines: string[]): Zone => new Zone(ORIGIN, parseMasterFile('dyn.test.zone', ORIGIN, () => `${lines.join('\n')}\n`));
  const rrsetsOf = (z: Zone, name: string): string[] =>
    [...(z.node(name)?.values() ?? [])].map((r) => `${r.type} ${r.ttl} ${rdatasOf(r).map((d) => d.toString('hex')).sort().join(',')}`).sort();

  it('withChanges: the same RRsets and names as the zone built whole from the changed records; empty non-terminals come and go', () => {
    const before = build(ZONE);
    const data = zone();
    const outcome = processUpdate(data, [], [add('a.b.new', 'A', '192.0.2.9'), delRRset('deep.below.ent', 'ANY'), add('www', 'A', '192.0.2.8', 60)]);
    const patched = before.withChanges(outcome.diff!.removed, outcome.diff!.added)!;
    data.apply(outcome.diff!);
    const whole = new Zone(ORIGIN, [...['@', 'ns', 'ns2', 'www', 'alias', 'solo', 'a.b.new'].flatMap((n) => {
      const name = n === '@' ? ORIGIN : `${n}.${ORIGIN}`;
      return [...(data.node(name) ?? [])].flatMap(([type, rrset]) => [...rrset.rdatas.values()].map((rdata) => ({ name, ttl: rrset.ttl, type, rdata })));
    })]);
    for (const name of [ORIGIN, `www.${ORIGIN}`, `a.b.new.${ORIGIN}`, `deep.below.ent.${ORIGIN}`, `alias.${ORIGIN}`]) expect(rrsetsOf(patched, name)).toEqual(rrsetsOf(whole, name));
    for (const name of [`b.new.${ORIGIN}`, `new.${ORIGIN}`, `below.ent.${ORIGIN}`, `ent.${ORIGIN}`, `deep.below.ent.${ORIGIN}`]) expect(patched.exists(name)).toBe(whole.exists(name));
    expect(patched.exists(`b.new.${ORIGIN}`)).toBe(true);
    expect(patched.exists(`ent.${ORIGIN}`)).toBe(false);
    expect(patched.serial).toBe(11);
    expect(patched.records).toBe(whole.records);
  });

  it('withChanges: undefined (load the zone whole) for a record to remove that the zone lacks, or DNSSEC records, and the zone untouched', () => {
    const before = build(ZONE);
    const soa = zone().soa;
    const www = { name: `www.${ORIGIN}`, ttl: 300, type: 1, rdata: Buffer.from([192, 0, 2, 77]) };
    expect(before.withChanges([soa, { name: `x.${ORIGIN}`, ttl: 300, type: 1, rdata: Buffer.from([1, 2, 3, 4]) }], [soa, www])).toBeUndefined();
    expect(before.withChanges([soa], [soa, www, { name: ORIGIN, ttl: 300, type: 48, rdata: Buffer.from([1, 1, 3, 13]) }])).toBeUndefined();
    expect(rrsetsOf(before, `www.${ORIGIN}`)).toEqual(rrsetsOf(build(ZONE), `www.${ORIGIN}`));
  });
});
