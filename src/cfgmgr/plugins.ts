import path from 'node:path';
import type { Config } from '../../protocol/config-data.js';
import { loadSpecFile, type ModuleSpec } from '../../protocol/spec.js';
import { BRIDGE_MODULE, bridgeConfigProblems, maskBridgeConfig } from '../bridge/subjects.js';
import { keyEntriesProblems, maskKeyEntry } from '../dns/tsig.js';
import { PROJECT_ROOT } from '../paths.js';

/**
 * Configuration modules no process hosts, as BIND 10's config manager had
 * them (its "plugins"): the config manager holds their spec itself and
 * checks a change with the plugin's own check, since no module is there
 * to refuse it. tsig_keys, the keyring, is one: auth, xfrout and xfrin
 * read it, none owns it.
 */
export interface ConfigPlugin {
  spec: ModuleSpec;
  /** What is wrong with a whole configuration of the module, the spec's checks passed (none: it is good). */
  check: (config: Config) => string[];
}

export const TSIG_KEYS = 'tsig_keys';
const TSIG_KEYS_SPEC = path.join(PROJECT_ROOT, 'src/cfgmgr/plugins/tsig_keys.spec');

const BRIDGE_SPEC = path.join(PROJECT_ROOT, 'src/bridge/bridge.spec');

/**
 * The plugins, and Bridge: b10-bridge runs only once its configuration
 * names NATS servers, so its spec must be known before it ever ran (as the
 * boss's is) for `b10 config set Bridge/...` to work; while it does not
 * run, its own check stands in for it here.
 */
export async function loadPlugins(): Promise<Map<string, ConfigPlugin>> {
  const [tsigKeys, bridge] = await Promise.all([loadSpecFile(TSIG_KEYS_SPEC), loadSpecFile(BRIDGE_SPEC)]);
  return new Map([
    [TSIG_KEYS, { spec: tsigKeys, check: (config: Config) => keyEntriesProblems(config.keys ?? []) }],
    [BRIDGE_MODULE, { spec: bridge, check: bridgeConfigProblems }],
  ]);
}

/**
 * A module's configuration as operators are shown it (`b10 config show`,
 * the web console): the TSIG secrets, and passwords in Bridge's NATS URLs,
 * replaced by ****. Everything else as it is.
 */
export function maskSecrets(module: string, config: unknown): unknown {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) return config;
  if (module === BRIDGE_MODULE) return maskBridgeConfig(config as Config);
  if (module !== TSIG_KEYS) return config;
  const { keys } = config as Config;
  return Array.isArray(keys) ? { ...config, keys: keys.map(maskKeyEntry) } : config;
}

/**
 * A get_config answer as an operator may see it: the keyring's secrets and
 * Bridge's NATS passwords masked, whether the whole configuration was asked (`args` without a
 * module_name) or tsig_keys's alone. Daemons read the keyring unmasked
 * over the bus; only what leaves for an operator goes through here.
 */
export function maskConfigAnswer(args: unknown, value: unknown): unknown {
  const module = (args as { module_name?: unknown } | null | undefined)?.module_name;
  if (typeof module === 'string') return maskSecrets(module, value);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([name, config]) => [name, maskSecrets(name, config)]));
}
