import { INSTANCE_ANY, type Envelope } from '../../protocol/envelope.js';
import type { Bus } from '../bus.js';
import type { Client } from '../client.js';

export function handleUnsubscribe(bus: Bus, client: Client, env: Envelope): void {
  const group = env.group!;
  const instance = env.instance ?? INSTANCE_ANY;
  if (!bus.table.remove(group, instance, client)) return;
  client.log.debug({ group, instance }, 'unsubscribed');
  bus.notifyMembers('unsubscribed', client.lname, group);
}
