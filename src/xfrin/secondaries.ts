import path from 'node:path';
import type { Config } from '../../protocol/config-data.js';
import { matches } from '../dns/acl.js';
import type { Primary } from '../dns/axfr-client.js';
import { absolute } from '../dns/name.js';
import { PROJECT_ROOT } from '../paths.js';

/**
 * Xfrin's zones as its configuration gives them, and who may NOTIFY them:
 * read by xfrin, and by auth to answer a NOTIFY as named does. Pure.
 */

export const XFRIN_SPEC = path.join(PROJECT_ROOT, 'src/xfrin/xfrin.spec');

/** Whether a refresh asks IXFR: yes (AXFR when IXFR cannot be had), no (AXFR always), only (never AXFR). */
export type RequestIxfr = 'yes' | 'no' | 'only';
const REQUEST_IXFR: readonly string[] = ['yes', 'no', 'only'];

export interface SecondaryZone {
  name: string;
  /** Undefined when `master_addr` is unset: the zone is transferred by hand only (retransfer with a master). */
  primary?: Primary;
  requestIxfr: RequestIxfr;
  /** The tsig_keys key its SOA queries and transfers are signed with, and their answers verified. */
  tsigKey?: string;
}

export class SecondaryConfigError extends Error {}

/** As the spec has checked it: an IP address, a port from 1 to 65535. */
interface ZoneItem {
  name: string;
  master_addr?: string;
  master_port: number;
  request_ixfr: string;
  tsig_key?: string;
}

/** The zones of Xfrin's configuration (defaults filled in), by absolute name; SecondaryConfigError naming a bad entry. */
export function secondaryZones(config: Config): Map<string, SecondaryZone> {
  const zones = new Map<string, SecondaryZone>();
  ((config.zones as ZoneItem[] | undefined) ?? []).forEach((z, i) => {
    let name: string;
    try {
      name = absolute(z.name, '.');
    } catch (err) {
      throw new SecondaryConfigError(`zones[${i}]: bad name ${JSON.stringify(z.name)}: ${(err as Error).message}`);
    }
    if (zones.has(name)) throw new SecondaryConfigError(`zones[${i}]: ${name} is listed twice`);
    const requestIxfr = z.request_ixfr ?? 'yes';
    if (!REQUEST_IXFR.includes(requestIxfr)) throw new SecondaryConfigError(`zones[${i}]: request_ixfr must be "yes", "no" or "only", not ${JSON.stringify(requestIxfr)}`);
    if (z.tsig_key !== undefined && z.tsig_key === '') throw new SecondaryConfigError(`zones[${i}]: tsig_key is empty: name a key of tsig_keys, or leave it out`);
    const primary = z.master_addr === undefined ? undefined : { address: z.master_addr, port: z.master_port };
    zones.set(name, { name, primary, requestIxfr: requestIxfr as RequestIxfr, ...(z.tsig_key === undefined ? {} : { tsigKey: z.tsig_key }) });
  });
  return zones;
}

/**
 * What a NOTIFY for `zone` from `from` gets, as named decides it: a zone
 * that is not a secondary here is not xfrin's business; one that is acts
 * only on its primary's word (RFC 1996 3.10), anyone else is refused.
 */
export type NotifyVerdict = 'accept' | 'refuse' | 'not-secondary';

export function notifyVerdict(zones: ReadonlyMap<string, SecondaryZone>, zone: string, from: string): NotifyVerdict {
  const secondary = zones.get(zone);
  if (!secondary) return 'not-secondary';
  if (!secondary.primary) return 'refuse';
  try {
    return matches(secondary.primary.address, from) ? 'accept' : 'refuse';
  } catch {
    // Not an address at all (a bus command can say anything).
    return 'refuse';
  }
}
