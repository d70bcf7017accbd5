/**
 * The WebSocket protocol's requests, one definition each, checked here at
 * the edge. Every request carries an `id` that its answer repeats:
 *   {id, module, command, args?}            a command to a module over the bus
 *   {id, config: "show", target?}           configuration, defaults filled in
 *   {id, config: "set", target, value}      one change, checked by the config manager
 *   {id, config: "unset", target}           back to the default
 *   {id, config: "spec", module?}           one module's spec, or all of them
 *   {id, events: true|false}                live events on this socket, or no more
 * Answers are {id, result: [rcode]} or {id, result: [rcode, value]}.
 */

export type RequestId = string | number | null;

export type OperatorRequest =
  | { kind: 'command'; id: RequestId; module: string; command: string; args?: unknown }
  | { kind: 'config'; id: RequestId; op: 'show'; target?: string }
  | { kind: 'config'; id: RequestId; op: 'set'; target: string; value: unknown }
  | { kind: 'config'; id: RequestId; op: 'unset'; target: string }
  | { kind: 'config'; id: RequestId; op: 'spec'; module?: string }
  | { kind: 'events'; id: RequestId; on: boolean };

/** A request that cannot be carried out as written; answered with rcode 1 and this text, under the request's id when it had one. */
export class BadRequest extends Error {
  constructor(
    readonly id: RequestId,
    message: string,
  ) {
    super(message);
    this.name = 'BadRequest';
  }
}

const CONFIG_OPS = ['show', 'set', 'unset', 'spec'] as const;

function optionalString(request: Record<string, unknown>, id: RequestId, key: string): string | undefined {
  const value = request[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new BadRequest(id, `${key} must be a non-empty string`);
  return value;
}

function requiredString(request: Record<string, unknown>, id: RequestId, key: string, what: string): string {
  const value = optionalString(request, id, key);
  if (value === undefined) throw new BadRequest(id, `${what} needs ${key}`);
  return value;
}

export function parseRequest(text: string): OperatorRequest {
  let request: unknown;
  try {
    request = JSON.parse(text);
  } catch {
    throw new BadRequest(null, 'a request is a JSON object: {id, module, command, args?}, {id, config, ...} or {id, events}');
  }
  if (request === null || typeof request !== 'object' || Array.isArray(request)) {
    throw new BadRequest(null, 'a request is a JSON object: {id, module, command, args?}, {id, config, ...} or {id, events}');
  }
  const r = request as Record<string, unknown>;
  const id: RequestId = typeof r.id === 'string' || typeof r.id === 'number' ? r.id : null;
  if (r.id !== undefined && r.id !== null && id === null) throw new BadRequest(null, 'id must be a string or a number');

  if ('config' in r) {
    const op = CONFIG_OPS.find((o) => o === r.config);
    if (!op) throw new BadRequest(id, `config must be one of ${CONFIG_OPS.join(', ')}`);
    switch (op) {
      case 'show':
        return { kind: 'config', id, op, target: optionalString(r, id, 'target') };
      case 'set':
        if (!('value' in r)) throw new BadRequest(id, 'config set needs value');
        return { kind: 'config', id, op, target: requiredString(r, id, 'target', 'config set'), value: r.value };
      case 'unset':
        return { kind: 'config', id, op, target: requiredString(r, id, 'target', 'config unset') };
      case 'spec':
        return { kind: 'config', id, op, module: optionalString(r, id, 'module') };
    }
  }
  if ('events' in r) {
    if (typeof r.events !== 'boolean') throw new BadRequest(id, 'events must be true or false');
    return { kind: 'events', id, on: r.events };
  }
  const module = requiredString(r, id, 'module', 'a command');
  const command = requiredString(r, id, 'command', 'a command');
  return r.args === undefined ? { kind: 'command', id, module, command } : { kind: 'command', id, module, command, args: r.args };
}
