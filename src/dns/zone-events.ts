import { ZONE_EVENTS, ZONE_LOADED } from '../../protocol/groups.js';
import { createNotification } from '../../protocol/message.js';
import type { Session } from '../../protocol/session.js';

/** How a zone came to be loaded anew. */
export type ZoneLoadedHow = 'load' | 'transfer' | 'update';

/**
 * Announces that auth confirmed serving `origin` as now stored (group
 * cc_zones), for whoever watches: cmdctl's console, the fleet's bridge.
 * Said by the writer, who alone knows how the zone changed; a bus that is
 * gone meanwhile loses the announcement, never the load.
 */
export function announceZoneLoaded(session: Session, origin: string, how: ZoneLoadedHow): void {
  if (!session.isConnected) return;
  try {
    session.send(ZONE_EVENTS, createNotification(ZONE_LOADED, { origin, how }));
  } catch {
    // The session closed between the check and the send: nobody to tell.
  }
}
