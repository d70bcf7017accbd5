import { describe, expect, it } from 'vitest';
import { aclProblems, decide, DEFAULT_TRANSFER_ACL, matches } from '../src/dns/acl.js';

describe('transfer ACL', () => {
  it('default: loopback addresses of this machine only', () => {
    expect(decide(DEFAULT_TRANSFER_ACL, '127.0.0.1')).toBe('ACCEPT');
    expect(decide(DEFAULT_TRANSFER_ACL, '::1')).toBe('ACCEPT');
    expect(decide(DEFAULT_TRANSFER_ACL, '::ffff:127.0.0.1')).toBe('ACCEPT');
    expect(decide(DEFAULT_TRANSFER_ACL, '127.0.0.2')).toBe('REJECT');
    expect(decide(DEFAULT_TRANSFER_ACL, '192.0.2.1')).toBe('REJECT');
  });

  it('first_match_wins: a REJECT before a wider ACCEPT holds', () => {
    const acl = [
      { action: 'REJECT' as const, from: '127.0.0.2' },
      { action: 'ACCEPT' as const, from: '127.0.0.0/8' },
    ];
    expect(decide(acl, '127.0.0.2')).toBe('REJECT');
    expect(decide(acl, '127.9.9.9')).toBe('ACCEPT');
    expect(decide(acl, '10.0.0.1')).toBe('REJECT');
  });

  it('prefixes: IPv4 and IPv6, on and off bit boundaries', () => {
    expect(matches('192.0.2.0/25', '192.0.2.127')).toBe(true);
    expect(matches('192.0.2.0/25', '192.0.2.128')).toBe(false);
    expect(matches('2001:db8::/32', '2001:db8:ffff::1')).toBe(true);
    expect(matches('2001:db8::/33', '2001:db8:8000::1')).toBe(false);
    expect(matches('0.0.0.0/0', '203.0.113.9')).toBe(true);
    expect(matches('10.0.0.0/8', '::1')).toBe(false);
  });

  it('bad_entries: named one by one', () => {
    expect(aclProblems([{ action: 'MAYBE' as 'ACCEPT', from: '10.0.0.0/8' }, { action: 'ACCEPT', from: '10.0.0.0/33' }, { action: 'REJECT', from: 'nonsense' }])).toEqual([
      'transfer_acl[0]: action must be ACCEPT or REJECT',
      'transfer_acl[1]: "10.0.0.0/33": bad prefix length',
      'transfer_acl[2]: "nonsense" is not an IP address',
    ]);
  });

  it('key entries: a request matches only when verified with that key; from and key together both must match', () => {
    const acl = [
      { action: 'ACCEPT' as const, from: '127.0.0.1', key: 'both.key' },
      { action: 'ACCEPT' as const, key: 'Xfr.Key.' },
      { action: 'REJECT' as const, from: '127.0.0.0/8' },
    ];
    expect(decide(acl, '192.0.2.1', 'xfr.key.')).toBe('ACCEPT');
    expect(decide(acl, '192.0.2.1')).toBe('REJECT');
    expect(decide(acl, '127.0.0.1', 'both.key.')).toBe('ACCEPT');
    expect(decide(acl, '127.0.0.2', 'both.key.')).toBe('REJECT');
    expect(decide(acl, '127.0.0.1')).toBe('REJECT');
    expect(decide(acl, '127.0.0.1', 'other.')).toBe('REJECT');
  });

  it('an entry with neither from nor key, or a key that is not a name, is refused', () => {
    expect(aclProblems([{ action: 'ACCEPT' }, { action: 'ACCEPT', key: 42 as unknown as string }, { action: 'ACCEPT', key: 'k' }], 'update_acl')).toEqual([
      'update_acl[0]: give from, key or both',
      'update_acl[1]: key must be the name of a TSIG key',
    ]);
    expect(aclProblems([{ action: 'ACCEPT', key: 'bad..x' }], 'update_acl')).toEqual([expect.stringMatching(/^update_acl\[0\]: key name "bad\.\.x" is not a domain name/)]);
  });

  it('key_names_compared_as_the_keyring_holds_them: "sp ace" in an ACL is the key sp\\032ace. a request was verified with, whatever the case', () => {
    const acl = [{ action: 'ACCEPT' as const, key: 'Sp Ace' }];
    expect(decide(acl, '127.0.0.1', 'sp\\032ace.')).toBe('ACCEPT');
    expect(decide(acl, '127.0.0.1', 'space.')).toBe('REJECT');
  });
});
