import { ProtocolError } from './errors.js';

/** Routing header of every bus message: one definition, validated at the edge. */
export interface Envelope {
  type: MessageType;
  from?: string;
  to?: string;
  group?: string;
  instance?: string;
  seq?: number;
  reply?: number;
  want_answer?: boolean;
  /** Unknown fields are carried, so newer peers can add some. */
  [extra: string]: unknown;
}

/** A `send` as delivered by msgq: the routing fields are always present. */
export interface SendEnvelope extends Envelope {
  type: 'send';
  from: string;
  to: string;
  group: string;
  instance: string;
  seq: number;
}

export const CLIENT_TYPES = ['getlname', 'subscribe', 'unsubscribe', 'send', 'ping', 'stop'] as const;
/** `auth` comes only to refuse a connection's token (see handshake.ts). */
export const SERVER_TYPES = ['getlname', 'pong', 'send', 'auth'] as const;
export type MessageType = (typeof CLIENT_TYPES)[number] | (typeof SERVER_TYPES)[number];

export const TO_ANY = '*';
export const INSTANCE_ANY = '*';

const FIELD_TYPES: Record<string, 'string' | 'integer' | 'boolean'> = {
  type: 'string',
  from: 'string',
  to: 'string',
  group: 'string',
  instance: 'string',
  seq: 'integer',
  reply: 'integer',
  want_answer: 'boolean',
};

const REQUIRED: Partial<Record<MessageType, readonly string[]>> = {
  subscribe: ['group'],
  unsubscribe: ['group'],
  send: ['to', 'group', 'seq'],
};

function fieldOk(kind: 'string' | 'integer' | 'boolean', value: unknown): boolean {
  if (kind === 'integer') return Number.isSafeInteger(value);
  return typeof value === kind;
}

/**
 * Checks a decoded header against the envelope rules for messages coming from
 * `side` ('client' for what msgq receives, 'server' for what clients receive).
 */
export function parseEnvelope(value: unknown, side: 'client' | 'server' = 'client'): Envelope {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
    throw new ProtocolError('ERR_HEADER_NOT_MAP', 'header is not a map');
  }
  const env = value as Record<string, unknown>;
  for (const key in env) {
    const kind = FIELD_TYPES[key];
    if (kind !== undefined && !fieldOk(kind, env[key])) {
      throw new ProtocolError('ERR_FIELD_TYPE', `header field "${key}" must be ${kind === 'integer' ? 'an' : 'a'} ${kind}`);
    }
  }
  return parseTypedEnvelope(env, side);
}

/**
 * parseEnvelope for a header whose known fields are already of the right
 * types (the fast header decoder checks them as it reads): the type and the
 * required fields are left to check.
 */
export function parseTypedEnvelope(env: Record<string, unknown>, side: 'client' | 'server' = 'client'): Envelope {
  const type = env.type;
  if (type === undefined) throw new ProtocolError('ERR_FIELD_MISSING', 'header has no "type"');
  const known: readonly string[] = side === 'client' ? CLIENT_TYPES : SERVER_TYPES;
  if (!known.includes(type as string)) {
    throw new ProtocolError('ERR_UNKNOWN_TYPE', `unknown message type "${String(type)}"`);
  }
  for (const key of REQUIRED[type as MessageType] ?? []) {
    if (env[key] === undefined) throw new ProtocolError('ERR_FIELD_MISSING', `${String(type)} header has no "${key}"`);
  }
  return env as Envelope;
}
