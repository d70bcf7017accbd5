import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { requireTool } from './helpers/debian.js';
import { authPort, DDNS_COMPONENTS, DDNS_CONFIG, dynamicStack, nsupdate, zoneText } from './helpers/ddns.js';
import { digAt, rcodeOf, udpExchange } from './helpers/dns.js';
import { boot, byComponent } from './helpers/stack.js';
import { ANY, encodeUpdate } from './helpers/update-client.js';

const DNSKEY = 'IzASFiudMt5m0Ia3nUTCr7J/ncfn1Uw44or7NVR1NVa2QT5evDNNEJw8JWdOLymLfvSWc4PXjY6gKeXTH6zaDw==';

async function dig(port: number, ...args: string[]): Promise<Awaited<ReturnType<typeof digAt>>> {
  return digAt(requireTool('dig', 'dnsutils'), port, ...args);
}

const serialOf = async (port: number, zone = 'dyn.test'): Promise<number> => Number((await dig(port, zone, 'SOA')).answer[0]!.split(' ')[6]);

describe('b10-ddns applies nsupdate\'s updates', () => {
  it('add_and_delete: records added over UDP and deleted over TCP are answered by auth at once, the serial one more each time', async () => {
    const { port } = await dynamicStack();
    const added = await nsupdate(port, ['update add new.dyn.test. 600 A 192.0.2.10', 'update add new.dyn.test. 600 TXT "hello"']);
    expect(added).toMatchObject({ code: 0 });
    expect((await dig(port, 'new.dyn.test', 'A')).answer).toEqual(['new.dyn.test. 600 IN A 192.0.2.10']);
    expect((await dig(port, 'new.dyn.test', 'TXT')).answer).toEqual(['new.dyn.test. 600 IN TXT "hello"']);
    expect(await serialOf(port)).toBe(2);
    const deleted = await nsupdate(port, ['update delete www.dyn.test. A', 'update delete new.dyn.test. TXT "hello"'], ['-v']);
    expect(deleted).toMatchObject({ code: 0 });
    expect((await dig(port, 'www.dyn.test', 'A')).status).toBe('NXDOMAIN');
    expect((await dig(port, 'new.dyn.test', 'TXT')).status).toBe('NOERROR');
    expect((await dig(port, 'new.dyn.test', 'TXT')).answer).toEqual([]);
    expect(await serialOf(port)).toBe(3);
  });

  it('failed_prerequisites: each kind returns its rcode and changes nothing', async () => {
    const { port } = await dynamicStack();
    const cases: [string, string][] = [
      ['prereq nxdomain www.dyn.test.', 'YXDOMAIN'],
      ['prereq yxdomain nothere.dyn.test.', 'NXDOMAIN'],
      ['prereq nxrrset www.dyn.test. A', 'YXRRSET'],
      ['prereq yxrrset www.dyn.test. AAAA', 'NXRRSET'],
      ['prereq yxrrset www.dyn.test. A 192.0.2.99', 'NXRRSET'],
    ];
    for (const [prereq, rcode] of cases) {
      const r = await nsupdate(port, [prereq, 'update add added.dyn.test. 300 A 192.0.2.50']);
      expect(r.code, prereq).not.toBe(0);
      expect(r.out, prereq).toContain(`update failed: ${rcode}`);
    }
    expect((await dig(port, 'added.dyn.test', 'A')).status).toBe('NXDOMAIN');
    expect(await serialOf(port)).toBe(1);
    const met = await nsupdate(port, ['prereq yxrrset www.dyn.test. A 192.0.2.2', 'prereq nxdomain added.dyn.test.', 'update add added.dyn.test. 300 A 192.0.2.50']);
    expect(met).toMatchObject({ code: 0 });
    expect((await dig(port, 'added.dyn.test', 'A')).answer).toEqual(['added.dyn.test. 300 IN A 192.0.2.50']);
  });

  it('refused_without_acl_entry: another address, a zone not in DDNS/zones; NOTAUTH for a zone not served', async () => {
    const { stack, port } = await dynamicStack({ 'dyn.test': zoneText('dyn.test'), 'static.test': zoneText('static.test') });
    const other = await nsupdate(port, ['local 127.0.0.2', 'update add x.dyn.test. 300 A 192.0.2.3']);
    expect(other.out).toContain('update failed: REFUSED');
    const unlisted = await nsupdate(port, ['zone static.test.', 'update add x.static.test. 300 A 192.0.2.3']);
    expect(unlisted.out).toContain('update failed: REFUSED');
    const absent = await nsupdate(port, ['zone nowhere.test.', 'update add x.nowhere.test. 300 A 192.0.2.3']);
    expect(absent.out).toContain('update failed: NOTAUTH');
    expect((await dig(port, 'x.dyn.test', 'A')).status).toBe('NXDOMAIN');
    expect((await dig(port, 'x.static.test', 'A')).status).toBe('NXDOMAIN');
    expect(stack.boss.logs.some((l) => l.component === 'ddns' && l.why === 'refused by the zone\'s update_acl')).toBe(true);
  });

  it('secondary_zone_notauth: a zone of Xfrin\'s (b10 is its secondary) is answered NOTAUTH, even listed in DDNS/zones', async () => {
    const acl = [{ action: 'ACCEPT', from: '127.0.0.1' }];
    const { stack, port } = await dynamicStack({ 'sec.test': zoneText('sec.test') }, [], {
      components: { ...DDNS_COMPONENTS, xfrin: { process: 'b10-xfrin', kind: 'dispensable', address: 'Xfrin', priority: 5 } },
      config: { DDNS: { zones: [{ origin: 'sec.test', update_acl: acl }] }, Xfrin: { zones: [{ name: 'sec.test' }] } },
    });
    await stack.boss.waitForLog((l) => l.component === 'ddns' && l.msg === 'Xfrin\'s zones known: updates for them answered NOTAUTH' && JSON.stringify(l.zones) === '["sec.test."]', 'ddns knows Xfrin\'s zones');
    const r = await nsupdate(port, ['zone sec.test.', 'update add x.sec.test. 300 A 192.0.2.3']);
    expect(r.out).toContain('update failed: NOTAUTH');
    expect((await dig(port, 'x.sec.test', 'A')).status).toBe('NXDOMAIN');
  });

  it('signed_updates: an ACL entry by key takes nsupdate -y; unsigned is REFUSED, a wrong secret BADSIG, an unknown key BADKEY, and nothing changes', async () => {
    const secret = randomBytes(32).toString('base64');
    const { stack, port } = await dynamicStack(undefined, [], {
      config: {
        tsig_keys: { keys: [`upd-key:${secret}:hmac-sha256`] },
        DDNS: { zones: [{ origin: 'dyn.test', update_acl: [{ action: 'ACCEPT', key: 'upd-key' }] }] },
      },
    });
    await stack.boss.waitForLog(byComponent('ddns', 'TSIG keyring loaded'), 'ddns has the keyring');
    const signed = await nsupdate(port, ['update add signed.dyn.test. 300 A 192.0.2.20'], ['-y', `hmac-sha256:upd-key:${secret}`]);
    expect(signed).toMatchObject({ code: 0 });
    expect((await dig(port, 'signed.dyn.test', 'A')).answer).toEqual(['signed.dyn.test. 300 IN A 192.0.2.20']);
    const unsigned = await nsupdate(port, ['update add unsigned.dyn.test. 300 A 192.0.2.21']);
    expect(unsigned.out).toContain('update failed: REFUSED');
    const wrong = await nsupdate(port, ['update add wrong.dyn.test. 300 A 192.0.2.22'], ['-y', `hmac-sha256:upd-key:${randomBytes(32).toString('base64')}`]);
    expect(wrong.code).not.toBe(0);
    await stack.boss.waitForLog((l) => l.component === 'ddns' && l.msg === 'update refused: its TSIG does not verify' && l.tsigError === 'BADSIG', 'BADSIG logged');
    const unknown = await nsupdate(port, ['update add unknown.dyn.test. 300 A 192.0.2.23'], ['-y', `hmac-sha256:other-key:${secret}`]);
    expect(unknown.code).not.toBe(0);
    await stack.boss.waitForLog((l) => l.component === 'ddns' && l.msg === 'update refused: its TSIG does not verify' && l.tsigError === 'BADKEY', 'BADKEY logged');
    for (const name of ['unsigned', 'wrong', 'unknown']) expect((await dig(port, `${name}.dyn.test`, 'A')).status).toBe('NXDOMAIN');
    // Counted for the statistics by the rcode answered.
    const stats = JSON.parse((await stack.b10('send', 'DDNS', 'getstats')).stdout) as { updates: { zone: string; result: string; updates: number }[] };
    expect(stats.updates).toEqual(
      expect.arrayContaining([
        { zone: 'dyn.test.', result: 'NOERROR', updates: 1 },
        { zone: 'dyn.test.', result: 'REFUSED', updates: 1 },
        { zone: 'dyn.test.', result: 'NOTAUTH', updates: 2 },
      ]),
    );
    expect(await serialOf(port)).toBe(2);
    expect(stack.boss.logs.some((l) => JSON.stringify(l).includes(secret))).toBe(false);
  });

  it('survives_restart: an acknowledged update is in the zone when the stack boots again on the same data path', async () => {
    const first = await dynamicStack();
    expect(await nsupdate(first.port, ['update add kept.dyn.test. 300 AAAA 2001:db8::1'])).toMatchObject({ code: 0 });
    await first.stack.boss.stop();
    const stack = await boot(DDNS_COMPONENTS, ['-p', '0', '-d', first.stack.dir]);
    const port = await authPort(stack);
    expect((await dig(port, 'kept.dyn.test', 'AAAA')).answer).toEqual(['kept.dyn.test. 300 IN AAAA 2001:db8::1']);
    expect(await serialOf(port)).toBe(2);
    expect(await nsupdate(port, ['update delete kept.dyn.test.'])).toMatchObject({ code: 0 });
    expect((await dig(port, 'kept.dyn.test', 'AAAA')).status).toBe('NXDOMAIN');
  });

  it('malformed_update: FORMERR, and nothing changes', async () => {
    const { port } = await dynamicStack();
    const zoneOfTypeA = encodeUpdate(1, 'dyn.test', [], [], 1, 1);
    const deleteWithTtl = encodeUpdate(2, 'dyn.test', [], [{ name: 'www.dyn.test', type: 1, klass: ANY, ttl: 300 }]);
    const cut = encodeUpdate(3, 'dyn.test', [], [{ name: 'x.dyn.test', type: 1, ttl: 300, rdata: Buffer.from([192, 0, 2, 9]) }]).subarray(0, -2);
    const badRdata = encodeUpdate(4, 'dyn.test', [], [{ name: 'x.dyn.test', type: 1, ttl: 300, rdata: Buffer.from([192, 0, 2]) }]);
    for (const packet of [zoneOfTypeA, deleteWithTtl, cut, badRdata]) {
      const answer = await udpExchange(port, packet, 3000);
      expect(answer && rcodeOf(answer)).toBe(1);
      expect(answer!.readUInt16BE(0)).toBe(packet.readUInt16BE(0));
      expect((answer!.readUInt16BE(2) >> 11) & 0xf).toBe(5);
    }
    expect((await dig(port, 'www.dyn.test', 'A')).answer).toEqual(['www.dyn.test. 300 IN A 192.0.2.2']);
    expect(await serialOf(port)).toBe(1);
  });

  it('signed_zone_refused: a zone with DNSKEY at its apex takes no update, and the log says why', async () => {
    const config = { 'dyn.test': zoneText('dyn.test', [`@ DNSKEY 257 3 13 ${DNSKEY}`]) };
    const { stack, port } = await dynamicStack(config);
    const r = await nsupdate(port, ['update add x.dyn.test. 300 A 192.0.2.3']);
    expect(r.out).toContain('update failed: REFUSED');
    await stack.boss.waitForLog(byComponent('ddns', 'update refused: the zone is signed (DNSKEY at its apex) and b10 does not sign'), 'signed zone refused');
    expect((await dig(port, 'x.dyn.test', 'A')).status).toBe('NXDOMAIN');
  });

  it('ddns_not_running: auth answers NOTIMP, as BIND 10\'s auth did without b10-ddns', async () => {
    const stack = await boot({ auth: DDNS_COMPONENTS.auth }, ['-p', '0'], DDNS_CONFIG);
    const port = await authPort(stack);
    const answer = await udpExchange(port, encodeUpdate(7, 'dyn.test', [], []), 3000);
    expect(answer && rcodeOf(answer)).toBe(4);
    await stack.boss.waitForLog(byComponent('auth', 'update answered NOTIMP: ddns is not running'), 'NOTIMP logged');
  });
});
