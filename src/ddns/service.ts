import { aclProblems, decide, type AclEntry } from '../dns/acl.js';
import { bareResponse, formerr, RCODE } from '../dns/message.js';
import { absolute } from '../dns/name.js';
import { soaTimers } from '../dns/rdata.js';
import type { ZoneChange } from '../dns/zone-changes.js';
import { checkRequest, Keyring, tsigErrorName, type ResponseSigner } from '../dns/tsig.js';
import { ZoneStore, ZoneStoreError } from '../dns/zone-store.js';
import type { Logger } from '../log.js';
import { UpdateCounters } from './counters.js';
import { CLASS_IN, parseUpdate } from './update-message.js';
import { processUpdate, ZoneData } from './update.js';

/** One entry of DDNS/zones: a zone, and who may update it. */
export interface ZoneConfig {
  origin: string;
  update_acl: AclEntry[];
}

/** Who sent an update: its address and transport. */
export interface Client {
  address: string;
  transport: 'udp' | 'tcp';
}

/** What became of one UPDATE: the response to send (none for a packet dropped), and the zone it changed and how. */
export interface Handled {
  response: Buffer | undefined;
  changed?: { zone: string; change: ZoneChange };
}

const SOA = 6;

export class DdnsConfigError extends Error {}

/** DDNS/zones checked: absolute names, each once, every ACL entry sound. */
export function zonesFrom(entries: readonly ZoneConfig[]): Map<string, AclEntry[]> {
  const out = new Map<string, AclEntry[]>();
  entries.forEach((entry, i) => {
    let origin: string;
    try {
      origin = absolute(String(entry.origin), '.');
    } catch (err) {
      throw new DdnsConfigError(`zones[${i}]: bad origin ${JSON.stringify(entry.origin)}: ${(err as Error).message}`);
    }
    if (out.has(origin)) throw new DdnsConfigError(`zones[${i}]: ${origin} is listed twice`);
    const problems = aclProblems(entry.update_acl ?? [], `zones[${i}].update_acl`);
    if (problems.length > 0) throw new DdnsConfigError(problems.join('; '));
    out.set(origin, entry.update_acl ?? []);
  });
  return out;
}

/**
 * ddns's work on one UPDATE, from the packet to the response: which zone,
 * whether this client may update it, then RFC 2136's checks and changes
 * (update.ts), written to the store in one transaction before the answer
 * says NOERROR. Updates are handled one at a time, each whole: there is
 * one writer, and better-sqlite3 does not yield in the middle of one.
 * Each zone is held in memory between updates, read again from the store
 * when its SOA there is not the one ddns last wrote or read (the zone was
 * loaded or transferred meanwhile).
 */
export class UpdateService {
  /** DDNS/zones: the zones that take updates, with their ACLs. */
  zones: ReadonlyMap<string, readonly AclEntry[]> = new Map();
  /** The keys a signed update is checked with (RFC 8945); its answer is signed with the same key. */
  keyring = new Keyring();
  /** Updates by zone and the rcode they were answered, for getstats. */
  readonly counters = new UpdateCounters();
  /** Whether a zone is one b10 is a secondary for (Xfrin's): updates go to its primary, not here. */
  isSecondary: (zone: string) => boolean = () => false;
  private store: ZoneStore | undefined;
  private readonly held = new Map<string, ZoneData>();

  constructor(
    private readonly dataPath: string,
    private readonly log: Logger,
  ) {}

  handle(packet: Buffer, client: Client): Handled {
    const parsed = parseUpdate(packet);
    if (parsed.kind === 'drop') return { response: undefined };
    if (parsed.kind === 'formerr') {
      this.log.info({ client: client.address, why: parsed.why }, 'update malformed: FORMERR');
      this.counters.count('', RCODE.FORMERR);
      return { response: formerr(parsed) };
    }
    const { query, prerequisites, updates } = parsed.message;
    // A signed update is checked before anything else (RFC 8945 5.2); the ACL then sees the key it was signed with.
    let signer: ResponseSigner | undefined;
    const check = checkRequest(packet, this.keyring);
    if (check.status === 'bad') {
      this.log.warn({ client: client.address, zone: query.qname, key: check.keyName, tsigError: tsigErrorName(check.error), why: check.why }, 'update refused: its TSIG does not verify');
      this.counters.count(query.qname, check.rcode);
      return { response: check.finish(bareResponse(query, check.rcode)) };
    }
    if (check.status === 'signed') signer = check.signer;
    const keyName = signer?.key.name;
    const answer = (rcode: number, why?: string, changed?: Handled['changed']): Handled => {
      if (why !== undefined) this.log.info({ client: client.address, key: keyName, zone: query.qname, rcode, why }, 'update not applied');
      this.counters.count(query.qname, rcode);
      const response = bareResponse(query, rcode);
      return { response: signer ? signer.sign(response) : response, changed };
    };
    if (query.qtype !== SOA) return answer(RCODE.FORMERR, `the zone section asks for type ${query.qtype}, not SOA`);
    const zone = query.qname;
    if (query.qclass !== CLASS_IN || this.isSecondary(zone)) return answer(RCODE.NOTAUTH, 'b10 is not the primary for this zone');
    const acl = this.zones.get(zone);
    const data = this.zoneData(zone);
    if (!data) return answer(RCODE.NOTAUTH, 'no such zone in the store');
    if (!acl) return answer(RCODE.REFUSED, 'the zone takes no updates (not in DDNS/zones)');
    if (decide(acl, client.address, keyName) !== 'ACCEPT') return answer(RCODE.REFUSED, 'refused by the zone\'s update_acl');
    if (data.signed) {
      this.log.warn({ client: client.address, zone }, 'update refused: the zone is signed (DNSKEY at its apex) and b10 does not sign');
      return answer(RCODE.REFUSED);
    }
    const outcome = processUpdate(data, prerequisites, updates);
    if (outcome.rcode !== RCODE.NOERROR) return answer(outcome.rcode, outcome.why);
    if (!outcome.diff) return answer(RCODE.NOERROR);
    try {
      this.openStore().applyDifference(zone, outcome.diff);
    } catch (err) {
      // The store changed under the zone held here (a record to remove is gone): read it again next time.
      this.held.delete(zone);
      if (!(err instanceof ZoneStoreError)) throw err;
      this.log.error({ client: client.address, zone, err: err.message }, 'update not written: SERVFAIL');
      return answer(RCODE.SERVFAIL);
    }
    const from = soaTimers(data.soa.rdata).serial;
    data.apply(outcome.diff);
    this.log.info({ client: client.address, key: keyName, zone, serial: outcome.serial, removed: outcome.diff.removed.length, added: outcome.diff.added.length }, 'update applied');
    return answer(RCODE.NOERROR, undefined, { zone, change: { from, ...outcome.diff } });
  }

  close(): void {
    this.store?.close();
    this.store = undefined;
  }

  private openStore(): ZoneStore {
    this.store ??= ZoneStore.open(this.dataPath);
    return this.store;
  }

  /** The zone as the store has it now: the one held, unless its SOA there changed; undefined when there is no such zone. */
  private zoneData(zone: string): ZoneData | undefined {
    const store = this.openStore();
    const soa = store.soa(zone);
    if (!soa) {
      this.held.delete(zone);
      return undefined;
    }
    let data = this.held.get(zone);
    if (data && data.soa.ttl === soa.ttl && data.soa.rdata.equals(soa.rdata)) return data;
    data = new ZoneData(zone, store.iterate(zone)!);
    this.held.set(zone, data);
    return data;
  }
}
