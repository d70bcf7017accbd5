import { configIssues, describeIssue, mergeConfig, type Config } from '../../protocol/config-data.js';
import { B10Error, SpecError, TimeoutError } from '../../protocol/errors.js';
import { createAnswer, parseCommand, RCODE_ERROR, RCODE_OK, type Answer } from '../../protocol/message.js';
import { parseModuleSpec, type ModuleSpec } from '../../protocol/spec.js';
import type { Logger } from '../log.js';
import type { ConfigPlugin } from './plugins.js';
import { CONFIG_VERSION, type StoredConfig } from './store.js';

/** What the config manager needs from the outside world; the bus and the disk in b10-cfgmgr, fakes nowhere. */
export interface ManagerIO {
  /** Sends config_update to a module and waits for its answer; undefined when the module is not running. */
  pushConfig(module: string, config: Config): Promise<Answer | undefined>;
  /** Announces a committed change (group cc_config). */
  announce(module: string, config: Config): void;
  /** Announces that a module registered its spec (group cc_config): the module is ready. */
  announceSpec(module: string): void;
  saveConfig(config: StoredConfig): Promise<void>;
  saveSpecs(specs: ReadonlyMap<string, ModuleSpec>): Promise<void>;
}

export interface Handled {
  answer: unknown;
  /** The command was `shutdown`: stop once the answer is sent. */
  shutdown?: boolean;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function moduleNameArg(args: unknown): string | undefined | null {
  if (args === undefined || args === null) return undefined;
  if (!isMap(args) || typeof args.module_name !== 'string' || args.module_name === '') return null;
  return args.module_name;
}

/**
 * The config manager's logic: the registered specs and the stored
 * configuration, and the answer to each ConfigManager command. Changes are
 * checked against the module's spec, offered to the module if it runs, and
 * acknowledged only once they are on disk. set_config calls run one at a time.
 */
export class ConfigManager {
  private queue: Promise<unknown> = Promise.resolve();
  private specsSaving: Promise<void> | undefined;
  private specsDirty = false;

  constructor(
    private config: StoredConfig,
    private readonly specs: Map<string, ModuleSpec>,
    private readonly io: ManagerIO,
    private readonly log: Logger,
    /** Modules no process hosts: their spec is in `specs` from the start, and their check stands in for the module's. */
    private readonly plugins: ReadonlyMap<string, ConfigPlugin> = new Map(),
  ) {}

  async handle(body: unknown): Promise<Handled> {
    let name: string;
    let args: unknown;
    try {
      ({ name, args } = parseCommand(body));
    } catch (err) {
      return { answer: createAnswer(RCODE_ERROR, `malformed command: ${(err as Error).message}`) };
    }
    switch (name) {
      case 'module_spec':
        return { answer: await this.registerSpec(args) };
      case 'get_module_spec':
        return { answer: this.getModuleSpec(args) };
      case 'get_commands_spec':
        return { answer: this.getCommandsSpec(args) };
      case 'get_config':
        return { answer: this.getConfig(args) };
      case 'check_config':
        return { answer: this.checkConfig(args) };
      case 'set_config': {
        const run = this.queue.then(() => this.setConfig(args));
        this.queue = run.catch(() => undefined);
        return { answer: await run };
      }
      case 'shutdown':
        return { answer: createAnswer(RCODE_OK), shutdown: true };
      default:
        return { answer: createAnswer(RCODE_ERROR, `Unknown command: ${name}`) };
    }
  }

  private async registerSpec(args: unknown): Promise<unknown> {
    let spec: ModuleSpec;
    try {
      spec = parseModuleSpec(args, isMap(args) && typeof args.module_name === 'string' ? args.module_name : 'module spec');
    } catch (err) {
      if (err instanceof SpecError) return createAnswer(RCODE_ERROR, `Error in data definition: ${err.message}`);
      throw err;
    }
    const before = this.specs.get(spec.module_name);
    this.specs.set(spec.module_name, spec);
    this.log.info({ module: spec.module_name }, 'module spec registered');
    const problems = this.problems(spec.module_name);
    if (problems.length > 0) {
      this.log.warn({ module: spec.module_name, problems }, 'the stored configuration has items the spec refuses: the module ignores them (see b10 config check)');
    }
    this.io.announceSpec(spec.module_name);
    if (JSON.stringify(before) !== JSON.stringify(spec)) this.saveSpecs();
    return createAnswer(RCODE_OK);
  }

  /**
   * Stores the specs without holding up the registration's answer: the spec
   * is served from memory at once, and the file only matters to a later
   * start. Saves run one after the other, each writing the specs as they
   * are then; one still running when another is asked for is followed by
   * one more, not by one per registration.
   */
  private saveSpecs(): void {
    if (this.specsSaving) {
      this.specsDirty = true;
      return;
    }
    this.specsSaving = this.io
      .saveSpecs(this.specs)
      .catch((err: unknown) => this.log.warn({ err }, 'cannot store the registered specs (they are served from memory)'))
      .finally(() => {
        this.specsSaving = undefined;
        if (this.specsDirty) {
          this.specsDirty = false;
          this.saveSpecs();
        }
      });
  }

  /** Resolves once no spec save is under way: what was registered is on disk. */
  async settled(): Promise<void> {
    while (this.specsSaving) await this.specsSaving;
  }

  private getModuleSpec(args: unknown): unknown {
    const module = moduleNameArg(args);
    if (module === null) return createAnswer(RCODE_ERROR, 'Bad module_name in get_module_spec command');
    if (module === undefined) return createAnswer(RCODE_OK, Object.fromEntries(this.specs));
    return createAnswer(RCODE_OK, this.specs.get(module) ?? {});
  }

  private getCommandsSpec(args: unknown): unknown {
    const module = moduleNameArg(args);
    if (module === null) return createAnswer(RCODE_ERROR, 'Bad module_name in get_commands_spec command');
    const names = module === undefined ? [...this.specs.keys()] : this.specs.has(module) ? [module] : [];
    return createAnswer(RCODE_OK, Object.fromEntries(names.map((n) => [n, this.specs.get(n)!.commands])));
  }

  private getConfig(args: unknown): unknown {
    const module = moduleNameArg(args);
    if (module === null) return createAnswer(RCODE_ERROR, 'Bad module_name in get_config command');
    if (module === undefined) return createAnswer(RCODE_OK, { version: CONFIG_VERSION, ...this.config });
    return createAnswer(RCODE_OK, this.config[module] ?? {});
  }

  /**
   * What is wrong with a module's stored configuration, each problem with
   * the module and the item's path: items its spec does not know and values
   * the spec refuses (stored before the spec changed, or by hand).
   */
  private problems(module: string): string[] {
    const spec = this.specs.get(module);
    const stored = this.config[module];
    if (!spec) return stored ? [`${module}: no spec registered, so its configuration cannot be checked`] : [];
    const issues = configIssues(spec.config_data, stored ?? {}).map((issue) => `${module}/${describeIssue(issue)}`);
    return issues.length > 0 ? issues : this.pluginProblems(module, stored ?? {});
  }

  /** A plugin's own check of a configuration the spec accepts, each problem under the module's name. */
  private pluginProblems(module: string, config: Config): string[] {
    return (this.plugins.get(module)?.check(config) ?? []).map((problem) => `${module}/${problem}`);
  }

  /** check_config: {module_name} or none; the problems of each module's stored configuration, by module. */
  private checkConfig(args: unknown): unknown {
    const module = moduleNameArg(args);
    if (module === null) return createAnswer(RCODE_ERROR, 'Bad module_name in check_config command');
    if (module !== undefined && !this.specs.has(module) && !this.config[module]) return createAnswer(RCODE_ERROR, `unknown module ${module}`);
    const modules = module !== undefined ? [module] : [...new Set([...this.specs.keys(), ...Object.keys(this.config)])].sort();
    return createAnswer(RCODE_OK, Object.fromEntries(modules.map((m) => [m, this.problems(m)])));
  }

  /**
   * set_config: [module, config] for one module, or [{module: config, ...}]
   * for several. Only the items a change touches must be valid: one stored
   * before a spec change, left alone, does not block every other change
   * (the module ignores it, and check_config reports it).
   */
  private async setConfig(args: unknown): Promise<unknown> {
    let changes: Record<string, unknown>;
    if (Array.isArray(args) && args.length === 2 && typeof args[0] === 'string') changes = { [args[0]]: args[1] };
    else if (Array.isArray(args) && args.length === 1 && isMap(args[0])) changes = { ...args[0] };
    else return createAnswer(RCODE_ERROR, 'set_config takes [module_name, config] or [{module_name: config}]');
    delete changes.version;

    const next: StoredConfig = { ...this.config };
    const problems: string[] = [];
    for (const [module, change] of Object.entries(changes)) {
      const spec = this.specs.get(module);
      if (!spec) {
        problems.push(`${module}: unknown module (no spec registered)`);
        continue;
      }
      if (!isMap(change)) {
        problems.push(`${module}: configuration must be a map`);
        continue;
      }
      const merged = mergeConfig(this.config[module] ?? {}, change);
      const touched = configIssues(spec.config_data, merged).filter(({ path }) => path.length === 0 || path[0]! in change);
      problems.push(...touched.map((issue) => `${module}/${describeIssue(issue)}`));
      if (touched.length === 0) problems.push(...this.pluginProblems(module, merged));
      next[module] = merged;
    }
    if (problems.length > 0) return createAnswer(RCODE_ERROR, problems.join('; '));

    const offered: string[] = [];
    for (const module of Object.keys(changes)) {
      const refusal = await this.offer(module, next[module]!);
      if (refusal !== undefined) {
        await this.rollBack(offered);
        return createAnswer(RCODE_ERROR, refusal);
      }
      offered.push(module);
    }

    for (const module of Object.keys(changes)) if (Object.keys(next[module]!).length === 0) delete next[module];
    try {
      await this.io.saveConfig(next);
    } catch (err) {
      await this.rollBack(offered);
      this.log.error({ err }, 'cannot store the configuration');
      return createAnswer(RCODE_ERROR, `cannot store the configuration: ${(err as Error).message}`);
    }
    this.config = next;
    for (const module of Object.keys(changes)) {
      this.log.info({ module }, 'configuration changed');
      this.io.announce(module, next[module] ?? {});
    }
    return createAnswer(RCODE_OK);
  }

  /** Offers a module its new configuration; the refusal text, or undefined when accepted or not running. */
  private async offer(module: string, config: Config): Promise<string | undefined> {
    try {
      const answer = await this.io.pushConfig(module, config);
      if (answer === undefined || answer.rcode === RCODE_OK) return undefined;
      return `${module} refused the configuration: ${typeof answer.value === 'string' ? answer.value : JSON.stringify(answer.value)}`;
    } catch (err) {
      if (err instanceof TimeoutError) return `${module} did not answer config_update in time`;
      if (err instanceof B10Error) return `${module}: ${err.message}`;
      throw err;
    }
  }

  /** Gives modules that took a change that is not going to be stored their stored configuration back. */
  private async rollBack(modules: string[]): Promise<void> {
    for (const module of modules) {
      try {
        await this.io.pushConfig(module, this.config[module] ?? {});
      } catch (err) {
        this.log.warn({ err, module }, 'cannot give a module its previous configuration back');
      }
    }
  }
}
