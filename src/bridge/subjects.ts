import type { Config } from '../../protocol/config-data.js';

/**
 * The NATS subjects of a b10 fleet, and what a bridge's configuration must
 * be for them to be well formed. Pure: no NATS, no bus.
 *
 *   b10.<host>.<group>   a command to one host's group
 *   b10.all.<group>      a command to that group on every host exporting it
 *   b10.<host>.events    what the host announces (component states, configuration changes)
 *   b10.hosts            every bridge answers with its host name and exported groups
 */

export const ROOT = 'b10';
/** The host token that addresses every host. */
export const ALL = 'all';
/** The group token of a host's events. */
export const EVENTS = 'events';
export const HOSTS_SUBJECT = `${ROOT}.hosts`;
/** Every host's events, for a subscriber. */
export const ALL_EVENTS_SUBJECT = `${ROOT}.*.${EVENTS}`;

/** The module a bridge registers as, and the boss's name for its component. */
export const BRIDGE_MODULE = 'Bridge';

/** One NATS subject token: no dots, wildcards or white space (NATS's own rule), and not empty. */
const TOKEN = /^[A-Za-z0-9_-]+$/;

export function hostSubject(host: string, group: string): string {
  return `${ROOT}.${host}.${group}`;
}

export function allSubject(group: string): string {
  return `${ROOT}.${ALL}.${group}`;
}

export function eventsSubject(host: string): string {
  return `${ROOT}.${host}.${EVENTS}`;
}

/** The subjects a bridge listens on for commands: its own and the fleet-wide one, for each exported group only. */
export function commandSubjects(host: string, exported: readonly string[]): string[] {
  return exported.flatMap((group) => [hostSubject(host, group), allSubject(group)]);
}

/** Whether `subject` is one of the fleet's own (b10. and on). */
export function isFleetSubject(subject: string): boolean {
  return subject === ROOT || subject.startsWith(`${ROOT}.`);
}

/** The group a command subject addresses; undefined for a subject of another shape. */
export function groupOf(subject: string): string | undefined {
  const parts = subject.split('.');
  return parts.length === 3 && parts[0] === ROOT ? parts[2] : undefined;
}

/** Why `host` cannot be a fleet host name; undefined when it can. */
export function hostProblem(host: string): string | undefined {
  if (!TOKEN.test(host)) return `host "${host}" must be letters, digits, - and _ only (it is a NATS subject token)`;
  if (host === ALL) return `host "${ALL}" is taken: it addresses every host`;
  return undefined;
}

/** Why `group` cannot be exported (nor addressed); undefined when it can. */
export function groupProblem(group: string): string | undefined {
  if (!TOKEN.test(group)) return `group "${group}" must be letters, digits, - and _ only (it is a NATS subject token)`;
  if (group === EVENTS) return `group "${EVENTS}" is taken: b10.<host>.events carries the host's events`;
  return undefined;
}

/** This host's name when the configuration gives none: the hostname up to its first dot, made a valid token. */
export function defaultHost(hostname: string): string {
  const short = hostname.split('.')[0]!.replace(/[^A-Za-z0-9_-]/g, '-');
  return short === '' || short === ALL ? 'b10' : short;
}

/** The NATS part of Bridge's configuration. */
export interface NatsSettings {
  servers: string[];
  credentials: string;
  ca: string;
  cert: string;
  key: string;
}

export function natsSettings(config: Config): NatsSettings {
  const nats = (config.nats ?? {}) as Partial<NatsSettings>;
  return {
    servers: Array.isArray(nats.servers) ? nats.servers.map(String) : [],
    credentials: String(nats.credentials ?? ''),
    ca: String(nats.ca ?? ''),
    cert: String(nats.cert ?? ''),
    key: String(nats.key ?? ''),
  };
}

/** The boss runs b10-bridge while this holds: NATS servers are configured. */
export function bridgeWanted(config: Config): boolean {
  return natsSettings(config).servers.length > 0;
}

/** What is wrong with a Bridge configuration the spec accepted: bad host, groups or server URLs. */
export function bridgeConfigProblems(config: Config): string[] {
  const problems: string[] = [];
  const host = typeof config.host === 'string' ? config.host : '';
  if (host !== '') {
    const problem = hostProblem(host);
    if (problem) problems.push(`host: ${problem}`);
  }
  const exported = Array.isArray(config.export) ? config.export.map(String) : [];
  exported.forEach((group, i) => {
    const problem = groupProblem(group);
    if (problem) problems.push(`export[${i}]: ${problem}`);
  });
  natsSettings(config).servers.forEach((server, i) => {
    const problem = serverProblem(server);
    if (problem) problems.push(`nats/servers[${i}]: ${problem}`);
  });
  return problems;
}

/**
 * A server URL as shown, published and logged: a password in it
 * (nats://user:password@host) or a token (nats://token@host) replaced by ****.
 */
export function maskServer(server: string): string {
  return server.replace(/^([a-z]+:\/\/)?([^@/]*)@/i, (_match, scheme: string | undefined, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    return `${scheme ?? ''}${colon === -1 ? '****' : `${userinfo.slice(0, colon)}:****`}@`;
  });
}

/** Bridge's configuration as operators and the fleet's events are shown it: the servers' passwords masked. */
export function maskBridgeConfig(config: Config): Config {
  const nats = config.nats as Config | undefined;
  if (!nats || !Array.isArray(nats.servers)) return config;
  return { ...config, nats: { ...nats, servers: nats.servers.map((server) => (typeof server === 'string' ? maskServer(server) : server)) } };
}

/** Why `server` is not a NATS server URL; undefined when it is. */
export function serverProblem(server: string): string | undefined {
  const problem = `"${server}" is not a NATS URL (nats://host:port, tls://host:port or host:port)`;
  try {
    const url = new URL(server.includes('://') ? server : `nats://${server}`);
    return ['nats:', 'tls:'].includes(url.protocol) && url.hostname !== '' ? undefined : problem;
  } catch {
    return problem;
  }
}
