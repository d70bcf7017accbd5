import { INSTANCE_ANY, TO_ANY, type Envelope } from '../../protocol/envelope.js';
import type { Frame } from '../../protocol/framing.js';
import { createAnswer, RCODE_NO_RECIPIENT } from '../../protocol/message.js';
import { MSGQ_GROUP, MSGQ_LNAME, type Bus } from '../bus.js';
import type { Client } from '../client.js';
import { handleMsgqCommand } from '../module.js';
import { standingRoute } from '../standing-route.js';

/**
 * Group delivery (`to: "*"`) or direct delivery (`to: LNAME`), never back to
 * the sender. msgq sets `from` itself, so nobody can speak as another client.
 */
export function handleSend(bus: Bus, client: Client, env: Envelope, frame: Frame): void {
  const asSent = env.from === client.lname && env.instance !== undefined;
  // When only `from` is wrong, the sender's lname is spliced into the header
  // bytes instead of the whole header being encoded again.
  const splice = !asSent && env.instance !== undefined && client.headers.fromStart >= 0;
  env.from = client.lname;
  env.instance ??= INSTANCE_ANY;
  const group = env.group!;
  const to = env.to!;

  let received = 0;
  let recipients: readonly Client[];
  client.route = undefined;
  client.splicedRoute = undefined;
  if (to === TO_ANY) {
    recipients = bus.table.recipients(group, env.instance);
    if (group === MSGQ_GROUP) {
      if (handleMsgqCommand(bus, client, env, frame.body)) received++;
    } else if (asSent) {
      client.route = standingRoute(client, env, bus.table, recipients);
    }
  } else if (to === MSGQ_LNAME) {
    recipients = [];
    if (handleMsgqCommand(bus, client, env, frame.body)) received++;
  } else {
    const target = bus.client(to);
    recipients = target ? [target] : [];
    // A responder answering one caller: its header repeats but for seq and reply.
    if (target && asSent) client.route = standingRoute(client, env, bus.table, recipients);
  }

  if (recipients.length > 0) received += bus.forward(client, env, frame, asSent, recipients, splice);

  if (received === 0 && env.want_answer === true && env.reply === undefined) {
    bus.counters.noRecipient++;
    // As the original: the request's own header, turned around. Replies never
    // get this, so two parties cannot bounce errors at each other forever.
    bus.sendFromMsgq(
      client,
      { ...env, from: MSGQ_LNAME, to: client.lname, reply: env.seq },
      createAnswer(RCODE_NO_RECIPIENT, 'No such recipient'),
    );
  }
}
