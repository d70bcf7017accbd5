import dgram from 'node:dgram';

/** One UDP packet to auth; its answer, or undefined after `ms`. */
export function udpExchange(port: number, packet: Buffer, ms = 300): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      resolve(undefined);
    }, ms);
    socket.on('message', (msg) => {
      clearTimeout(timer);
      socket.close();
      resolve(msg);
    });
    socket.send(packet, port, '127.0.0.1');
  });
}

/** A query by hand: header fields and a question, for the malformed cases dig will not send. */
export function query(options: { id?: number; flags?: number; qdcount?: number; name?: string; type?: number; trailing?: Buffer } = {}): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(options.id ?? 0x1234, 0);
  header.writeUInt16BE(options.flags ?? 0, 2);
  header.writeUInt16BE(options.qdcount ?? 1, 4);
  const labels = (options.name ?? 'www.auth.test').split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(options.type ?? 1, 0);
  tail.writeUInt16BE(1, 2);
  return Buffer.concat([header, ...labels, Buffer.from([0]), tail, options.trailing ?? Buffer.alloc(0)]);
}

export const rcodeOf = (msg: Buffer): number => msg.readUInt16BE(2) & 0xf;
