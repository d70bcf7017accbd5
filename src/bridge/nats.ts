import { readFileSync } from 'node:fs';
import { credsAuthenticator, type NodeConnectionOptions } from '@nats-io/transport-node';
import { UsageError } from '../../protocol/errors.js';
import type { NatsSettings } from './subjects.js';

/**
 * NATS connection options as b10-bridge and `b10 fleet` both build them
 * from the operator's settings: the servers, a credentials file (the .creds
 * NATS users already have), TLS when a CA, certificate or key is named.
 * A file that cannot be read is a UsageError naming it.
 */
export function natsOptions(settings: NatsSettings, name: string): NodeConnectionOptions {
  const options: NodeConnectionOptions = { servers: settings.servers, name };
  if (settings.credentials !== '') options.authenticator = credsAuthenticator(readSetting('credentials', settings.credentials));
  if (settings.ca !== '' || settings.cert !== '' || settings.key !== '') {
    for (const [what, file] of [['ca', settings.ca], ['cert', settings.cert], ['key', settings.key]] as const) if (file !== '') readSetting(what, file);
    options.tls = {
      ...(settings.ca === '' ? {} : { caFile: settings.ca }),
      ...(settings.cert === '' ? {} : { certFile: settings.cert }),
      ...(settings.key === '' ? {} : { keyFile: settings.key }),
    };
  }
  return options;
}

function readSetting(what: string, file: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new UsageError(`cannot read the NATS ${what} file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
