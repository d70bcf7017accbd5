import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { axfrMessages } from '../src/dns/axfr.js';
import type { ZoneRecord } from '../src/dns/master-file.js';
import { rdataOfText } from '../src/dns/master-file.js';
import { bareResponse, encodeQuery, lengthPrefixed, parseQuery, RCODE, type Query } from '../src/dns/message.js';
import {
  checkRequest,
  findTsig,
  formatKeyEntry,
  keyEntriesProblems,
  Keyring,
  maskKeyEntry,
  parseKeyEntry,
  TSIG_ALGORITHMS,
  TSIG_ERROR,
  TsigClient,
  TsigKeyError,
  TsigVerifyError,
  type TsigAlgorithm,
} from '../src/dns/tsig.js';
import { CONFIG_NOTIFICATIONS } from '../protocol/groups.js';
import { eventFrom } from '../src/cmdctl/events.js';
import { requireTool } from './helpers/debian.js';

const exec = promisify(execFile);
const SOA = 6;
const AXFR = 252;
const SECRET = 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTMyYg==';
const ring = Keyring.fromEntries([`k1:${SECRET}:hmac-sha256`, `md5key:${SECRET}:hmac-md5`]);
const k1 = ring.get('k1')!;

function soaRecord(zone: string): ZoneRecord {
  return { name: zone, ttl: 3600, type: SOA, rdata: rdataOfText(SOA, `ns.${zone} admin.${zone} 7 3600 900 604800 300`) };
}

function queryOf(message: Buffer): Query {
  const parsed = parseQuery(message);
  if (parsed.kind !== 'query') throw new Error(`not a query: ${parsed.kind}`);
  return parsed.query;
}

/** A UDP server answering each query with what `answer` makes of it; closed when the test ends. */
async function udpServer(answer: (packet: Buffer) => Buffer | undefined): Promise<{ port: number; received: Buffer[] }> {
  const socket = dgram.createSocket('udp4');
  const received: Buffer[] = [];
  socket.on('message', (msg, rinfo) => {
    received.push(msg);
    const reply = answer(msg);
    if (reply) socket.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  onTestFinished(() => void socket.close());
  return { port: socket.address().port, received };
}

async function dig(port: number, ...args: string[]): Promise<string> {
  const digBin = requireTool('dig', 'bind9-dnsutils');
  const { stdout, stderr } = await exec(digBin, ['@127.0.0.1', '-p', String(port), '+time=2', '+tries=1', ...args]).catch((err: { stdout: string; stderr: string }) => err);
  return `${stdout}${stderr}`;
}

describe('TSIG keys', () => {
  it('an entry is name:secret:algorithm, the algorithm hmac-sha256 when left out; names compare without case', () => {
    expect(parseKeyEntry(`Key.Example:${SECRET}`)).toMatchObject({ name: 'key.example.', algorithm: 'hmac-sha256' });
    expect(formatKeyEntry(parseKeyEntry(`k:${SECRET}:HMAC-SHA1`))).toBe(`k:${SECRET}:hmac-sha1`);
    expect(Keyring.fromEntries([`K1.:${SECRET}`]).get('k1')?.name).toBe('k1.');
  });

  it('bad base64, an unknown algorithm and a duplicate name are refused, naming the entry and never its secret', () => {
    expect(() => parseKeyEntry('k:not*base64:hmac-sha256')).toThrow(TsigKeyError);
    const problems = keyEntriesProblems([`a:${SECRET}`, 'b:not*base64', `c:${SECRET}:hmac-sha3`, `A.:${SECRET}:hmac-md5`, 42]);
    expect(problems).toEqual([
      'keys[1]: key b.: the secret is not base64',
      expect.stringMatching(/^keys\[2\]: key c\.: unknown algorithm "hmac-sha3"/),
      'keys[3]: a second key named a.',
      'keys[4]: must be a string "name:secret:algorithm"',
    ]);
    expect(problems.join(' ')).not.toContain(SECRET);
    expect(() => Keyring.fromEntries([`a:${SECRET}`, `a:${SECRET}`])).toThrow(/keys\[1\]: a second key named a\./);
  });

  it('a masked entry keeps the name and algorithm and hides the secret', () => {
    expect(maskKeyEntry(`k:${SECRET}:hmac-sha256`)).toBe('k:****:hmac-sha256');
    expect(maskKeyEntry(`k:${SECRET}`)).toBe('k:****');
  });

  it('the web console\'s config_update event for tsig_keys carries no secret', () => {
    const body = { notification: ['config_update', { module_name: 'tsig_keys', config: { keys: [`k:${SECRET}:hmac-sha256`] } }] };
    expect(eventFrom(CONFIG_NOTIFICATIONS, body)).toEqual({ event: 'config_update', module: 'tsig_keys', config: { keys: ['k:****:hmac-sha256'] } });
  });
});

describe('TSIG requests (RFC 8945 5.2)', () => {
  const request = (): Buffer => encodeQuery(0x4242, 0, 'example.test.', SOA);

  it('a request signed with a key of the keyring is verified; its response verifies at the client', () => {
    const client = new TsigClient(k1);
    const signed = client.sign(request());
    const check = checkRequest(signed, ring);
    expect(check.status).toBe('signed');
    if (check.status !== 'signed') return;
    const response = check.signer.sign(bareResponse(queryOf(signed), RCODE.NOERROR, { aa: true }));
    expect(() => client.verify(response)).not.toThrow();
    expect(client.complete).toBe(true);
  });

  it('BADKEY: an unknown key is answered NOTAUTH with a MAC-less TSIG naming the key', () => {
    const other = parseKeyEntry(`nokey:${SECRET}`);
    const client = new TsigClient(other);
    const signed = client.sign(request());
    const check = checkRequest(signed, ring);
    expect(check).toMatchObject({ status: 'bad', rcode: RCODE.NOTAUTH, error: TSIG_ERROR.BADKEY, keyName: 'nokey.' });
    if (check.status !== 'bad') return;
    const response = check.finish(bareResponse(queryOf(signed), check.rcode));
    expect(findTsig(response)?.record).toMatchObject({ keyName: 'nokey.', error: TSIG_ERROR.BADKEY, mac: Buffer.alloc(0) });
    expect(() => client.verify(response)).toThrow(/BADKEY/);
  });

  it('BADKEY: a known key name with another algorithm', () => {
    const check = checkRequest(new TsigClient(parseKeyEntry(`k1:${SECRET}:hmac-sha512`)).sign(request()), ring);
    expect(check).toMatchObject({ status: 'bad', error: TSIG_ERROR.BADKEY });
  });

  it('BADSIG: a wrong secret, or a message changed after signing', () => {
    const wrong = checkRequest(new TsigClient(parseKeyEntry(`k1:${Buffer.from('other').toString('base64')}`)).sign(request()), ring);
    expect(wrong).toMatchObject({ status: 'bad', rcode: RCODE.NOTAUTH, error: TSIG_ERROR.BADSIG });
    const signed = new TsigClient(k1).sign(request());
    signed[3]! |= 0x01;
    const tampered = checkRequest(signed, ring);
    expect(tampered).toMatchObject({ status: 'bad', error: TSIG_ERROR.BADSIG });
    if (tampered.status !== 'bad') return;
    expect(findTsig(tampered.finish(bareResponse(queryOf(signed), tampered.rcode)))?.record.mac.length).toBe(0);
  });

  it('BADTIME: a request signed outside the fudge is answered signed, with the server time as other data', () => {
    const now = 2_000_000_000;
    const client = new TsigClient(k1, () => now - 301);
    const signed = client.sign(request());
    expect(checkRequest(signed, ring, now - 2)).toMatchObject({ status: 'signed' });
    const check = checkRequest(signed, ring, now);
    expect(check).toMatchObject({ status: 'bad', rcode: RCODE.NOTAUTH, error: TSIG_ERROR.BADTIME });
    if (check.status !== 'bad') return;
    const response = check.finish(bareResponse(queryOf(signed), check.rcode));
    const { record } = findTsig(response)!;
    expect(record.timeSigned).toBe(now - 301);
    expect(record.otherData.readUIntBE(0, 6)).toBe(now);
    expect(record.mac.length).toBe(32);
    // Signed with the key: the client checks the MAC, then reports the error.
    expect(() => client.verify(response)).toThrow(/BADTIME/);
  });

  it('a truncated MAC is refused (BADTRUNC), a too-short one is FORMERR, a TSIG not last is FORMERR', () => {
    const unsigned = request();
    const signed = new TsigClient(k1).sign(unsigned);
    const { record } = findTsig(signed)!;
    // The TSIG record after the request: owner k1. (4 bytes), type, class, TTL, then RDLENGTH; the MAC cut to 16 bytes.
    const rdlengthAt = unsigned.length + 4 + 8;
    const macAt = signed.indexOf(record.mac);
    const truncated = Buffer.concat([signed.subarray(0, macAt - 2), Buffer.from([0, 16]), record.mac.subarray(0, 16), signed.subarray(macAt + 32)]);
    truncated.writeUInt16BE(signed.readUInt16BE(rdlengthAt) - 16, rdlengthAt);
    const short = Buffer.concat([signed.subarray(0, macAt - 2), Buffer.from([0, 4]), record.mac.subarray(0, 4), signed.subarray(macAt + 32)]);
    short.writeUInt16BE(signed.readUInt16BE(rdlengthAt) - 28, rdlengthAt);
    expect(checkRequest(short, ring)).toMatchObject({ status: 'bad', rcode: RCODE.FORMERR });
    expect(checkRequest(truncated, ring)).toMatchObject({ status: 'bad', error: TSIG_ERROR.BADTRUNC });
    const twice = Buffer.concat([signed, signed.subarray(request().length)]);
    twice.writeUInt16BE(2, 10);
    expect(checkRequest(twice, ring)).toMatchObject({ status: 'bad', rcode: RCODE.FORMERR });
  });

  it('an unsigned request is left alone', () => {
    expect(checkRequest(request(), ring)).toEqual({ status: 'unsigned' });
  });

  it('an unsigned answer to a signed request, or one signed with another key, is refused', () => {
    const client = new TsigClient(k1);
    const signed = client.sign(request());
    expect(() => client.verify(bareResponse(queryOf(signed), RCODE.NOERROR))).toThrow(TsigVerifyError);
    const check = checkRequest(new TsigClient(ring.get('md5key')!).sign(request()), ring);
    if (check.status !== 'signed') throw new Error('not signed');
    expect(() => client.verify(check.signer.sign(bareResponse(queryOf(signed), RCODE.NOERROR)))).toThrow(/signed with key md5key/);
  });
});

describe('TSIG multi-message responses (RFC 8945 4.3.2, 5.3.1)', () => {
  const zone = 'big.test.';
  // About 100 KB of records: several messages of about 16 KiB (MESSAGE_BYTES).
  const records = Array.from({ length: 5000 }, (_, i): ZoneRecord => ({ name: `h${i}.${zone}`, ttl: 60, type: 1, rdata: Buffer.from([10, 0, i >> 8, i & 0xff]) }));

  it('every message of a transfer is signed, each MAC chained to the one before, and the client verifies them all', () => {
    const client = new TsigClient(k1);
    const signed = client.sign(encodeQuery(7, 0, zone, AXFR));
    const check = checkRequest(signed, ring);
    if (check.status !== 'signed') throw new Error('not signed');
    const messages = [...axfrMessages(queryOf(signed), soaRecord(zone), records)].map((m) => check.signer.sign(m));
    expect(messages.length).toBeGreaterThan(5);
    for (const m of messages) client.verify(m);
    expect(client.complete).toBe(true);
  });

  it('a message swapped out of order fails the chain', () => {
    const client = new TsigClient(k1);
    const signed = client.sign(encodeQuery(7, 0, zone, AXFR));
    const check = checkRequest(signed, ring);
    if (check.status !== 'signed') throw new Error('not signed');
    const messages = [...axfrMessages(queryOf(signed), soaRecord(zone), records)].map((m) => check.signer.sign(m));
    client.verify(messages[0]!);
    expect(() => client.verify(messages[2]!)).toThrow(/MAC does not match/);
  });

  it('a response that ends on an unsigned message is not complete', () => {
    const client = new TsigClient(k1);
    const signed = client.sign(encodeQuery(7, 0, zone, AXFR));
    const plain = [...axfrMessages(queryOf(signed), soaRecord(zone), records)];
    const check = checkRequest(signed, ring);
    if (check.status !== 'signed') throw new Error('not signed');
    client.verify(check.signer.sign(plain[0]!));
    client.verify(plain[1]!);
    expect(client.complete).toBe(false);
  });
});

describe('TSIG with BIND 9 tools', () => {
  for (const algorithm of Object.keys(TSIG_ALGORITHMS) as TsigAlgorithm[]) {
    it(`${algorithm}: a key from tsig-keygen signs dig's query as b10 verifies it, and dig verifies b10's signed answer`, async () => {
      const keygen = requireTool('tsig-keygen', 'bind9');
      const { stdout } = await exec(keygen, ['-a', algorithm, 'dig-key']);
      const secret = /secret "([^"]+)"/.exec(stdout)![1]!;
      expect(Buffer.from(secret, 'base64').length).toBe(TSIG_ALGORITHMS[algorithm].size);
      const keys = Keyring.fromEntries([`dig-key:${secret}:${algorithm}`]);
      const checks: string[] = [];
      const server = await udpServer((packet) => {
        const check = checkRequest(packet, keys);
        checks.push(check.status);
        if (check.status !== 'signed') return undefined;
        return check.signer.sign(bareResponse(queryOf(packet), RCODE.NOERROR, { aa: true }));
      });
      const out = await dig(server.port, '-y', `${algorithm}:dig-key:${secret}`, 'example.test', 'SOA');
      expect(checks).toEqual(['signed']);
      expect(out).toMatch(/status: NOERROR/);
      expect(out).not.toMatch(/Couldn't verify|failed/i);
      expect(out).toMatch(/dig-key\.\s+0\s+ANY\s+TSIG\s+hmac-\S+ \d+ 300 \d+ [^\n]* NOERROR 0/);
    });
  }

  it('dig reports a response whose MAC is wrong: the check is real', async () => {
    const server = await udpServer((packet) => {
      const check = checkRequest(packet, ring);
      if (check.status !== 'signed') return undefined;
      const response = check.signer.sign(bareResponse(queryOf(packet), RCODE.NOERROR, { aa: true }));
      response[response.length - 10]! ^= 0xff;
      return response;
    });
    const out = await dig(server.port, '-y', `hmac-sha256:k1:${SECRET}`, 'example.test', 'SOA');
    expect(out).toMatch(/Couldn't verify|failed/i);
  });

  it('dig -y with a wrong secret is answered NOTAUTH with BADSIG, as dig shows it', async () => {
    const server = await udpServer((packet) => {
      const check = checkRequest(packet, ring);
      if (check.status !== 'bad') return undefined;
      return check.finish(bareResponse(queryOf(packet), check.rcode));
    });
    const out = await dig(server.port, '-y', `hmac-sha256:k1:${Buffer.from('wrong').toString('base64')}`, 'example.test', 'SOA');
    expect(out).toMatch(/status: NOTAUTH/);
    expect(out).toMatch(/BADSIG/);
  });

  it('dig verifies every message of a 5,000-record AXFR signed by b10', async () => {
    const zone = 'big.test.';
    const records = Array.from({ length: 5000 }, (_, i): ZoneRecord => ({ name: `h${i}.${zone}`, ttl: 60, type: 1, rdata: Buffer.from([10, 0, i >> 8, i & 0xff]) }));
    let messages = 0;
    const server = net.createServer((socket) => {
      socket.once('data', (chunk) => {
        const packet = chunk.subarray(2, 2 + chunk.readUInt16BE(0));
        const check = checkRequest(packet, ring);
        if (check.status !== 'signed') {
          socket.destroy();
          return;
        }
        for (const m of axfrMessages(queryOf(packet), soaRecord(zone), records)) {
          socket.write(lengthPrefixed(check.signer.sign(m)));
          messages++;
        }
        socket.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => void server.close());
    const out = await dig((server.address() as net.AddressInfo).port, '-y', `hmac-sha256:k1:${SECRET}`, 'big.test', 'AXFR');
    // About 100 KB of records in messages of about 16 KiB (MESSAGE_BYTES): several, not one.
    expect(messages).toBeGreaterThan(4);
    expect(out).not.toMatch(/Couldn't verify|failed|tsig verify/i);
    expect(out).toMatch(new RegExp(`XFR size: 5002 records \\(messages ${messages},`));
  });
});
