import net from 'node:net';

/**
 * The pure half of moving auth's listening addresses: which endpoints a
 * list may hold, which sockets a move keeps, opens and closes, and what a
 * failed bind says to the operator. The sockets themselves are server.ts's.
 */

export interface Endpoint {
  address: string;
  port: number;
}

/** An endpoint listened on: as asked (port 0: any), and as bound. */
export interface Bound {
  asked: Endpoint;
  bound: Endpoint;
}

/** Auth cannot listen where it was asked; the message says where and why, `bindCode` is the system's code when a bind failed. */
export class ListenError extends Error {
  readonly code = 'ERR_AUTH_LISTEN';

  constructor(
    message: string,
    readonly bindCode?: string,
  ) {
    super(message);
  }
}

export const formatEndpoint = ({ address, port }: Endpoint): string => (net.isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`);

/**
 * Throws ListenError for what could never be bound, before anything is
 * tried: a name rather than an address (a name would cost a lookup, and
 * auth answers on addresses), a port out of range, an endpoint listed twice.
 */
export function checkEndpoints(endpoints: readonly Endpoint[]): void {
  const seen = new Set<string>();
  for (const { address, port } of endpoints) {
    if (net.isIP(address) === 0) throw new ListenError(`"${address}" is not an IPv4 or IPv6 address`);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ListenError(`port ${port} of ${address} is not within 0..65535`);
    const key = formatEndpoint({ address, port });
    // Port 0 twice asks for two ports, each picked by the system.
    if (port !== 0 && seen.has(key)) throw new ListenError(`${key} is listed twice`);
    seen.add(key);
  }
}

const same = (a: Endpoint, b: Endpoint): boolean => a.address === b.address && a.port === b.port;

/** Whether the listener answers on `wanted`: asked for in the same words, or bound there (a port picked earlier, named now). */
function serves(listener: Bound, wanted: Endpoint): boolean {
  return same(listener.asked, wanted) || (wanted.port !== 0 && same(listener.bound, wanted));
}

export interface Move<L extends Bound> {
  /** For each endpoint wanted, in order: the listener kept for it, or undefined when one must be opened. */
  kept: (L | undefined)[];
  /** The listeners no endpoint wants any more. */
  dropped: L[];
}

/** What a move from `current` to `wanted` keeps, opens and drops: an endpoint still wanted keeps its sockets. */
export function planMove<L extends Bound>(current: readonly L[], wanted: readonly Endpoint[]): Move<L> {
  const free = [...current];
  const kept = wanted.map((endpoint) => {
    const index = free.findIndex((listener) => serves(listener, endpoint));
    return index < 0 ? undefined : free.splice(index, 1)[0];
  });
  return { kept, dropped: free };
}

/**
 * Whether binding `endpoint` may have failed with `err` because of one of
 * auth's own listeners on their way out: the same port on an address that
 * overlaps (0.0.0.0 and 127.0.0.1, say) cannot be bound twice.
 */
export function blockedByOwn(err: unknown, endpoint: Endpoint, dropped: readonly Bound[]): boolean {
  return err instanceof ListenError && err.bindCode === 'EADDRINUSE' && endpoint.port !== 0 && dropped.some((l) => l.bound.port === endpoint.port);
}

const REASONS: Record<string, string> = {
  EADDRINUSE: 'the port is in use by another program',
  EADDRNOTAVAIL: 'the address is not on this host',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EAFNOSUPPORT: 'this host has no such address family',
};

/** What the operator reads when binding `endpoint` over `transport` failed with `err`. */
export function bindFailure(endpoint: Endpoint, transport: 'UDP' | 'TCP', err: NodeJS.ErrnoException): ListenError {
  const reason = err.code === undefined ? undefined : REASONS[err.code];
  const why = reason === undefined ? err.message : `${reason} (${err.code})`;
  return new ListenError(`cannot listen on ${formatEndpoint(endpoint)} (${transport}): ${why}`, err.code);
}

/**
 * The ports a move to `wanted` keeps from before: an endpoint asked as port
 * 0 in the same words as before keeps the port picked for it then (as a
 * lone auth keeps its listener); undefined where a port is still to be picked.
 */
export function keptPicks(wanted: readonly Endpoint[], askedBefore: readonly Endpoint[], boundBefore: readonly Endpoint[]): (number | undefined)[] {
  const free = askedBefore.map((asked, i) => ({ asked, port: boundBefore[i]?.port }));
  return wanted.map((endpoint) => {
    if (endpoint.port !== 0) return endpoint.port;
    const index = free.findIndex((f) => f.asked.port === 0 && f.asked.address === endpoint.address && f.port !== undefined);
    return index < 0 ? undefined : free.splice(index, 1)[0]!.port;
  });
}
