/**
 * DNS messages off a TCP stream (RFC 1035 4.2.2: a 2-byte length, then the
 * message), taken as its chunks arrive. Chunks are kept as they came and
 * joined once a whole message is there: a peer that sends a byte at a time
 * costs one join per message, not one per byte (which grows with the square
 * of the message's size: 2 GB copied for one 64 KB message).
 */
export class TcpFrames {
  private chunks: Buffer[] = [];
  private buffered = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next whole message (a view of what came), undefined until all of it is here. */
  next(): Buffer | undefined {
    if (this.buffered < 2) return undefined;
    let first = this.chunks[0]!;
    if (first.length < 2) first = this.join();
    const length = first.readUInt16BE(0);
    if (this.buffered < 2 + length) return undefined;
    if (first.length < 2 + length) first = this.join();
    const message = first.subarray(2, 2 + length);
    const rest = first.subarray(2 + length);
    if (rest.length > 0) this.chunks[0] = rest;
    else this.chunks.shift();
    this.buffered -= 2 + length;
    return message;
  }

  private join(): Buffer {
    const all = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [all];
    return all;
  }
}
