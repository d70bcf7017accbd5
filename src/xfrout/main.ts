#!/usr/bin/env node
import type { Socket } from 'node:net';
import path from 'node:path';
import { Command } from 'commander';
import type { Config } from '../../protocol/config-data.js';
import { AnswerError } from '../../protocol/errors.js';
import type { ModuleSession } from '../../protocol/module-session.js';
import { resolveDataPath } from '../cfgmgr/store.js';
import { AXFR_HANDOFF, daemonOptions, onStopRequest, startDaemonModule } from '../daemon.js';
import { aclProblems, DEFAULT_TRANSFER_ACL, type AclEntry } from '../dns/acl.js';
import { KeyringFollower } from '../dns/keyring.js';
import { absolute } from '../dns/name.js';
import { sendNotify, type Target } from '../dns/notify.js';
import { ZoneChangedError } from '../dns/zone-store.js';
import { createLogger } from '../log.js';
import { runProgram, VERSION } from '../options.js';
import { PROJECT_ROOT } from '../paths.js';
import { TransferCutError, TransfersOut } from './transfer.js';

const XFROUT_SPEC = path.join(PROJECT_ROOT, 'src/xfrout/xfrout.spec');

interface Opts {
  dataPath?: string;
  msgqPort?: number;
  verbose: boolean;
}

const program = daemonOptions(
  new Command('b10-xfrout')
    .description('The b10 zone transfer server: serves AXFR and IXFR of the stored zones to the clients its ACL accepts.')
    .version(VERSION),
).action(async (opts: Opts) => {
    const log = createLogger('xfrout', { verbose: opts.verbose });
    const transfers = new TransfersOut(resolveDataPath(opts.dataPath), log);
    let secondaries: (Target & { tsig_key?: string })[] = [];

    /** Tells every configured secondary that the zone changed, each retried until it acknowledges; signed when the entry names a key. */
    const notifyAll = (zone: string): void => {
      for (const { tsig_key: keyName, ...target } of secondaries) {
        const key = keyName === undefined ? undefined : transfers.keyring.get(keyName);
        if (keyName !== undefined && !key) {
          log.warn({ zone, target, key: keyName }, 'NOTIFY not sent: its key is not in tsig_keys');
          continue;
        }
        sendNotify(target, zone, { key }).then(
          (tries) => log.info({ zone, target, tries }, 'NOTIFY acknowledged'),
          (err: unknown) => log.warn({ zone, target, err: (err as Error).message }, 'NOTIFY not acknowledged'),
        );
      }
    };

    process.on('message', (message: unknown, handle: unknown) => {
      const m = message as { type?: unknown; query?: unknown };
      if (m?.type !== AXFR_HANDOFF || typeof m.query !== 'string' || !handle) return;
      const socket = handle as Socket;
      socket.on('error', () => socket.destroy());
      transfers.serve(socket, Buffer.from(m.query, 'base64')).catch((err: unknown) => {
        const cut = err instanceof TransferCutError || err instanceof ZoneChangedError;
        log.warn({ client: socket.remoteAddress, err: cut ? err.message : err }, cut ? 'transfer cut: its read of the store ended' : 'transfer failed');
      });
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
        const maxTransfers = config.max_transfers_out as number;
        const idleSeconds = config.idle_timeout as number;
        if (!Number.isInteger(maxTransfers) || maxTransfers < 1) throw new AnswerError(1, `max_transfers_out must be at least 1, not ${maxTransfers}`);
        if (!Number.isInteger(idleSeconds) || idleSeconds < 1) throw new AnswerError(1, `idle_timeout must be at least 1 (seconds), not ${idleSeconds}`);
        transfers.acl = configured.length > 0 ? configured : DEFAULT_TRANSFER_ACL;
        transfers.limits = { maxTransfers, idleMs: idleSeconds * 1000 };
        secondaries = (config.also_notify as Target[] | undefined) ?? [];
      },
      onCommand: (name, args) => {
        if (name === 'zone_changed') {
          const zone = absolute(String(args.origin), '.');
          notifyAll(zone);
          return { zone, notifying: secondaries.length };
        }
        if (name === 'getstats') return transfers.counters.snapshot();
        return undefined;
      },
    });
    KeyringFollower.follow(module, log, (keyring) => {
      transfers.keyring = keyring;
    });
    log.info('xfrout ready');
  });

runProgram(program);
