import { isIP } from 'node:net';
import { keyNameOf } from './tsig.js';

/**
 * ACLs as BIND 10 had them: an ordered list of {action: ACCEPT | REJECT,
 * from: address or CIDR, key: TSIG key name}, an entry matching when all
 * it gives match (the address, and the key the request was signed and
 * verified with); first match wins, nothing matched is REJECT. Pure.
 */

export type Action = 'ACCEPT' | 'REJECT';

export interface AclEntry {
  action: Action;
  from?: string;
  /** A key of the keyring: the request must be signed with it. */
  key?: string;
}

/** The default: transfers to this machine's own loopback addresses only. */
export const DEFAULT_TRANSFER_ACL: readonly AclEntry[] = Object.freeze([
  { action: 'ACCEPT', from: '127.0.0.1' },
  { action: 'ACCEPT', from: '::1' },
]);

export class AclError extends Error {}

/** An address as bytes (IPv4-mapped IPv6 taken as IPv4). Throws AclError for anything else. */
export function addressBytes(address: string): number[] {
  const v4 = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  if (isIP(v4) === 4) return v4.split('.').map(Number);
  if (isIP(v4) !== 6) throw new AclError(`"${address}" is not an IP address`);
  const [left, right] = v4.split('::') as [string, string | undefined];
  const groups = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const l = groups(left);
  const r = right === undefined ? [] : groups(right);
  const all = right === undefined ? l : [...l, ...new Array<number>(8 - l.length - r.length).fill(0), ...r];
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}

/** Whether `address` falls in `from` (an address, or address/prefix). Throws AclError for a bad `from`. */
export function matches(from: string, address: string): boolean {
  const [base, prefixText] = from.split('/') as [string, string | undefined];
  const net = addressBytes(base);
  const prefix = prefixText === undefined ? net.length * 8 : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > net.length * 8) throw new AclError(`"${from}": bad prefix length`);
  const addr = addressBytes(address);
  if (addr.length !== net.length) return false;
  for (let bit = 0; bit < prefix; bit++) {
    const mask = 0x80 >> bit % 8;
    if ((addr[bit >> 3]! & mask) !== (net[bit >> 3]! & mask)) return false;
  }
  return true;
}

/** Whether two key names are one, compared as keyrings hold them (a name that is none matches nothing). */
function sameKey(a: string, b: string): boolean {
  try {
    return keyNameOf(a) === keyNameOf(b);
  } catch {
    return false;
  }
}

/** Whether one entry matches: every condition it gives. */
function entryMatches(entry: AclEntry, address: string, key: string | undefined): boolean {
  if (entry.from !== undefined && !matches(entry.from, address)) return false;
  return entry.key === undefined || (key !== undefined && sameKey(entry.key, key));
}

/** The action for `address`, whose request was verified with key `key` (none: unsigned): the first entry that matches, else REJECT. */
export function decide(acl: readonly AclEntry[], address: string, key?: string): Action {
  for (const entry of acl) if (entryMatches(entry, address, key)) return entry.action;
  return 'REJECT';
}

/** Checks an ACL from configuration (`name` is its item, for the messages); the problems, one per bad entry. */
export function aclProblems(acl: readonly AclEntry[], name = 'transfer_acl'): string[] {
  const out: string[] = [];
  acl.forEach((entry, i) => {
    if (entry.action !== 'ACCEPT' && entry.action !== 'REJECT') out.push(`${name}[${i}]: action must be ACCEPT or REJECT`);
    if (entry.from === undefined && entry.key === undefined) out.push(`${name}[${i}]: give from, key or both`);
    if (entry.key !== undefined && (typeof entry.key !== 'string' || entry.key === '')) out.push(`${name}[${i}]: key must be the name of a TSIG key`);
    else if (entry.key !== undefined) {
      try {
        keyNameOf(entry.key);
      } catch (err) {
        out.push(`${name}[${i}]: ${(err as Error).message}`);
      }
    }
    if (entry.from === undefined) return;
    try {
      matches(entry.from, '127.0.0.1');
    } catch (err) {
      out.push(`${name}[${i}]: ${(err as Error).message}`);
    }
  });
  return out;
}
