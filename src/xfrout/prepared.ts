/**
 * The AXFR messages of zone versions xfrout has sent, kept to send again
 * as they are: named holds a zone in memory, ready for a transfer, and so
 * does xfrout after a zone's first transfer, instead of reading the store
 * and writing every record into messages again for each secondary.
 *
 * A version is a zone's id in the store and its serial: the store never
 * gives an id twice, a load gives a new one, and a change applied to a
 * zone (IXFR in, an update) always moves its serial forward, so the
 * messages kept for an id and serial are those of the zone as stored.
 * One version per zone, and at most `maxBytes` of messages in all: the
 * zone sent least recently goes first, and a zone larger than the bound
 * is not kept.
 */

/** What makes a zone's messages differ besides the zone: the bytes each leaves free for a TSIG. */
export interface Version {
  id: number;
  serial: number;
  room: number;
}

interface Kept extends Version {
  messages: Buffer[];
  bytes: number;
}

export class PreparedZones {
  private readonly zones = new Map<string, Kept>();
  private bytes = 0;

  constructor(readonly maxBytes: number) {}

  /** The messages kept for `zone` at this version, undefined when there are none. */
  get(zone: string, version: Version): readonly Buffer[] | undefined {
    const kept = this.zones.get(zone);
    if (!kept || kept.id !== version.id || kept.serial !== version.serial || kept.room !== version.room) return undefined;
    // Sent again: the last to go when room is needed.
    this.zones.delete(zone);
    this.zones.set(zone, kept);
    return kept.messages;
  }

  /**
   * `messages` passed on as they come, and kept for `zone` at `version`
   * once the last has been taken (a transfer cut or failed keeps nothing).
   */
  *keep(zone: string, version: Version, messages: Iterable<Buffer>): Generator<Buffer> {
    const taken: Buffer[] = [];
    let bytes = 0;
    for (const message of messages) {
      bytes += message.length;
      if (bytes <= this.maxBytes) taken.push(message);
      yield message;
    }
    if (bytes > this.maxBytes) return;
    this.drop(zone);
    while (this.bytes + bytes > this.maxBytes) this.drop(this.zones.keys().next().value!);
    this.zones.set(zone, { ...version, messages: taken, bytes });
    this.bytes += bytes;
  }

  private drop(zone: string): void {
    const kept = this.zones.get(zone);
    if (!kept) return;
    this.zones.delete(zone);
    this.bytes -= kept.bytes;
  }
}

/**
 * A kept message made the answer to another query: a copy with that
 * query's id and flags, and (the first message, which alone has the
 * question) its question's type: AXFR, or IXFR when an IXFR is answered
 * with the whole zone.
 */
export function restamp(message: Buffer, id: number, flags: number, qtype: number): Buffer {
  const copy = Buffer.from(message);
  copy.writeUInt16BE(id, 0);
  copy.writeUInt16BE(flags, 2);
  if (copy.readUInt16BE(4) === 1) {
    let pos = 12;
    while (copy[pos] !== 0) pos += copy[pos]! + 1;
    copy.writeUInt16BE(qtype, pos + 1);
  }
  return copy;
}
