import { INSTANCE_ANY, type Envelope } from '../../protocol/envelope.js';
import type { Bus } from '../bus.js';
import type { Client } from '../client.js';

export function handleSubscribe(bus: Bus, client: Client, env: Envelope): void {
  const group = env.group!;
  const instance = env.instance ?? INSTANCE_ANY;
  // Subscribing twice is the same as once, and is announced once.
  if (!bus.table.add(group, instance, client)) return;
  client.log.debug({ group, instance }, 'subscribed');
  bus.notifyMembers('subscribed', client.lname, group);
}
