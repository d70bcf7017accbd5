import { randomBytes } from 'node:crypto';
import { Command, Option } from 'commander';
import { AnswerError } from '../../protocol/errors.js';
import { ConfigClient } from '../cfgmgr/client.js';
import { TSIG_KEYS } from '../cfgmgr/plugins.js';
import { DEFAULT_ALGORITHM, formatKeyEntry, keyNameOf, parseKeyEntry, TSIG_ALGORITHMS, TsigKeyError, type TsigAlgorithm, type TsigKey } from '../dns/tsig.js';
import { withBusOptions, withSession, type BusOptions } from './common.js';

/**
 * `b10 tsig`: the keyring in tsig_keys/keys, kept through the config
 * manager as `b10 config set` keeps it. Secrets are printed once, by add,
 * in the form named.conf takes.
 */

async function storedKeys(client: ConfigClient): Promise<string[]> {
  return ((await client.stored(TSIG_KEYS)).keys as string[] | undefined) ?? [];
}

/** The key of an entry, or undefined for one the config manager would not have taken. */
function keyOf(entry: string): TsigKey | undefined {
  try {
    return parseKeyEntry(entry);
  } catch (err) {
    if (err instanceof TsigKeyError) return undefined;
    throw err;
  }
}

/** The key as BIND 9's named.conf and tsig-keygen write it. */
export function namedKeyClause(key: TsigKey): string {
  return `key "${key.name.replace(/\.$/, '')}" {\n\talgorithm ${key.algorithm};\n\tsecret "${key.secret.toString('base64')}";\n};\n`;
}

function addCommand(): Command {
  return withBusOptions(
    new Command('add')
      .description('make a key with a random secret (as long as the algorithm\'s hash, as tsig-keygen makes it), store it in tsig_keys/keys, and print it as named.conf takes it')
      .argument('<name>', 'the key\'s name, a domain name, e.g. xfr.example.')
      .addOption(new Option('-a, --algorithm <algorithm>', 'the HMAC').choices(Object.keys(TSIG_ALGORITHMS)).default(DEFAULT_ALGORITHM)),
  ).action(async (name: string, opts: BusOptions & { algorithm: TsigAlgorithm }) => {
    // tsig_keys/keys entries are name:secret:algorithm: a colon in the name would split it.
    if (name.includes(':')) throw new AnswerError(1, `key name "${name}": a key name cannot hold ':'`);
    const secret = randomBytes(TSIG_ALGORITHMS[opts.algorithm].size).toString('base64');
    let key: TsigKey;
    try {
      key = parseKeyEntry(`${name}:${secret}:${opts.algorithm}`);
    } catch (err) {
      throw new AnswerError(1, (err as Error).message);
    }
    await withSession(opts, async (session) => {
      const client = new ConfigClient(session);
      const keys = await storedKeys(client);
      if (keys.some((entry) => keyOf(entry)?.name === key.name)) throw new AnswerError(1, `a key named ${key.name} exists: remove it first`);
      await client.set(`${TSIG_KEYS}/keys`, [...keys, formatKeyEntry(key)]);
      process.stdout.write(namedKeyClause(key));
    });
  });
}

function listCommand(): Command {
  return withBusOptions(new Command('list').description('list the keys: name and algorithm, never the secret')).action(async (opts: BusOptions) => {
    await withSession(opts, async (session) => {
      for (const entry of await storedKeys(new ConfigClient(session))) {
        const key = keyOf(entry);
        process.stdout.write(key ? `${key.name} ${key.algorithm}\n` : `(an entry that is not a key: see b10 config check ${TSIG_KEYS})\n`);
      }
    });
  });
}

function removeCommand(): Command {
  return withBusOptions(
    new Command('remove').description('remove a key from tsig_keys/keys').argument('<name>', 'the key\'s name'),
  ).action(async (name: string, opts: BusOptions) => {
    await withSession(opts, async (session) => {
      const client = new ConfigClient(session);
      const keys = await storedKeys(client);
      let wanted: string;
      try {
        wanted = keyNameOf(name);
      } catch (err) {
        throw new AnswerError(1, (err as Error).message);
      }
      const kept = keys.filter((entry) => keyOf(entry)?.name !== wanted);
      if (kept.length === keys.length) throw new AnswerError(1, `no key named ${wanted}`);
      await client.set(`${TSIG_KEYS}/keys`, kept);
    });
  });
}

export function tsigCommand(): Command {
  return new Command('tsig')
    .description('manage the TSIG keys in tsig_keys: add (prints the named.conf clause), list, remove')
    .addCommand(addCommand())
    .addCommand(listCommand())
    .addCommand(removeCommand());
}
