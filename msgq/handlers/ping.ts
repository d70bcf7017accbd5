import { encodeFrame } from '../../protocol/framing.js';
import type { Frame } from '../../protocol/framing.js';
import type { Bus } from '../bus.js';
import type { Client } from '../client.js';

/** Echoes the body bytes as they came: same connection, same encoding. */
export function handlePing(_bus: Bus, client: Client, frame: Frame): void {
  client.send(encodeFrame(client.codec!.encode({ type: 'pong' }), frame.body));
}
