import {
  checkCommandArgs,
  configIssues,
  describeIssue,
  formatPath,
  parsePath,
  UNKNOWN_ITEM,
  valueAt,
  withDefaults,
  withoutIssues,
  type Config,
  type PathSegment,
} from './config-data.js';
import type { SendEnvelope } from './envelope.js';
import { AnswerError, ClosedError, NoRecipientError, ProtocolError, TimeoutError, UsageError } from './errors.js';
import {
  createAnswer,
  isNotification,
  parseCommand,
  RCODE_ERROR,
  RCODE_OK,
} from './message.js';
import { CONFIG_MANAGER, CONFIG_NOTIFICATIONS, MEMBERS_GROUP } from './groups.js';
import { Session, type Message, type SessionOptions } from './session.js';
import { commandSpec, loadSpecFile, parseModuleSpec, type ModuleSpec } from './spec.js';

export { CONFIG_MANAGER, CONFIG_NOTIFICATIONS } from './groups.js';
/** The command the config manager sends a module when its configuration changes. */
export const CONFIG_UPDATE = 'config_update';
/** The command that registers a spec, and the cc_config event saying a module registered. */
export const MODULE_SPEC = 'module_spec';

/** Receives the module's whole configuration, defaults filled in; throw to refuse it. */
export type ConfigHandler = (config: Config, session: ModuleSession) => void | Promise<void>;
/**
 * Runs a command whose arguments were checked against the spec. The return
 * value becomes the answer's value; throwing AnswerError answers its rcode,
 * any other error rcode 1 with its message.
 */
export type CommandHandler = (name: string, args: Config, env: SendEnvelope) => unknown;
export type RemoteConfigHandler = (module: string, config: Config) => void;

/** The few log calls a module session makes; pino loggers fit. */
export interface SessionLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ModuleSessionOptions {
  /** The spec, or the path of its `.spec` file. */
  spec: ModuleSpec | string;
  /** A connected session to use; otherwise one is opened with `connect`. */
  session?: Session;
  connect?: SessionOptions;
  onConfig?: ConfigHandler;
  onCommand?: CommandHandler;
  /**
   * Gets every message that is not a command to this module: messages of
   * other groups the session subscribed to, and non-command bodies sent to
   * the module. Without it, such bodies sent to the module are answered as
   * malformed commands.
   */
  onMessage?: (message: Message) => void;
  log?: SessionLog;
}

interface Remote {
  spec: ModuleSpec;
  config: Config;
  onChange?: RemoteConfigHandler;
}

const silent: SessionLog = { info() {}, warn() {} };

/**
 * A module's life on the bus, the counterpart of BIND 10's ModuleCCSession:
 * it subscribes to the module's group, registers the spec with the config
 * manager, fetches the configuration, hands it to the config handler (at the
 * start and on every config_update) and answers every command addressed to
 * the module. When the config manager is not there yet the module runs on
 * its defaults and registers as soon as it appears.
 */
export class ModuleSession {
  /** The configuration the module runs on: what the config manager gave, less what the spec refuses. */
  private stored: Config = {};
  /** What the config manager last gave, as it gave it: the problems in it are known and were warned of. */
  private given: Config = {};
  private configured = false;
  /** Counts configurations applied, so a slow get_config cannot undo a newer config_update. */
  private generation = 0;
  private registered = false;
  private watchingMembers = false;
  private readonly remotes = new Map<string, Remote>();
  private readonly log: SessionLog;
  /** Resolves when the session's message loop has ended (the bus connection closed). */
  readonly done: Promise<void>;

  private constructor(
    readonly spec: ModuleSpec,
    readonly session: Session,
    private readonly options: ModuleSessionOptions,
  ) {
    this.log = options.log ?? silent;
    this.done = this.loop();
    // A new msgq knows nothing of this module: register again. The config
    // manager may not be back yet; then the members watch below waits for it.
    session.on('reconnect', ({ lname }) => {
      this.registered = false;
      this.log.info({ module: this.name, lname }, 'reconnected to msgq: registering again');
      this.register().catch((err: unknown) => this.log.warn({ err, module: this.name }, 'cannot register again after reconnecting'));
    });
  }

  static async start(options: ModuleSessionOptions): Promise<ModuleSession> {
    const spec = typeof options.spec === 'string' ? await loadSpecFile(options.spec) : parseModuleSpec(options.spec);
    const session = options.session ?? (await Session.connect(options.connect));
    try {
      await session.subscribe(spec.module_name);
      const module = new ModuleSession(spec, session, options);
      await module.register();
      return module;
    } catch (err) {
      if (!options.session) await session.close();
      throw err;
    }
  }

  get name(): string {
    return this.spec.module_name;
  }

  /** Whether the spec is registered with a running config manager. */
  get isRegistered(): boolean {
    return this.registered;
  }

  /** The whole configuration, defaults filled in. */
  getFullConfig(): Config {
    return withDefaults(this.spec.config_data, this.stored);
  }

  /** One value by path ("zones[2]/port"), its default when not set. */
  getValue(path: string | readonly PathSegment[]): unknown {
    return valueAt(this.getFullConfig(), typeof path === 'string' ? parsePath(path) : path);
  }

  /**
   * Follows another module's configuration: fetches its spec and config now
   * and calls `onChange` whenever the config manager commits a change to it.
   */
  async addRemoteConfig(module: string, onChange?: RemoteConfigHandler): Promise<void> {
    if (this.remotes.size === 0) await this.session.subscribe(CONFIG_NOTIFICATIONS);
    const spec = parseModuleSpec(await this.session.command(CONFIG_MANAGER, 'get_module_spec', { module_name: module }), module);
    const config = (await this.session.command(CONFIG_MANAGER, 'get_config', { module_name: module })) as Config;
    this.remotes.set(module, { spec, config, onChange });
  }

  /** A value of a followed module's configuration, its default when not set. */
  getRemoteValue(module: string, path: string | readonly PathSegment[]): unknown {
    const remote = this.remotes.get(module);
    if (!remote) throw new UsageError(`the configuration of ${module} is not followed: call addRemoteConfig first`);
    const full = withDefaults(remote.spec.config_data, remote.config);
    return valueAt(full, typeof path === 'string' ? parsePath(path) : path);
  }

  async close(): Promise<void> {
    await this.session.close();
    await this.done;
  }

  /**
   * Registers the spec and takes the stored configuration. With no config
   * manager on the bus yet, runs on defaults and waits for it to appear.
   */
  private async register(): Promise<void> {
    // A config_update that arrives while registering is the newer configuration:
    // the config manager offers a change before it commits it, so get_config can
    // still answer the old one.
    const generation = this.generation;
    try {
      await this.session.command(CONFIG_MANAGER, MODULE_SPEC, this.spec);
      const config = await this.session.command(CONFIG_MANAGER, 'get_config', { module_name: this.name });
      this.registered = true;
      if (this.watchingMembers) {
        this.watchingMembers = false;
        await this.session.unsubscribe(MEMBERS_GROUP);
      }
      const fresh = (config ?? {}) as Config;
      const changed = !this.configured || JSON.stringify(fresh) !== JSON.stringify(this.given);
      if (changed && generation === this.generation) await this.applyConfig(fresh, 'registered');
    } catch (err) {
      // The config manager is not there (or died with our request), or the
      // bus went away mid-way: the module runs on, and registers once the
      // config manager appears or the session has reconnected.
      const busLost = err instanceof ClosedError && !this.session.isClosed;
      if (!(err instanceof NoRecipientError || err instanceof TimeoutError || busLost)) throw err;
      if (!this.watchingMembers) {
        this.watchingMembers = true;
        await this.session.subscribe(MEMBERS_GROUP);
        if (this.configured) {
          this.log.info({ module: this.name }, 'config manager not on the bus: running on the last configuration until it is back');
        } else {
          this.log.info({ module: this.name }, 'config manager not on the bus: running on defaults until it is');
          await this.applyConfig({}, 'defaults: no config manager');
        }
      }
    }
  }

  /**
   * Checks a configuration against the spec and hands it to the handler;
   * keeps it only if the handler accepts it. What the spec refuses (an item
   * it does not know, a value of the wrong type, out of range or of the
   * wrong form: stored before the spec changed) is warned of by path and
   * left out, so its default applies; a stored configuration never stops
   * the module. With `refuseNew`, a problem the last configuration did not
   * have refuses the whole configuration instead: a change that breaks the
   * spec is not taken.
   */
  private async applyConfig(config: Config, why: string, refuseNew = false): Promise<string | undefined> {
    const issues = configIssues(this.spec.config_data, config);
    const known = new Set(configIssues(this.spec.config_data, this.given).map(describeIssue));
    const fresh = issues.filter((issue) => !known.has(describeIssue(issue)));
    if (refuseNew && fresh.length > 0) return fresh.map(describeIssue).join('; ');
    for (const issue of fresh) {
      const item = `${this.name}/${formatPath(issue.path)}`;
      const outcome = issue.problem === UNKNOWN_ITEM ? 'ignored' : 'the default is used instead';
      this.log.warn({ module: this.name, item }, `stored configuration ${item}: ${issue.problem}: ${outcome}`);
    }
    const usable = withoutIssues(config, issues);
    this.generation++;
    await this.options.onConfig?.(withDefaults(this.spec.config_data, usable), this);
    this.stored = usable;
    this.given = config;
    this.configured = true;
    this.log.info({ module: this.name, why }, 'configuration applied');
    return undefined;
  }

  private async loop(): Promise<void> {
    for await (const message of this.session) {
      try {
        await this.handle(message);
      } catch (err) {
        this.log.warn({ err, group: message.env.group }, 'message not handled');
      }
    }
  }

  private async handle(message: Message): Promise<void> {
    const { env } = message;
    if (env.reply !== undefined) return;
    let body: unknown;
    try {
      body = message.body;
    } catch (err) {
      // Bodies are decoded on first read: every command gets an answer, an undecodable one too.
      if (env.group === this.name && err instanceof ProtocolError) {
        this.session.reply(env, createAnswer(RCODE_ERROR, `malformed command: ${err.message}`));
        return;
      }
      throw err;
    }
    if (env.group === MEMBERS_GROUP) await this.onMembers(body);
    else if (env.group === CONFIG_NOTIFICATIONS) this.onRemoteChange(body);
    const toModule = env.group === this.name && !isNotification(body);
    const isCommand = body !== null && typeof body === 'object' && 'command' in body;
    if (toModule && (isCommand || !this.options.onMessage)) this.session.reply(env, await this.answer(env, body));
    else this.options.onMessage?.(message);
  }

  private async onMembers(body: unknown): Promise<void> {
    if (this.registered || !isNotification(body)) return;
    const [event, params] = body.notification;
    if (event === 'subscribed' && (params as { group?: unknown } | undefined)?.group === CONFIG_MANAGER) {
      this.log.info({ module: this.name }, 'config manager appeared: registering');
      await this.register();
    }
  }

  private onRemoteChange(body: unknown): void {
    if (!isNotification(body)) return;
    const [event, params] = body.notification;
    const { module_name: module, config } = (params ?? {}) as { module_name?: unknown; config?: unknown };
    const remote = typeof module === 'string' ? this.remotes.get(module) : undefined;
    if (event !== CONFIG_UPDATE || !remote || config === null || typeof config !== 'object') return;
    remote.config = config as Config;
    remote.onChange?.(module as string, withDefaults(remote.spec.config_data, remote.config));
  }

  /** The answer to one command: every command gets one, unknown and malformed ones included. */
  private async answer(env: SendEnvelope, body: unknown): Promise<unknown> {
    try {
      const { name, args } = parseCommand(body);
      if (name === CONFIG_UPDATE) {
        const refusal = await this.applyConfig(args as Config, 'config_update', true);
        return refusal === undefined ? createAnswer(RCODE_OK) : createAnswer(RCODE_ERROR, refusal);
      }
      const command = commandSpec(this.spec, name);
      if (!command || !this.options.onCommand) return createAnswer(RCODE_ERROR, `Unknown command: ${name}`);
      const value = await this.options.onCommand(name, checkCommandArgs(command, args), env);
      return createAnswer(RCODE_OK, value);
    } catch (err) {
      if (err instanceof AnswerError) return createAnswer(err.rcode, err.text);
      if (err instanceof ProtocolError) return createAnswer(RCODE_ERROR, `malformed command: ${err.message}`);
      return createAnswer(RCODE_ERROR, err instanceof Error ? err.message : String(err));
    }
  }
}

