#!/usr/bin/env node
import type { Socket } from 'node:net';
import path from 'node:path';
import { Command } from 'commander';
import type { Config } from '../../protocol/config-data.js';
import { AnswerError } from '../../protocol/errors.js';
import type { ModuleSession } from '../../protocol/module-session.js';
import { resolveDataPath } from '../cfgmgr/store.js';
import { AXFR_HANDOFF, daemonOptions, onStopRequest, startDaemonModule } from '../daemon.js';
import { aclProblems, decide, DEFAULT_TRANSFER_ACL, type AclEntry } from '../dns/acl.js';
import { axfrMessages } from '../dns/axfr.js';
import { bareResponse, lengthPrefixed, parseQuery, RCODE } from '../dns/message.js';
import { absolute } from '../dns/name.js';
import { sendNotify, type Target } from '../dns/notify.js';
import { ZoneStore } from '../dns/zone-store.js';
import { createLogger } from '../log.js';
import { parseArgs, VERSION } from '../options.js';
import { PROJECT_ROOT } from '../paths.js';

const XFROUT_SPEC = path.join(PROJECT_ROOT, 'src/xfrout/xfrout.spec');

interface Opts {
  dataPath?: string;
  msgqPort?: number;
  verbose: boolean;
}

const program = daemonOptions(
  new Command('b10-xfrout')
    .description('The b10 zone transfer server: serves AXFR of the stored zones to the clients its ACL accepts.')
    .version(VERSION),
).action(async (opts: Opts) => {
    const log = createLogger('xfrout', { verbose: opts.verbose });
    const dataPath = resolveDataPath(opts.dataPath);
    let acl: readonly AclEntry[] = DEFAULT_TRANSFER_ACL;
    let secondaries: Target[] = [];

    /** Tells every configured secondary that the zone changed, each retried until it acknowledges. */
    const notifyAll = (zone: string): void => {
      for (const target of secondaries) {
        sendNotify(target, zone).then(
          (tries) => log.info({ zone, target, tries }, 'NOTIFY acknowledged'),
          (err: unknown) => log.warn({ zone, target, err: (err as Error).message }, 'NOTIFY not acknowledged'),
        );
      }
    };

    /** One transfer on a connection auth handed over: ACL, then the zone streamed at the pace the client reads. */
    const transfer = async (socket: Socket, packet: Buffer): Promise<void> => {
      const send = async (message: Buffer): Promise<void> => {
        if (!socket.write(lengthPrefixed(message))) await new Promise((resolve) => socket.once('drain', resolve));
      };
      const parsed = parseQuery(packet);
      if (parsed.kind !== 'query') return;
      const { query } = parsed;
      const client = socket.remoteAddress ?? '';
      if (decide(acl, client) !== 'ACCEPT') {
        log.info({ client, zone: query.qname }, 'transfer refused by the ACL');
        await send(bareResponse(query, RCODE.REFUSED));
        return;
      }
      const store = ZoneStore.open(dataPath, { readonly: true });
      try {
        const soa = store.soa(query.qname);
        const records = store.iterateRecords(query.qname);
        if (!soa || !records) {
          await send(bareResponse(query, RCODE.NOTAUTH));
          return;
        }
        let messages = 0;
        for (const message of axfrMessages(query, soa, records)) {
          await send(message);
          messages++;
        }
        log.info({ client, zone: query.qname, messages }, 'transfer done');
      } finally {
        store.close();
      }
    };

    process.on('message', (message: unknown, handle: unknown) => {
      const m = message as { type?: unknown; query?: unknown };
      if (m?.type !== AXFR_HANDOFF || typeof m.query !== 'string' || !handle) return;
      const socket = handle as Socket;
      socket.on('error', () => socket.destroy());
      transfer(socket, Buffer.from(m.query, 'base64'))
        .catch((err: unknown) => log.warn({ err }, 'transfer failed'))
        .finally(() => socket.end());
    });
    // The IPC listener must not keep xfrout alive by itself.
    process.channel?.unref();

    let module: ModuleSession | undefined;
    const stop = (reason: string): void => {
      log.info({ reason }, 'xfrout stopping');
      void (module?.close() ?? Promise.resolve()).then(() => process.exit(0));
    };
    onStopRequest(stop);
    module = await startDaemonModule({
      spec: XFROUT_SPEC,
      msgqPort: opts.msgqPort,
      stop,
      log,
      onConfig: (config: Config) => {
        const configured = (config.transfer_acl as AclEntry[] | undefined) ?? [];
        const problems = aclProblems(configured);
        if (problems.length > 0) throw new AnswerError(1, problems.join('; '));
        acl = configured.length > 0 ? configured : DEFAULT_TRANSFER_ACL;
        secondaries = (config.also_notify as Target[] | undefined) ?? [];
      },
      onCommand: (name, args) => {
        if (name === 'zone_changed') {
          const zone = absolute(String(args.origin), '.');
          notifyAll(zone);
          return { zone, notifying: secondaries.length };
        }
        return undefined;
      },
    });
    log.info('xfrout ready');
  });

process.exitCode = (await parseArgs(program, process.argv)) ?? process.exitCode;
