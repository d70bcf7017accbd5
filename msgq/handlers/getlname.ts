import type { Bus } from '../bus.js';
import type { Client } from '../client.js';

export function handleGetlname(bus: Bus, client: Client): void {
  bus.sendFromMsgq(client, { type: 'getlname' }, { lname: client.lname });
}
