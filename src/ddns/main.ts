#!/usr/bin/env node
import path from 'node:path';
import { Command } from 'commander';
import type { Config } from '../../protocol/config-data.js';
import { AnswerError } from '../../protocol/errors.js';
import type { ModuleSession } from '../../protocol/module-session.js';
import { resolveDataPath } from '../cfgmgr/store.js';
import { daemonOptions, onStopRequest, startDaemonModule, UPDATE_ANSWER, UPDATE_HANDOFF, type UpdateAnswer, type UpdateHandoff } from '../daemon.js';
import { KeyringFollower } from '../dns/keyring.js';
import { bareResponse, parseQuery, RCODE } from '../dns/message.js';
import { createLogger } from '../log.js';
import { runProgram, VERSION } from '../options.js';
import { PROJECT_ROOT } from '../paths.js';
import { XfrinZones } from '../xfrin/follow.js';
import { AuthReloads } from './reloads.js';
import { DdnsConfigError, UpdateService, zonesFrom, type Handled, type ZoneConfig } from './service.js';

const DDNS_SPEC = path.join(PROJECT_ROOT, 'src/ddns/ddns.spec');

interface Opts {
  dataPath?: string;
  msgqPort?: number;
  verbose: boolean;
}

/** SERVFAIL for an update whose handling failed in a way nobody foresaw; nothing for a packet that cannot be answered. */
function servfail(packet: Buffer): Buffer | undefined {
  const parsed = parseQuery(packet);
  return parsed.kind === 'query' ? bareResponse(parsed.query, RCODE.SERVFAIL) : undefined;
}

const program = daemonOptions(
  new Command('b10-ddns')
    .description('The b10 dynamic update server: applies the UPDATE messages auth hands it to the zones in the store (RFC 2136).')
    .version(VERSION),
).action(async (opts: Opts) => {
  const log = createLogger('ddns', { verbose: opts.verbose });
  const service = new UpdateService(resolveDataPath(opts.dataPath), log);
  const secondaries = await XfrinZones.load(log, 'Xfrin\'s zones known: updates for them answered NOTAUTH');
  service.isSecondary = (zone) => secondaries.isSecondary(zone);
  let module: ModuleSession | undefined;
  const reloads = new AuthReloads(() => module, log);

  /** One update from auth, answered back through the boss once it is durable and auth serves it. */
  const work = async (handoff: UpdateHandoff): Promise<void> => {
    const packet = Buffer.from(handoff.packet, 'base64');
    let handled: Handled;
    try {
      handled = service.handle(packet, { address: handoff.client.address, transport: handoff.client.transport });
    } catch (err) {
      log.error({ err, client: handoff.client.address }, 'update failed: SERVFAIL');
      handled = { response: servfail(packet) };
    }
    if (handled.changed) await reloads.reload(handled.changed.zone, handled.changed.change);
    const answer: UpdateAnswer = { type: UPDATE_ANSWER, id: handoff.id, to: handoff.from, response: handled.response?.toString('base64') };
    process.send?.(answer, (err: Error | null) => {
      if (err) log.warn({ err: err.message }, 'an update\'s answer could not be sent back to auth');
    });
  };
  process.on('message', (message: unknown) => {
    const handoff = message as UpdateHandoff | null;
    if (handoff?.type !== UPDATE_HANDOFF || typeof handoff.packet !== 'string' || !handoff.client) return;
    void work(handoff);
  });
  // The IPC listener must not keep ddns alive by itself.
  process.channel?.unref();

  const stop = (reason: string): void => {
    log.info({ reason }, 'ddns stopping');
    void (module?.close() ?? Promise.resolve()).then(() => {
      service.close();
      process.exit(0);
    });
  };
  onStopRequest(stop);
  module = await startDaemonModule({
    spec: DDNS_SPEC,
    msgqPort: opts.msgqPort,
    stop,
    log,
    onMessage: (message) => secondaries.onMessage(message),
    onCommand: (name) => (name === 'getstats' ? service.counters.snapshot() : undefined),
    onConfig: (config: Config) => {
      try {
        service.zones = zonesFrom((config.zones as ZoneConfig[] | undefined) ?? []);
      } catch (err) {
        if (err instanceof DdnsConfigError) throw new AnswerError(1, err.message);
        throw err;
      }
      log.info({ zones: [...service.zones.keys()] }, 'zones taking updates');
    },
  });
  await secondaries.follow(module);
  KeyringFollower.follow(module, log, (keyring) => {
    service.keyring = keyring;
  });
  log.info('ddns ready');
});

runProgram(program);
