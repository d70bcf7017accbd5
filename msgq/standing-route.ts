import { cbor } from '../protocol/codec.js';
import type { Envelope } from '../protocol/envelope.js';
import { LENGTH_BYTES, PREFIX_BYTES, type Frame } from '../protocol/framing.js';
import type { HeaderPattern } from './header-pattern.js';
import { spliceAt } from './outgoing.js';
import type { SubscriptionTable } from './routing.js';
import type { Client } from './client.js';

/**
 * A client streaming to a group sends the same header over and over with only
 * seq counting up; a responder answering one caller, with seq and reply
 * changing. Once the send handler has passed such a message on unchanged,
 * its decision stands for every following frame whose header repeats it
 * (the header cache tells) while the subscription table is unchanged (a
 * client leaving changes it too): those frames go out as one slice per
 * recipient, with no decode and no dispatch. Only decisions that depend on
 * nothing but the header and the table stand: group sends outside the Msgq
 * group and direct sends to a client, no answer wanted, every recipient
 * reading the sender's encoding.
 */
export interface StandingRoute {
  /** The header cache's envelope the decision was taken for. */
  readonly env: Envelope;
  readonly version: number;
  readonly recipients: readonly Client[];
}

/** The route to remember after a group send was forwarded as sent, if it can stand. */
export function standingRoute(
  sender: Client,
  env: Envelope,
  table: SubscriptionTable<Client>,
  recipients: readonly Client[],
): StandingRoute | undefined {
  // Only a CBOR client's headers are remembered, so the sender reads CBOR too.
  if (env !== sender.headers.current || env.want_answer === true) return undefined;
  for (const recipient of recipients) if ((recipient.codec ?? cbor) !== cbor) return undefined;
  return { env, version: table.version, recipients };
}

/**
 * Forwards the run of frames from `frame` on that the sender's standing
 * route covers, and has the decoder go on after it. False when it covers none.
 */
export function forwardRun(sender: Client, frame: Frame, table: SubscriptionTable<Client>, maxFrame: number): boolean {
  const route = sender.route;
  if (route === undefined || route.version !== table.version || route.env !== sender.headers.current) return false;
  const start = frame.start;
  const end = sender.headers.runEnd(frame.view, start, frame.view.byteLength, maxFrame);
  if (end === start) return false;
  const buffer = frame.buffer;
  for (const recipient of route.recipients) if (recipient !== sender) recipient.writer.writeSlice(buffer, start, end);
  frame.takeThrough(end);
  return true;
}

/**
 * The same for a sender whose `from` msgq rewrites, once its header has
 * repeated: each frame of a run still needs the lname spliced in, but the
 * run is told by the pattern alone, with no scan and no routing per frame.
 */
export interface SplicedRoute {
  readonly pattern: HeaderPattern;
  /** `from`'s value, relative to the header's start. */
  readonly fromStart: number;
  readonly fromEnd: number;
  readonly version: number;
  readonly recipients: readonly Client[];
}

/** Forwards, lname spliced in, the run of frames from `frame` on that the sender's spliced route covers; false when it covers none. */
export function forwardSplicedRun(sender: Client, frame: Frame, table: SubscriptionTable<Client>, maxFrame: number): boolean {
  const route = sender.splicedRoute;
  if (route === undefined || route.version !== table.version) return false;
  const { buffer, view, start } = frame;
  const { pattern, recipients } = route;
  const end = pattern.scan(view, start, view.byteLength, maxFrame);
  if (end === start) return false;
  for (let pos = start; pos < end; ) {
    const frameEnd = pos + LENGTH_BYTES + view.getUint32(pos);
    const headerStart = pos + PREFIX_BYTES;
    for (const recipient of recipients) {
      if (recipient === sender) continue;
      spliceAt(recipient.writer, buffer, view, pos, headerStart, headerStart + pattern.length, frameEnd, headerStart + route.fromStart, headerStart + route.fromEnd, sender.fromKey);
    }
    pos = frameEnd;
  }
  frame.takeThrough(end);
  return true;
}
