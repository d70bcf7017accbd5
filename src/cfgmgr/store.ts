import { access, mkdir, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { ConfigFileError } from '../../protocol/errors.js';
import { parseModuleSpec, type ModuleSpec } from '../../protocol/spec.js';
import type { Config } from '../../protocol/config-data.js';

/** The version of the configuration file b10 writes: BIND 10's second format. */
export const CONFIG_VERSION = 2;
export const CONFIG_FILE = 'b10-config.db';
/** The specs modules registered, kept so their config can be checked while they are not running. */
export const SPECS_FILE = 'b10-specs.db';

/** Every module's stored configuration, by module name. */
export type StoredConfig = Record<string, Config>;

function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The data path: --data-path, then B10_DATA_PATH, then ./b10. */
export function resolveDataPath(option?: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(option ?? env.B10_DATA_PATH ?? 'b10');
}

/**
 * Reads the configuration file. A missing file is an empty configuration; a
 * file without a version, of an unknown version or unparsable is refused
 * (never overwritten); version 1 differs only in its number and is migrated.
 */
export async function readConfigFile(file: string, onMigrate?: (from: number) => void): Promise<StoredConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ConfigFileError(file, `cannot read the configuration: ${(err as Error).message}`, { cause: err });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ConfigFileError(file, 'configuration file is corrupt (not JSON); repair or remove it, or start with --clear-config', { cause: err });
  }
  if (!isMap(data)) throw new ConfigFileError(file, 'configuration file is corrupt (not a map)');
  const { version, ...modules } = data;
  if (version === undefined) throw new ConfigFileError(file, 'configuration file has no version');
  if (version === 1) onMigrate?.(1);
  else if (version !== CONFIG_VERSION) {
    const why = typeof version === 'number' && version > CONFIG_VERSION ? 'not yet supported' : 'not supported';
    throw new ConfigFileError(file, `configuration file version ${JSON.stringify(version)} is ${why} (this b10 reads ${CONFIG_VERSION})`);
  }
  for (const [module, config] of Object.entries(modules)) {
    if (!isMap(config)) throw new ConfigFileError(file, `configuration of ${module} is not a map`);
  }
  return modules as StoredConfig;
}

export function configFileText(config: StoredConfig): string {
  return `${JSON.stringify({ version: CONFIG_VERSION, ...config }, null, 2)}\n`;
}

/** Moves `file` aside to file.bak (then .bak.1, .bak.2 ...); returns the new name, or undefined if there was no file. */
export async function backUpFile(file: string): Promise<string | undefined> {
  if (!(await exists(file))) return undefined;
  let target = `${file}.bak`;
  for (let i = 1; await exists(target); i++) target = `${file}.bak.${i}`;
  await rename(file, target);
  return target;
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/** Specs registered earlier; a damaged specs file is only a cache, so it is dropped with a warning. */
export async function readSpecsFile(file: string, onDamaged: (why: string) => void): Promise<Map<string, ModuleSpec>> {
  const specs = new Map<string, ModuleSpec>();
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') onDamaged((err as Error).message);
    return specs;
  }
  try {
    const data = JSON.parse(text) as { specs?: Record<string, unknown> };
    for (const [name, spec] of Object.entries(data.specs ?? {})) specs.set(name, parseModuleSpec(spec, `${file} (${name})`));
  } catch (err) {
    onDamaged((err as Error).message);
    specs.clear();
  }
  return specs;
}

export function specsFileText(specs: Map<string, ModuleSpec>): string {
  return `${JSON.stringify({ version: 1, specs: Object.fromEntries(specs) }, null, 2)}\n`;
}

export async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
}
