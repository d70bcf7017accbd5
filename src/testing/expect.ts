import { TimeoutError } from '../../protocol/errors.js';
import type { Message, Session } from '../../protocol/session.js';

/**
 * The first message the session receives that passes `predicate`, within
 * `timeout` ms; messages that do not pass are taken and dropped. Rejects
 * with TimeoutError naming how many messages were passed over.
 */
export async function expectMessage(
  session: Session,
  predicate: (message: Message) => boolean,
  timeout = 2000,
): Promise<Message> {
  const deadline = Date.now() + timeout;
  let passedOver = 0;
  for (;;) {
    const left = deadline - Date.now();
    let message: Message;
    try {
      message = await session.recv({ timeout: Math.max(left, 0) });
    } catch (err) {
      if (err instanceof TimeoutError) throw new TimeoutError(`a matching message (${passedOver} others passed over)`, timeout);
      throw err;
    }
    if (predicate(message)) return message;
    passedOver++;
  }
}
