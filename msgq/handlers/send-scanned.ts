import { ByteKey } from '../../protocol/byte-key.js';
import { cbor } from '../../protocol/codec.js';
import type { Frame } from '../../protocol/framing.js';
import { internedText } from '../../protocol/header-cbor.js';
import { ScannedSend } from '../../protocol/header-scan.js';
import { MSGQ_GROUP, MSGQ_LNAME, type Bus } from '../bus.js';
import type { Client } from '../client.js';
import { spliceInto } from '../outgoing.js';

/** Frames are handled one at a time, so one scan result serves them all. */
const scan = new ScannedSend();
/** The recipient of a direct send, without an array per message. */
const one: Client[] = [];
const NOBODY: readonly Client[] = [];

/**
 * The client a direct send goes to. A client mostly talks to the same one
 * (a responder to its caller), so its last destination is tried first: one
 * compare of the lname's bytes instead of making the string to look it up.
 */
function destination(bus: Bus, client: Client, frame: Frame, start: number, end: number): Client | typeof MSGQ_LNAME | undefined {
  const last = client.lastDestination;
  if (last !== undefined && last.toKey.equalsAt(frame.view, start, end) && bus.client(last.lname) === last) return last;
  const buf = frame.buffer;
  const to = internedText(buf, start, end);
  if (to === MSGQ_LNAME) return MSGQ_LNAME;
  const target = bus.client(to);
  client.lastDestination = target;
  return target;
}

/**
 * The group a send goes to: the sender's last one when the bytes say so,
 * else made from them. The bytes to compare are kept once a group comes
 * twice in a row, so a sender that alternates groups does not pay for them.
 */
function groupOf(client: Client, frame: Frame, start: number, end: number): string {
  const last = client.lastGroup;
  if (last.key !== undefined && last.key.equalsAt(frame.view, start, end)) return last.name;
  const name = internedText(frame.buffer, start, end);
  last.key = name === last.name ? new ByteKey(Buffer.from(frame.buffer.subarray(start, end))) : undefined;
  last.name = name;
  return name;
}

/**
 * The send handler's fast path, for a header msgq has not seen (or not seen
 * twice): routed from where its fields lie in the bytes, with no envelope
 * made, and forwarded as it came — or with the sender's lname spliced in
 * as `from`. The rules are the send handler's; whatever they need the
 * decoded message for goes there instead (false): the Msgq group and msgq
 * itself, JSON clients on either side, a missing `from` or `instance`,
 * "No such recipient" answers, and any header the scan does not vouch for.
 */
export function routeScannedSend(bus: Bus, client: Client, frame: Frame): boolean {
  const { buffer, headerStart, bodyStart } = frame;
  if (!scan.scan(buffer, frame.view, headerStart, bodyStart) || scan.fromStart < 0 || scan.instanceStart < 0) return false;

  let recipients: readonly Client[];
  if (scan.toEnd - scan.toStart === 1 && buffer[scan.toStart] === 0x2a) {
    const group = groupOf(client, frame, scan.groupStart, scan.groupEnd);
    if (group === MSGQ_GROUP) return false;
    recipients = bus.table.anyInstance(group) ?? bus.table.recipients(group, internedText(buffer, scan.instanceStart, scan.instanceEnd));
  } else {
    const target = destination(bus, client, frame, scan.toStart, scan.toEnd);
    if (target === MSGQ_LNAME) return false;
    if (target === undefined) recipients = NOBODY;
    else {
      one[0] = target;
      recipients = one;
    }
  }

  for (const recipient of recipients) {
    if (recipient !== client && recipient.codec !== undefined && recipient.codec !== cbor) return false;
  }
  const asSent = client.fromKey.equalsAt(frame.view, scan.fromStart, scan.fromEnd);
  let taken = 0;
  for (const recipient of recipients) {
    if (recipient === client) continue;
    const writer = recipient.writer;
    if (asSent ? writer.writeSlice(buffer, frame.start, frame.end) : spliceInto(writer, frame, scan.fromStart, scan.fromEnd, client.fromKey)) taken++;
  }
  // Nothing was written, so the full path can take it from the start and answer.
  if (taken === 0 && scan.wantAnswer && !scan.hasReply) return false;
  client.route = undefined;
  client.splicedRoute = undefined;
  if (asSent || scan.wantAnswer) {
    client.headers.scanned(frame, scan, asSent);
    return true;
  }
  const pattern = client.headers.spliced(frame, scan);
  if (pattern) {
    const version = bus.table.version;
    client.splicedRoute = { pattern, fromStart: scan.fromStart - headerStart, fromEnd: scan.fromEnd - headerStart, version, recipients: [...recipients] };
  }
  return true;
}
