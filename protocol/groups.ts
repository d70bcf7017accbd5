/** The bus groups b10's own parts answer or announce on: one name each, used everywhere. */

/** msgq itself, answering `members`. */
export const MSGQ_GROUP = 'Msgq';
/** msgq's announcements of clients connecting, subscribing, unsubscribing and leaving. */
export const MEMBERS_GROUP = 'cc_members';
/** The config manager. */
export const CONFIG_MANAGER = 'ConfigManager';
/** The config manager's announcements: committed changes and spec registrations. */
export const CONFIG_NOTIFICATIONS = 'cc_config';
/** The boss. */
export const BOSS = 'Boss';
/** The boss's announcements of component state changes. */
export const COMPONENT_EVENTS = 'cc_components';
/** The notification on COMPONENT_EVENTS: `{name, state, pid, restarts, reason?}` (reason: why a run failed). */
export const COMPONENT_STATE = 'component';
/** Announcements of zones auth serves anew, made by whoever had auth load one once auth confirmed it. */
export const ZONE_EVENTS = 'cc_zones';
/** The notification on ZONE_EVENTS: `{origin, how}`, how being `load` (b10 zone load), `transfer` (xfrin) or `update` (ddns). */
export const ZONE_LOADED = 'zone_loaded';
