import { setTimeout as sleep } from 'node:timers/promises';
import { connect, errors, type NatsConnection } from '@nats-io/transport-node';
import { AnswerError, ClosedError, TimeoutError } from '../../protocol/errors.js';
import { answerValue, createCommand, parseAnswer } from '../../protocol/message.js';
import type { Session } from '../../protocol/session.js';
import { ConfigClient } from '../cfgmgr/client.js';
import { natsOptions } from '../bridge/nats.js';
import { ALL_EVENTS_SUBJECT, eventsSubject, HOSTS_SUBJECT, hostSubject, maskServer } from '../bridge/subjects.js';
import { NO_RECIPIENT, type FleetReply, type FleetRequest, type HostInfo } from '../bridge/wire.js';
import { planHosts, unreachable, type HostOutcome } from './fleet-results.js';

export interface FleetConnectOptions {
  servers: string[];
  creds?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  /** ms a host may take to answer; also how long discovery and connecting may take. */
  timeout: number;
}

/** Waits between tries of a host that has no subscription right now (its bridge moving to another NATS node), ms. */
const NO_RESPONDERS_RETRY_MS = 50;

function isFleetReply(value: unknown): value is FleetReply {
  const reply = value as FleetReply | null;
  return typeof reply?.host === 'string' && Array.isArray(reply.answer?.result) && typeof reply.answer.result[0] === 'number';
}

function isHostInfo(value: unknown): value is HostInfo {
  const info = value as HostInfo | null;
  return typeof info?.host === 'string' && Array.isArray(info.export);
}

/**
 * `b10 fleet`'s side of NATS: finds the bridges (b10.hosts) and asks hosts
 * one by one on b10.<host>.<group>, each answer within the timeout. A
 * "no responders" for a host means nobody received the command, so it is
 * safe to send again: it is sent again until the timeout, which rides out a
 * bridge moving to another node of the cluster.
 */
export class FleetClient {
  private constructor(
    private readonly nc: NatsConnection,
    readonly timeout: number,
  ) {}

  /** Connects; ClosedError when no server can be reached, UsageError for a file that cannot be read. */
  static async open(options: FleetConnectOptions): Promise<FleetClient> {
    const settings = { servers: options.servers, credentials: options.creds ?? '', ca: options.tlsCa ?? '', cert: options.tlsCert ?? '', key: options.tlsKey ?? '' };
    const base = natsOptions(settings, 'b10 fleet');
    try {
      return new FleetClient(await connect({ ...base, timeout: options.timeout, maxReconnectAttempts: 1 }), options.timeout);
    } catch (err) {
      throw new ClosedError(`cannot connect to NATS at ${options.servers.map(maskServer).join(', ')}: ${(err as Error).message}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    await this.nc.close();
  }

  /**
   * The bridges that answer b10.hosts within the timeout, one entry each (a
   * name twice: two bridges share it). With `named`, done as soon as each of
   * those answered; otherwise once no new answer came for a moment (NATS's
   * "stall" strategy).
   */
  async discover(named?: readonly string[]): Promise<HostInfo[]> {
    const found: HostInfo[] = [];
    const missing = new Set(named);
    try {
      const replies = await this.nc.requestMany(HOSTS_SUBJECT, '', { strategy: named ? 'timer' : 'stall', maxWait: this.timeout });
      for await (const msg of replies) {
        let info: unknown;
        try {
          info = msg.json();
        } catch {
          continue;
        }
        if (!isHostInfo(info)) continue;
        found.push(info);
        missing.delete(info.host);
        if (named && missing.size === 0) break;
      }
    } catch (err) {
      if (!(err instanceof errors.NoRespondersError)) throw err;
    }
    return found;
  }

  /** One host's reply to a command; undefined when it did not answer by `deadline`. */
  async ask(host: string, group: string, request: FleetRequest, deadline: number): Promise<FleetReply | { host: string; error: string } | undefined> {
    const subject = hostSubject(host, group);
    const payload = JSON.stringify(request);
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      try {
        const msg = await this.nc.request(subject, payload, { timeout: left });
        let reply: unknown;
        try {
          reply = msg.json();
        } catch {
          reply = undefined;
        }
        return isFleetReply(reply) ? reply : { host, error: 'the bridge\'s reply is not a fleet reply' };
      } catch (err) {
        if (err instanceof errors.TimeoutError) return undefined;
        if (!(err instanceof errors.RequestError && err.isNoResponders()) && !(err instanceof errors.NoRespondersError)) throw err;
      }
      await sleep(Math.min(NO_RESPONDERS_RETRY_MS, Math.max(0, deadline - Date.now())));
    }
  }

  /** A command to a group on each host: the named ones, else every host that answers discovery. */
  async send(group: string, name: string, args: unknown, named?: readonly string[]): Promise<HostOutcome[]> {
    const plan = planHosts(named, await this.discover(named), group);
    const request = createCommand(name, args) as FleetRequest;
    return Promise.all(
      plan.map(async ({ host, exported, shared }): Promise<HostOutcome> => {
        if (shared) return { host, error: shared };
        if (exported === false) return { host, answer: NO_RECIPIENT };
        return (await this.ask(host, group, request, Date.now() + this.timeout)) ?? unreachable(host, this.timeout);
      }),
    );
  }

  /**
   * MODULE/PATH set to `value` on each host in turn, through its config
   * manager (exported as ConfigManager). Stops at the first host that fails
   * unless `keepGoing`; the hosts not tried are reported as skipped.
   */
  async configSet(target: string, value: unknown, named: readonly string[] | undefined, keepGoing: boolean): Promise<HostOutcome[]> {
    const plan = planHosts(named, await this.discover(named), 'ConfigManager');
    const outcomes: HostOutcome[] = [];
    for (const { host, exported, shared } of plan) {
      if (outcomes.some((o) => !('changed' in o)) && !keepGoing) {
        outcomes.push({ host, skipped: 'not tried: a host before it failed (--continue goes on)' });
        continue;
      }
      if (shared) {
        outcomes.push({ host, error: shared });
        continue;
      }
      if (exported === false) {
        outcomes.push({ host, error: 'ConfigManager is not exported by this host (Bridge/export)' });
        continue;
      }
      try {
        await new ConfigClient(this.remote(host)).set(target, value);
        outcomes.push({ host, changed: true });
      } catch (err) {
        if (err instanceof TimeoutError) outcomes.push(unreachable(host, this.timeout));
        else if (err instanceof AnswerError) outcomes.push({ host, error: err.message });
        else throw err;
      }
    }
    return outcomes;
  }

  /** A host's bus as the config client uses one: a command and its answer's value, AnswerError for an error answer. */
  private remote(host: string): Pick<Session, 'command'> {
    return {
      command: async (group: string, name: string, args?: unknown): Promise<unknown> => {
        const reply = await this.ask(host, group, createCommand(name, args) as FleetRequest, Date.now() + this.timeout);
        if (reply === undefined) throw new TimeoutError(`an answer from ${host}`, this.timeout);
        if ('error' in reply) throw new AnswerError(1, reply.error);
        return answerValue(parseAnswer(reply.answer));
      },
    };
  }

  /**
   * The hosts' events (b10.*.events, or b10.<host>.events of each of
   * `hosts`), until `signal` aborts or `count` were given; `onListening`
   * once the server has the subscriptions. ClosedError when the connection
   * is lost for good (no server of the cluster takes it back).
   */
  async events(
    onEvent: (event: unknown) => void,
    options: { count?: number; hosts?: readonly string[]; signal: AbortSignal; onListening: (server: string) => void },
  ): Promise<void> {
    const subjects = options.hosts === undefined ? [ALL_EVENTS_SUBJECT] : options.hosts.map(eventsSubject);
    let given = 0;
    await new Promise<void>((resolve, reject) => {
      let finished = false;
      const done = (): void => {
        finished = true;
        for (const sub of subs) sub.unsubscribe();
        resolve();
      };
      const subs = subjects.map((subject) =>
        this.nc.subscribe(subject, {
          callback: (err, msg) => {
            if (err || given === options.count) return;
            let event: unknown;
            try {
              event = msg.json();
            } catch {
              return;
            }
            onEvent(event);
            if (++given === options.count) done();
          },
        }),
      );
      options.signal.addEventListener('abort', done, { once: true });
      void this.nc.closed().then((err) => {
        if (!finished) reject(new ClosedError(`lost the NATS connection${err ? `: ${err.message}` : ''}`));
      });
      void this.nc.flush().then(() => options.onListening(this.nc.getServer()), done);
    });
  }
}
