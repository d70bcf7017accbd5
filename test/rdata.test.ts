import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseMasterFile, rdataOfText } from '../src/dns/master-file.js';
import { MessageWriter } from '../src/dns/message-writer.js';
import { nameToWire } from '../src/dns/name.js';
import { rdataFromMessage, rdataTargets, rdataToText, typeCode, typeName } from '../src/dns/rdata.js';
import { RR_TYPES } from '../src/dns/types.js';
import { ROOT } from './helpers/processes.js';

const EVERY = parseMasterFile(path.join(ROOT, 'test/fixtures/zones/every-type.zone'), 'every.test');

describe('one codec per type, from the one table', () => {
  it('every_type_in_the_fixture: each type of the table that a zone may hold has a record there', () => {
    const held = new Set(EVERY.map((r) => r.type));
    const missing = RR_TYPES.filter((t) => !t.refused && !held.has(t.code)).map((t) => t.name);
    expect(missing).toEqual([]);
  });

  it('text_wire_text: each record printed and read again gives the same bytes, and the same text', () => {
    for (const r of EVERY) {
      const text = rdataToText(r.type, r.rdata);
      const again = rdataOfText(r.type, text);
      expect(again.equals(r.rdata), `${typeName(r.type)} ${text}`).toBe(true);
      expect(rdataToText(r.type, again)).toBe(text);
    }
  });

  it('mnemonics: a type by name or as TYPEnnn; unknown codes print as TYPEnnn', () => {
    expect(typeCode('nsap-ptr')).toBe(23);
    expect(typeCode('TYPE64')).toBe(64);
    expect(typeCode('FROB')).toBeUndefined();
    expect(typeName(64)).toBe('SVCB');
    expect(typeName(65280)).toBe('TYPE65280');
    expect(typeName(65533)).toBe('TYPE65533');
  });

  it('targets: the names lookups follow come from the declarations, lowercase', () => {
    expect(rdataTargets(15, rdataOfText(15, '10 Mail.Example.'))).toEqual(['mail.example.']);
    expect(rdataTargets(33, rdataOfText(33, '1 2 3 sip.example.'))).toEqual(['sip.example.']);
    expect(rdataTargets(35, rdataOfText(35, '1 2 "u" "E2U+sip" "" _sip._udp.example.'))).toEqual(['_sip._udp.example.']);
    expect(rdataTargets(65, rdataOfText(65, '1 svc.example. alpn=h2'))).toEqual(['svc.example.']);
    expect(rdataTargets(6, rdataOfText(6, 'ns.example. h.example. 1 2 3 4 5'))).toEqual([]);
    expect(rdataTargets(16, rdataOfText(16, '"x"'))).toEqual([]);
  });

  it('names_keep_their_case: RDATA names print as written, as named prints them', () => {
    expect(rdataToText(5, rdataOfText(5, 'FOO.Example.'))).toBe('FOO.Example.');
    expect(rdataToText(2, rdataOfText(2, 'a\\.b\\032c.example.'))).toBe('a\\.b\\032c.example.');
  });

  it('decompressed_on_receipt: RDATA names compressed in a message come out whole; a pointer forward is refused', () => {
    const w = new MessageWriter(1, 0x8400);
    const owner = nameToWire('mail.example.');
    const mx = rdataOfText(15, '10 mail.example.');
    const soa = rdataOfText(6, 'ns.example. hostmaster.example. 1 2 3 4 5');
    w.record('answer', owner, 15, 60, mx);
    w.record('answer', nameToWire('example.'), 6, 60, soa);
    const msg = w.finish();
    // The MX's exchange is a pointer to its owner: 2 bytes of preference and 2 of pointer.
    const mxLength = msg.readUInt16BE(12 + owner.length + 8);
    expect(mxLength).toBe(4);
    expect(rdataFromMessage(msg, 12 + owner.length + 10, mxLength, 15).equals(mx)).toBe(true);
    const forward = Buffer.from([0, 10, 0xc0, 0xff]);
    expect(() => rdataFromMessage(Buffer.concat([Buffer.alloc(12), forward]), 12, 4, 15)).toThrow(/malformed MX data/);
  });

  it('not_compressed_beyond_rfc1035: SRV, NAPTR and SVCB targets are written whole even when a pointer would do', () => {
    const w = new MessageWriter(1, 0x8400);
    const owner = nameToWire('sip.example.');
    w.record('answer', owner, 33, 60, rdataOfText(33, '1 2 3 sip.example.'));
    const msg = w.finish();
    expect(msg.readUInt16BE(12 + owner.length + 8)).toBe(6 + owner.length);
  });
});
