import { createRequire } from 'node:module';
import dnsPacket from 'dns-packet';
import type { ZoneRecord } from './master-file.js';
import { absolute } from './name.js';
import { canonicalIpv6, quote, TYPE_CODES } from './rdata.js';

/**
 * Records decoded by dns-packet (from a transfer) in b10's canonical
 * presentation form, as the master-file parser makes them, so a zone reads
 * the same whichever way it came in. Types b10 does not spell are kept as
 * RFC 3597 `\# len hex` of their RDATA.
 */

const fqdn = (name: string): string => absolute(name === '' ? '.' : name.endsWith('.') ? name : `${name}.`, '.');

/** dns-packet's record codec and type table, which its type declarations leave out. */
const packet = dnsPacket as unknown as { answer: { encode(a: dnsPacket.Answer): Buffer } };
const types = createRequire(import.meta.url)('dns-packet/types.js') as { toType(name: string): number };

/** The RDATA bytes of a record, as dns-packet would put it on the wire (names uncompressed). */
function rdataBytes(answer: dnsPacket.Answer): Buffer {
  const wire = packet.answer.encode(answer);
  const nameEnd = (() => {
    let pos = 0;
    while (wire[pos] !== 0) pos += wire[pos]! + 1;
    return pos + 1;
  })();
  return wire.subarray(nameEnd + 10);
}

function typeCode(type: string): number {
  if (type in TYPE_CODES) return TYPE_CODES[type]!;
  if (type.startsWith('UNKNOWN_')) return Number(type.slice(8));
  return types.toType(type);
}

export function recordFromWire(answer: dnsPacket.Answer): ZoneRecord | undefined {
  if (answer.type === 'OPT') return undefined;
  const a = answer as { name: string; type: string; ttl?: number; data: unknown };
  const name = fqdn(a.name);
  const ttl = a.ttl ?? 0;
  const d = a.data as Record<string, unknown> & string & Buffer[];
  const rdata = ((): string => {
    switch (a.type) {
      case 'A':
        return d;
      case 'AAAA':
        return canonicalIpv6(d);
      case 'NS':
      case 'CNAME':
      case 'PTR':
      case 'DNAME':
        return fqdn(d);
      case 'MX':
        return `${d.preference as number} ${fqdn(d.exchange as string)}`;
      case 'SOA':
        return `${fqdn(d.mname as string)} ${fqdn(d.rname as string)} ${d.serial as number} ${d.refresh as number} ${d.retry as number} ${d.expire as number} ${d.minimum as number}`;
      case 'TXT':
        return (Array.isArray(d) ? d : [d]).map((s) => quote(Buffer.from(s as unknown as Buffer))).join(' ');
      case 'SRV':
        return `${d.priority as number} ${d.weight as number} ${d.port as number} ${fqdn(d.target as string)}`;
      case 'CAA':
        return `${d.flags as number} ${String(d.tag).toLowerCase()} ${quote(Buffer.from(String(d.value), 'latin1'))}`;
      default: {
        const bytes = Buffer.isBuffer(a.data) ? (a.data as Buffer) : rdataBytes(answer);
        return `\\# ${bytes.length}${bytes.length > 0 ? ` ${bytes.toString('hex').toUpperCase()}` : ''}`;
      }
    }
  })();
  return { name, ttl, type: typeCode(a.type), rdata };
}
