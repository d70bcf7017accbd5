import type { Envelope } from '../../protocol/envelope.js';
import type { Frame } from '../../protocol/framing.js';
import type { Bus } from '../bus.js';
import type { Client } from '../client.js';
import { handleGetlname } from './getlname.js';
import { handlePing } from './ping.js';
import { handleSend } from './send.js';
import { handleStop } from './stop.js';
import { handleSubscribe } from './subscribe.js';
import { handleUnsubscribe } from './unsubscribe.js';

/** One handler per message type; the envelope was validated before this. */
export function dispatch(bus: Bus, client: Client, env: Envelope, frame: Frame): void {
  switch (env.type) {
    case 'send':
      return handleSend(bus, client, env, frame);
    case 'subscribe':
      return handleSubscribe(bus, client, env);
    case 'unsubscribe':
      return handleUnsubscribe(bus, client, env);
    case 'getlname':
      return handleGetlname(bus, client);
    case 'ping':
      return handlePing(bus, client, frame);
    case 'stop':
      return handleStop(bus, client);
    default:
      // parseEnvelope admits only the client types above.
      throw new Error(`unhandled message type ${env.type}`);
  }
}
