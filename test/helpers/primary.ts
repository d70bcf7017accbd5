import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { onTestFinished } from 'vitest';
import { axfrMessages } from '../../src/dns/axfr.js';
import { rdataOfText, type ZoneRecord } from '../../src/dns/master-file.js';
import { answerResponse, lengthPrefixed, parseQuery } from '../../src/dns/message.js';
import { makeRRset } from '../../src/dns/zone.js';

/**
 * A primary server for xfrin to pull from, on a loopback port (UDP for the
 * SOA, TCP for AXFR), that counts the AXFR connections it gets, how many
 * are open at once and the most ever open at once, and can hold every
 * transfer (the query read, nothing answered) until released: what a test
 * needs to see transfers overlap, or not.
 */
export class TestPrimary {
  axfrs = 0;
  open = 0;
  peak = 0;
  private readonly zones = new Map<string, ZoneRecord[]>();
  private holding = false;
  /** Messages an AXFR sends before it waits for release(), when set. */
  private stallingAfter: number | undefined;
  private endlessly = false;
  private readonly held: (() => void)[] = [];
  private readonly changes = new EventEmitter();

  private constructor(
    private readonly udp: dgram.Socket,
    private readonly tcp: net.Server,
    readonly port: number,
  ) {}

  /** Listens on 127.0.0.1, UDP and TCP on one port; closed when the test ends. */
  static async start(): Promise<TestPrimary> {
    for (;;) {
      const udp = dgram.createSocket('udp4');
      await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
      const port = udp.address().port;
      const tcp = net.createServer();
      const listening = await new Promise<boolean>((resolve) => {
        tcp.once('error', () => resolve(false));
        tcp.listen(port, '127.0.0.1', () => resolve(true));
      });
      if (!listening) {
        udp.close();
        continue;
      }
      const primary = new TestPrimary(udp, tcp, port);
      udp.on('message', (msg, rinfo) => primary.answerSoa(msg, rinfo));
      tcp.on('connection', (socket) => primary.serveAxfr(socket));
      onTestFinished(() => primary.close());
      return primary;
    }
  }

  /** Serves `name` (absolute) at `serial`, with `hosts` A records besides its SOA, NS and the NS's address. */
  setZone(name: string, serial: number, hosts = 10): void {
    const records: ZoneRecord[] = [
      { name, ttl: 60, type: 6, rdata: rdataOfText(6, `ns1.${name} hostmaster.${name} ${serial} 3600 900 604800 60`) },
      { name, ttl: 60, type: 2, rdata: rdataOfText(2, `ns1.${name}`) },
      { name: `ns1.${name}`, ttl: 60, type: 1, rdata: rdataOfText(1, '192.0.2.1') },
    ];
    for (let i = 0; i < hosts; i++) records.push({ name: `host${i}.${name}`, ttl: 60, type: 1, rdata: rdataOfText(1, `10.0.${i >> 8}.${i & 255}`) });
    this.zones.set(name, records);
  }

  /** Adds `record` at the end of the zone `name` (set before): a record the zone's rules may refuse, after all the others. */
  append(name: string, record: ZoneRecord): void {
    this.zones.get(name)!.push(record);
  }

  /** From now on, AXFRs send their first `messages` messages, then wait for release() to send the rest. */
  stallAfter(messages: number): void {
    this.stallingAfter = messages;
  }

  /**
   * From now on, AXFRs never end: after all but their last message, their
   * second message (records the client has already) again and again, as
   * fast as it reads, until the client goes.
   */
  endless(): void {
    this.endlessly = true;
  }

  /** From now on, AXFRs wait for release(). */
  hold(): void {
    this.holding = true;
  }

  /** Answers the transfers held, and those to come at once. */
  release(): void {
    this.holding = false;
    this.stallingAfter = undefined;
    for (const go of this.held.splice(0)) go();
  }

  /** Resolves once `test` holds, checked now and at every AXFR connection opened or closed. */
  waitFor(test: (primary: TestPrimary) => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (!test(this)) return;
        this.changes.off('change', check);
        resolve();
      };
      this.changes.on('change', check);
      check();
    });
  }

  close(): void {
    this.release();
    this.udp.close();
    this.tcp.close();
  }

  private answerSoa(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const parsed = parseQuery(msg);
    if (parsed.kind !== 'query') return;
    const soa = this.zones.get(parsed.query.qname)?.[0];
    const answer = answerResponse(
      parsed.query,
      { rcode: soa ? 'NOERROR' : 'REFUSED', aa: true, answer: soa ? [makeRRset(soa.name, 6, soa.ttl, [soa.rdata])] : [], authority: [], additional: [] },
      512,
    );
    this.udp.send(answer, rinfo.port, rinfo.address);
  }

  private serveAxfr(socket: net.Socket): void {
    this.axfrs++;
    this.open++;
    this.peak = Math.max(this.peak, this.open);
    this.changes.emit('change');
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.open--;
      this.changes.emit('change');
    });
    socket.once('data', (chunk: Buffer) => {
      const parsed = parseQuery(chunk.subarray(2));
      const records = parsed.kind === 'query' ? this.zones.get(parsed.query.qname) : undefined;
      if (parsed.kind !== 'query' || !records) {
        socket.destroy();
        return;
      }
      const answer = (): void => {
        const messages = [...axfrMessages(parsed.query, records[0]!, records)];
        if (this.endlessly && messages.length > 2) {
          for (const message of messages.slice(0, -1)) socket.write(lengthPrefixed(message));
          const again = lengthPrefixed(messages[1]!);
          const more = (): void => {
            while (!socket.destroyed && socket.write(again));
          };
          socket.on('drain', more);
          more();
          return;
        }
        const rest = (): void => {
          for (const message of messages.splice(0)) socket.write(lengthPrefixed(message));
          socket.end();
        };
        if (this.stallingAfter === undefined) return rest();
        for (const message of messages.splice(0, this.stallingAfter)) socket.write(lengthPrefixed(message));
        this.held.push(rest);
      };
      if (this.holding) this.held.push(answer);
      else answer();
    });
  }
}
