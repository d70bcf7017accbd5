import type { Socket } from 'node:net';
import { AnswerError } from '../../protocol/errors.js';
import { AXFR_HANDOFF, SUPERVISED_ENV, UPDATE_ANSWER, type UpdateAnswer } from '../daemon.js';
import { absolute } from '../dns/name.js';
import type { ZoneChange } from '../dns/zone-changes.js';
import { Zone } from '../dns/zone.js';
import type { ZoneStore } from '../dns/zone-store.js';
import type { Logger } from '../log.js';
import type { AuthServer } from './server.js';
import { UpdateRelay } from './update-relay.js';

/**
 * What answering DNS takes from the process auth runs in, the same for a
 * lone auth and for each of its workers: transfers and updates go up the
 * IPC channel (to the boss, or to auth's primary, which passes them on),
 * and zones come from the zone store.
 */

const hasParent = (): boolean => process.env[SUPERVISED_ENV] === '1' && process.connected && process.send !== undefined;

/** Hands a transfer's connection up the IPC channel, for xfrout; false when there is nobody to take it. */
export function parentHandOff(log: Logger): (socket: Socket, query: Buffer) => boolean {
  return (socket, query) => {
    if (!hasParent()) return false;
    process.send!({ type: AXFR_HANDOFF, query: query.toString('base64') }, socket, {}, (err) => {
      if (err) log.warn({ err }, 'cannot hand a transfer on');
    });
    return true;
  };
}

/** Updates go up the IPC channel, for ddns; its answers come back the same way. */
export function parentUpdateRelay(log: Logger): UpdateRelay {
  const updates = new UpdateRelay((handoff) => {
    if (!hasParent()) return false;
    process.send!(handoff, (err: Error | null) => {
      if (err) log.warn({ err }, 'cannot hand an update on');
    });
    return true;
  }, log);
  process.on('message', (message: unknown) => {
    if ((message as UpdateAnswer | null)?.type === UPDATE_ANSWER) updates.settle(message as UpdateAnswer);
  });
  return updates;
}

/** What a zone load answers: the zone served now, or that it is no longer served. */
export type Loaded = { origin: string; serial: number; records: number } | { origin: string; served: false };

/** Serves every zone of the store. */
export function serveStoredZones(server: AuthServer, store: ZoneStore): void {
  for (const { name } of store.zones()) server.setZone(new Zone(name, store.iterate(name)!));
}

/** The zone as it is after `changes`, built from the one served when they start from its serial; else undefined. */
function changed(server: AuthServer, name: string, changes: ZoneChange[] | undefined): Zone | undefined {
  let zone = server.zone(name);
  for (const change of changes ?? []) {
    if (zone?.serial !== change.from) return undefined;
    zone = zone.withChanges(change.removed, change.added);
  }
  return changes && zone;
}

/**
 * Serves `origin` as it is now: `changes` applied in memory when they start
 * from the serial served, else the zone read whole from the store; dropped
 * when the store no longer has it. Throws AnswerError for a zone neither
 * stored nor served.
 */
export function loadZone(server: AuthServer, store: ZoneStore, log: Logger, origin: string, changes: ZoneChange[] | undefined): Loaded {
  const name = absolute(origin, '.');
  let zone = changed(server, name, changes);
  if (zone) {
    log.debug({ zone: name, serial: zone.serial, changes: changes!.length }, 'zone changed in memory');
  } else {
    const records = store.iterate(name);
    if (!records) {
      if (!server.removeZone(name)) throw new AnswerError(1, `no zone ${name} in the store`);
      log.info({ zone: name }, 'zone dropped: no longer served');
      return { origin: name, served: false };
    }
    zone = new Zone(name, records);
    log.info({ zone: name, serial: zone.serial, records: zone.records }, 'zone loaded');
  }
  server.setZone(zone);
  return { origin: name, serial: zone.serial, records: zone.records };
}
