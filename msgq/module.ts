import type { Envelope } from '../protocol/envelope.js';
import { ProtocolError } from '../protocol/errors.js';
import { createAnswer, parseCommand, RCODE_ERROR, RCODE_OK } from '../protocol/message.js';
import { MSGQ_GROUP, MSGQ_LNAME, type Bus } from './bus.js';
import type { Client } from './client.js';

/**
 * msgq as a member of its own bus (group `Msgq`), as in later BIND 10.
 * Commands: `members` answers the lnames on the bus, or with {group} those
 * subscribed to that group; `getstats` its counters (counters.ts). Returns
 * whether the message was taken.
 */
export function handleMsgqCommand(bus: Bus, client: Client, env: Envelope, body: Buffer): boolean {
  // Replies and notifications addressed to the group are not commands.
  if (env.reply !== undefined) return false;
  let decoded: unknown;
  try {
    decoded = body.length > 0 ? client.codec!.decode(body) : undefined;
  } catch (err) {
    answer(bus, client, env, createAnswer(RCODE_ERROR, (err as Error).message));
    return true;
  }
  if (decoded && typeof decoded === 'object' && 'notification' in decoded) return false;
  answer(bus, client, env, run(bus, decoded));
  return true;
}

function run(bus: Bus, body: unknown): unknown {
  let name: string;
  let args: unknown;
  try {
    ({ name, args } = parseCommand(body));
  } catch (err) {
    return createAnswer(RCODE_ERROR, (err as ProtocolError).message);
  }
  switch (name) {
    case 'members': {
      if (args === undefined || args === null) return createAnswer(RCODE_OK, bus.lnames());
      const group = (args as { group?: unknown }).group;
      if (typeof args !== 'object' || (group !== undefined && typeof group !== 'string')) {
        return createAnswer(RCODE_ERROR, 'members: argument must be {group: string}');
      }
      if (group === undefined) return createAnswer(RCODE_OK, bus.lnames());
      return createAnswer(RCODE_OK, bus.table.members(group).map((c) => c.lname));
    }
    case 'getstats':
      return createAnswer(RCODE_OK, bus.counters.snapshot(bus.lnames().length));
    default:
      return createAnswer(RCODE_ERROR, `unknown command: ${name}`);
  }
}

function answer(bus: Bus, client: Client, env: Envelope, body: unknown): void {
  bus.sendFromMsgq(
    client,
    {
      type: 'send',
      from: MSGQ_LNAME,
      to: client.lname,
      group: MSGQ_GROUP,
      instance: env.instance ?? '*',
      seq: bus.nextSeq(),
      reply: env.seq,
    },
    body,
  );
}
