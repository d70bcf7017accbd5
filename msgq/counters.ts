import type { Frame } from '../protocol/framing.js';

/** A frame's 4-byte length, which does not count itself. */
const LENGTH_BYTES = 4;

/**
 * msgq's statistics, answered to `getstats` on group Msgq: plain numbers,
 * counted on the routing path without allocating.
 */
export class MsgqCounters {
  /** Frames received from clients: every message, control ones (subscribe, getlname ...) included. */
  messages = 0;
  bytes = 0;
  /** Requests answered "no recipient": nobody was subscribed to take them. */
  noRecipient = 0;
  /** Clients disconnected because they left more than the queue limit unread. */
  cut = 0;

  /**
   * The frames one handler took: `frame` and, when the handler forwarded a
   * run of frames after it, those up to where decoding resumes.
   */
  routed(frame: Frame): void {
    const end = frame.resumeAt;
    this.bytes += end - frame.start;
    for (let pos = frame.start; pos < end; pos += LENGTH_BYTES + frame.view.getUint32(pos)) this.messages++;
  }

  snapshot(clients: number): Record<string, number> {
    return { clients, messages: this.messages, bytes: this.bytes, no_recipient: this.noRecipient, clients_cut: this.cut };
  }
}
