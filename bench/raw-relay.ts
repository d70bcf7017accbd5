import net, { type AddressInfo } from 'node:net';

/**
 * The reference for msgq's throughput: the least a relay can do, forwarding
 * every chunk from one connection to all the others, no parsing at all.
 */
const WELCOME = Buffer.from([0]);
const sockets = new Set<net.Socket>();
const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  sockets.add(socket);
  socket.on('data', (chunk) => {
    for (const other of sockets) if (other !== socket) other.write(chunk);
  });
  socket.on('error', () => socket.destroy());
  socket.on('close', () => sockets.delete(socket));
  // One byte says "you are in the relay set": a consumer that joined late
  // would otherwise start mid-stream.
  socket.write(WELCOME);
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stderr.write(`${JSON.stringify({ msg: 'relay listening', port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
