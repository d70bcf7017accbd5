import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../protocol/config-data.js';
import { NoRecipientError, TimeoutError, UsageError } from '../protocol/errors.js';
import { createCommand, createNotification, isNotification } from '../protocol/message.js';
import {
  CONFIG_MANAGER,
  CONFIG_NOTIFICATIONS,
  MODULE_SPEC,
  ModuleSession,
} from '../protocol/module-session.js';
import { BOSS, COMPONENT_EVENTS, COMPONENT_STATE } from '../protocol/groups.js';
import { Session, type Message } from '../protocol/session.js';
import { DEFAULT_MSGQ_HOST } from '../protocol/limits.js';
import { TOKEN_FILE_NAME } from '../protocol/token.js';
import { connectOnce } from '../protocol/transport.js';
import { writeTokenFile } from '../msgq/token-file.js';
import { AXFR_HANDOFF, MSGQ_UP } from '../src/daemon.js';
import type { Logger } from '../src/log.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { spawnChild, type ChildHandle } from './child.js';
import { componentsFrom, resolveProgram, type ComponentConfig } from './components.js';
import { restartDecision, type RestartPolicy } from './restart.js';

export const BOSS_SPEC = path.join(PROJECT_ROOT, 'boss/bob.spec');
/** The module that serves zone transfers: auth hands it transfer connections through the boss. */
const XFROUT = 'Xfrout';
/** How long the boss waits for msgq to answer, as the seed did. */
const MSGQ_CONNECT_MS = 5000;
/** msgq is given up on after this many failed starts within MSGQ_FAILURE_WINDOW_MS. */
const MSGQ_MAX_FAILURES = 3;
const MSGQ_FAILURE_WINDOW_MS = 30_000;

export interface BossSettings {
  msgqPort: number;
  /** msgq's Unix socket file, for the original BIND 10 clients; none by default. */
  msgqSocketFile?: string;
  /** Auth's DNS port (-p), passed on to components that serve DNS. */
  dnsPort: number;
  /** cmdctl's HTTP port (--cmdctl-port); unset leaves it to cmdctl's configuration. */
  cmdctlPort?: number;
  dataPath: string;
  verbose: boolean;
  policy: RestartPolicy;
  /** How long a component may take to register its spec. */
  readyTimeout: number;
  /** How long each shutdown step (bus shutdown, then SIGTERM) waits before the next. */
  stopGrace: number;
}

/** Why b10 could not start; the boss has stopped what it started. */
export class StartupError extends Error {}

type State = 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped';

interface Component {
  name: string;
  config: ComponentConfig;
  child?: ChildHandle;
  state: State;
  startedAt: number;
  restarts: number;
  /** Quick failures in a row, for the restart schedule. */
  failures: number;
  restartAt?: number;
  timer?: NodeJS.Timeout;
}

/** `work`, unless one of the components exits first; no loser is left as an unhandled rejection. */
async function untilExit<T>(work: Promise<T>, components: Component[], what: string): Promise<T> {
  const exits = components.map((c) =>
    c.child!.exited.then(({ code, signal }): never => {
      const name = c.name === 'cfgmgr' ? 'the config manager' : c.name;
      throw new StartupError(`${name} ${what} (code ${code}, signal ${signal})`);
    }),
  );
  work.catch(() => {});
  for (const exit of exits) exit.catch(() => {});
  return Promise.race([work, ...exits]);
}

type MsgqLaunch = { kind: 'listening'; port: number } | { kind: 'failed'; why: string; portTaken: boolean };

/** One row of show_processes. */
export interface ProcessRow {
  name: string;
  pid: number | null;
  kind: string;
  address: string | null;
  state: State;
  restarts: number;
  failures: number;
  uptime: number | null;
  next_restart_in: number | null;
}

/**
 * The boss of BIND: starts msgq, the config manager and the configured
 * components in order, restarts those that exit on the seed's schedule, and
 * stops everything — bus `shutdown`, then SIGTERM, then SIGKILL — so that
 * nothing outlives it. Child exits and bus traffic meet in this one event loop.
 */
export class Boss {
  private readonly components = new Map<string, Component>();
  private session: Session | undefined;
  private module: ModuleSession | undefined;
  private config: Config = {};
  private readonly registered = new Set<string>();
  private readonly registrationWaiters = new Map<string, () => void>();
  private startingUp = true;
  /** When msgq failed to start, for the give-up rule. */
  private msgqFailures: number[] = [];
  private stopping: Promise<number> | undefined;
  private readonly tokenFile: string;
  private token = '';
  private resolveDone!: (code: number) => void;
  /** The exit code, once everything has stopped. */
  readonly done = new Promise<number>((resolve) => (this.resolveDone = resolve));

  constructor(
    private readonly settings: BossSettings,
    private readonly log: Logger,
  ) {
    this.tokenFile = path.join(settings.dataPath, TOKEN_FILE_NAME);
  }

  async start(): Promise<void> {
    try {
      await this.refuseIfMsgqRuns();
      await this.createToken();
      const msgq = await this.startMsgq();
      // The config manager's process boots while the boss connects: it
      // retries connecting until msgq answers, and readiness is still an
      // event the boss waits for below.
      const cfgmgr = this.startConfigManager();
      await this.connect(msgq, cfgmgr);
      await this.waitForConfigManager(cfgmgr);
      await this.openModuleSession();
      // Spawned in priority order without waiting for one another: each takes
      // a Node start-up (~0.2 s) to register, and one after the other they
      // added up past a second.
      const outcomes = await Promise.allSettled(
        componentsFrom(this.config.components).map(([name, config]) => this.startComponent(this.add(name, config))),
      );
      const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      if (failed) throw failed.reason;
      this.startingUp = false;
      this.log.info({ components: [...this.components.keys()], msgqPort: this.settings.msgqPort }, 'b10 started');
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      await this.shutdown(`startup failed: ${reason}`, 1);
      throw err instanceof StartupError ? err : new StartupError(reason);
    }
  }

  /** Stops everything; resolves with the exit code. Safe to call many times. */
  shutdown(reason: string, code = 0): Promise<number> {
    this.stopping ??= this.stopAll(reason, code).then((exitCode) => {
      this.resolveDone(exitCode);
      return exitCode;
    });
    return this.stopping;
  }

  /**
   * Before anything is written: a running msgq's clients must keep their token.
   * Only a client with that token could ask it who it is, so whatever answers
   * on the port is taken for one.
   */
  private async refuseIfMsgqRuns(): Promise<void> {
    const port = this.settings.msgqPort;
    if (port === 0) return;
    let existing: net.Socket;
    try {
      existing = await connectOnce({ host: DEFAULT_MSGQ_HOST, port });
    } catch {
      return;
    }
    existing.destroy();
    throw new StartupError(`msgq already running on port ${port} (something accepts connections there)`);
  }

  /** A fresh bus token for this run, in its own file only this user can read. */
  private async createToken(): Promise<void> {
    try {
      this.token = await writeTokenFile(this.tokenFile);
    } catch (err) {
      throw new StartupError(`cannot write the bus token ${this.tokenFile}: ${(err as Error).message}`);
    }
  }

  private add(name: string, config: ComponentConfig): Component {
    const component: Component = { name, config, state: 'stopped', startedAt: 0, restarts: 0, failures: 0 };
    this.components.set(name, component);
    return component;
  }

  /** Starts msgq; resolves once its port is known (it logs it, which is how port 0 is learned). */
  private async startMsgq(): Promise<Component> {
    // Needed: b10 cannot start without it; once running, a new one replaces it when it dies.
    const msgq = this.add('msgq', { process: 'b10-msgq', kind: 'needed', params: [], priority: 0 });
    const launch = this.launchMsgq(msgq);
    if (this.settings.msgqPort === 0) {
      const outcome = await launch;
      if (outcome.kind !== 'listening') throw new StartupError(`msgq did not start: ${outcome.why}`);
      // A replacement takes the very port the components were told.
      this.settings.msgqPort = outcome.port;
    }
    return msgq;
  }

  /** Spawns msgq and tells how that went: listening (on which port), or why not. */
  private launchMsgq(msgq: Component): Promise<MsgqLaunch> {
    msgq.config.params = ['--port', String(this.settings.msgqPort), '--allow-stop', '--token-file', this.tokenFile];
    if (this.settings.msgqSocketFile) msgq.config.params.push('--socket-file', this.settings.msgqSocketFile);
    let settle!: (outcome: MsgqLaunch) => void;
    const outcome = new Promise<MsgqLaunch>((resolve) => (settle = resolve));
    const child = this.spawn(msgq, (record) => {
      if (record.msg === 'msgq listening' && typeof record.port === 'number') settle({ kind: 'listening', port: record.port });
      else if (record.level === 60) settle({ kind: 'failed', why: String(record.msg), portTaken: record.code === 'EADDRINUSE' });
    });
    void child.exited.then(({ code, signal }) => settle({ kind: 'failed', why: `it exited (code ${code}, signal ${signal})`, portTaken: false }));
    const timer = setTimeout(() => settle({ kind: 'failed', why: `it did not listen within ${MSGQ_CONNECT_MS} ms`, portTaken: false }), MSGQ_CONNECT_MS);
    return outcome.finally(() => clearTimeout(timer));
  }

  /**
   * msgq died: start a new one on the same port (and socket file) at once;
   * every session reconnects to it. Only when msgq cannot be brought back —
   * its port is taken, or it failed to start three times within 30 s — does
   * b10 shut down, as the seed did on msgq's death.
   */
  private async bringBackMsgq(msgq: Component): Promise<void> {
    const diedAt = Date.now();
    while (!this.stopping) {
      const outcome = await this.launchMsgq(msgq);
      if (this.stopping) return;
      if (outcome.kind === 'listening') {
        this.setState(msgq, 'running');
        msgq.restarts++;
        this.log.info({ component: 'msgq', pid: msgq.child?.pid, downMs: Date.now() - diedAt }, 'msgq restarted');
        this.session?.reconnectNow();
        for (const c of this.components.values()) if (c !== msgq) c.child?.notify(MSGQ_UP);
        return;
      }
      msgq.child?.kill('SIGKILL');
      const now = Date.now();
      this.msgqFailures = [...this.msgqFailures.filter((t) => now - t < MSGQ_FAILURE_WINDOW_MS), now];
      this.log.error({ component: 'msgq', why: outcome.why, failures: this.msgqFailures.length }, 'msgq did not start');
      if (outcome.portTaken) {
        void this.shutdown(`msgq cannot be restarted: ${outcome.why}`, 1);
        return;
      }
      if (this.msgqFailures.length >= MSGQ_MAX_FAILURES) {
        void this.shutdown(`msgq cannot be restarted: ${this.msgqFailures.length} failed starts within ${MSGQ_FAILURE_WINDOW_MS / 1000} s`, 1);
        return;
      }
    }
  }

  private startConfigManager(): Component {
    // Needed: b10 cannot start without it; once running, it is restarted like
    // any component, and loses nothing, since it keeps everything on disk.
    const cfgmgr = this.add('cfgmgr', {
      process: 'b10-cfgmgr',
      kind: 'needed',
      address: CONFIG_MANAGER,
      params: ['--data-path', this.settings.dataPath],
      priority: 0,
    });
    this.spawn(cfgmgr);
    return cfgmgr;
  }

  /** Connects to msgq (retrying for up to 5 s, as the seed did) and subscribes to what the boss listens to. */
  private async connect(msgq: Component, cfgmgr: Component): Promise<void> {
    // The boss's session rides out msgq's restarts for as long as it takes:
    // the boss itself decides when msgq cannot be brought back.
    this.session = await untilExit(
      Session.connect({ port: this.settings.msgqPort, token: this.token, connectTimeout: MSGQ_CONNECT_MS, reconnectWindow: Infinity }),
      [msgq, cfgmgr],
      'exited before msgq answered',
    );
    this.setState(msgq, 'running');
    void this.session.closed.then((reason) => {
      if (reason) void this.shutdown('lost the connection to msgq', 1);
    });
    this.session.on('disconnect', () => this.log.warn('lost the connection to msgq: reconnecting'));
    this.session.on('reconnect', ({ lname, downMs }) => this.log.info({ lname, downMs }, 'reconnected to msgq'));
    await this.session.subscribe(BOSS);
    await this.session.subscribe(CONFIG_NOTIFICATIONS);
  }

  /**
   * The config manager is ready once it answers: either it already does (a
   * request to it gets an answer), or it is not subscribed yet and its
   * readiness event, {running: "ConfigManager"} to group Boss, is still to
   * come — after the boss subscribed, so it cannot be missed.
   */
  private async waitForConfigManager(cfgmgr: Component): Promise<void> {
    const session = this.session!;
    const timeout = this.settings.readyTimeout;
    const ready = (async () => {
      try {
        await session.command(CONFIG_MANAGER, 'get_config', { module_name: BOSS }, { timeout });
        return;
      } catch (err) {
        if (!(err instanceof NoRecipientError)) throw err;
      }
      for (;;) {
        const { body } = await session.recv({ timeout });
        if ((body as { running?: unknown } | undefined)?.running === CONFIG_MANAGER) return;
      }
    })();
    try {
      await untilExit(ready, [cfgmgr], 'exited while starting');
    } catch (err) {
      if (err instanceof TimeoutError) throw new StartupError(`the config manager did not start within ${err.ms} ms`);
      throw err;
    }
    this.setState(cfgmgr, 'running');
  }

  private async openModuleSession(): Promise<void> {
    this.module = await ModuleSession.start({
      spec: BOSS_SPEC,
      session: this.session,
      log: this.log,
      onConfig: (config) => this.onConfig(config),
      onCommand: (name, args) => this.onCommand(name, args),
      onMessage: (message) => this.onMessage(message),
    });
  }

  private onConfig(config: Config): void {
    componentsFrom(config.components);
    const first = this.module === undefined;
    this.config = config;
    if (!first) void this.reconcile();
  }

  /** Brings the running components in line with a changed `components` config. */
  private async reconcile(): Promise<void> {
    const wanted = new Map(componentsFrom(this.config.components));
    for (const component of [...this.components.values()]) {
      if (component.name === 'msgq' || component.name === 'cfgmgr') continue;
      const next = wanted.get(component.name);
      if (!next || JSON.stringify(next) !== JSON.stringify(component.config)) {
        this.log.info({ component: component.name }, next ? 'component changed: restarting it' : 'component removed: stopping it');
        await this.stopComponent(component);
        this.components.delete(component.name);
      }
    }
    for (const [name, config] of wanted) {
      if (!this.components.has(name) && !this.stopping) void this.startComponent(this.add(name, config)).catch(() => {});
    }
  }

  private onMessage({ env, body }: Message): void {
    if (env.group === BOSS && (body as { running?: unknown } | undefined)?.running === CONFIG_MANAGER) {
      // A restarted config manager's readiness event.
      this.registered.add(CONFIG_MANAGER);
      this.registrationWaiters.get(CONFIG_MANAGER)?.();
      return;
    }
    if (env.group !== CONFIG_NOTIFICATIONS || !isNotification(body)) return;
    const [event, params] = body.notification;
    const module = (params as { module_name?: unknown } | undefined)?.module_name;
    if (event !== MODULE_SPEC || typeof module !== 'string') return;
    this.registered.add(module);
    this.registrationWaiters.get(module)?.();
  }

  /**
   * Every state change is announced on group cc_components, so cmdctl's
   * console and `b10 listen` see components come and go without polling.
   */
  private setState(component: Component, state: State): void {
    if (component.state === state) return;
    component.state = state;
    if (!this.session || this.session.isClosed) return;
    const { name, restarts } = component;
    try {
      this.session.send(COMPONENT_EVENTS, createNotification(COMPONENT_STATE, { name, state, pid: component.child?.pid ?? null, restarts }));
    } catch (err) {
      // Only when msgq has been gone long enough to fill the held buffer: the event is not worth stopping for.
      this.log.debug({ err }, 'component event not sent');
    }
  }

  private spawn(component: Component, onRecord?: (record: Record<string, unknown>) => void): ChildHandle {
    const { config, name } = component;
    const args = this.settings.verbose ? [...config.params, '-v'] : config.params;
    const log = this.log.child({ component: name });
    const child = spawnChild(resolveProgram(config.process), args, this.childEnv(), log, onRecord, (message, handle) =>
      this.onChildMessage(name, message, handle),
    );
    component.child = child;
    component.startedAt = Date.now();
    this.setState(component, 'starting');
    this.log.info({ component: name, pid: child.pid, kind: config.kind }, 'component started');
    void child.exited.then(({ code, signal }) => this.onExit(component, child, code, signal));
    return child;
  }

  /** Messages between components that go through the boss: a transfer's connection, from auth to xfrout. */
  private onChildMessage(from: string, message: unknown, handle: unknown): void {
    if ((message as { type?: unknown } | null)?.type !== AXFR_HANDOFF || !(handle instanceof net.Socket)) return;
    // The boss's copy reads until it is sent on: a client's reset meanwhile must not be an unhandled error.
    handle.on('error', () => {});
    const xfrout = [...this.components.values()].find((c) => c.config.address === XFROUT && c.child?.running);
    if (xfrout?.child?.pass(message, handle)) return;
    this.log.warn({ from }, 'a zone transfer was asked for, but xfrout is not running: connection closed');
    handle.destroy();
  }

  private childEnv(): NodeJS.ProcessEnv {
    const socketFile = this.settings.msgqSocketFile;
    return {
      ...(socketFile ? { B10_MSGQ_SOCKET_FILE: socketFile, BIND10_MSGQ_SOCKET_FILE: socketFile } : {}),
      B10_MSGQ_PORT: String(this.settings.msgqPort),
      B10_DATA_PATH: this.settings.dataPath,
      B10_MSGQ_TOKEN_FILE: this.tokenFile,
      B10_DNS_PORT: String(this.settings.dnsPort),
      ...(this.settings.cmdctlPort === undefined ? {} : { B10_CMDCTL_PORT: String(this.settings.cmdctlPort) }),
    };
  }

  /** Spawns a component and waits until it is ready: registered, if it has an address. */
  private async startComponent(component: Component): Promise<void> {
    const address = component.config.address;
    if (address) this.registered.delete(address);
    const child = this.spawn(component);
    if (!address) {
      this.setState(component, 'running');
      return;
    }
    const registered = new Promise<void>((resolve) => {
      if (this.registered.has(address)) resolve();
      else this.registrationWaiters.set(address, resolve);
    });
    const timeout = sleep(this.settings.readyTimeout, 'timeout' as const, { ref: false });
    const outcome = await Promise.race([registered.then(() => 'ready' as const), child.exited.then(() => 'exited' as const), timeout]);
    this.registrationWaiters.delete(address);
    if (outcome === 'ready') {
      if (component.child === child && component.state === 'starting') this.setState(component, 'running');
      this.log.info({ component: component.name, address }, 'component ready');
      return;
    }
    const why =
      outcome === 'exited'
        ? `${component.name} exited while starting`
        : `${component.name} did not register as ${address} within ${this.settings.readyTimeout} ms`;
    if (this.startingUp && component.config.kind !== 'dispensable') throw new StartupError(why);
    this.log.warn({ component: component.name }, why);
    // A component that never registers is a failure like any other: it is
    // stopped, and the exit schedules its restart.
    if (outcome === 'timeout') await this.terminate([component]);
  }

  private onExit(component: Component, child: ChildHandle, code: number | null, signal: NodeJS.Signals | null): void {
    if (component.child !== child) return;
    component.child = undefined;
    const ranMs = Date.now() - component.startedAt;
    if (this.stopping || component.state === 'stopping') {
      this.setState(component, 'stopped');
      this.log.info({ component: component.name, code, signal }, 'component stopped');
      return;
    }
    this.log.warn({ component: component.name, code, signal, ranMs }, 'component exited');
    const wasRunning = component.state === 'running';
    this.setState(component, 'stopped');
    if (component.name === 'msgq') {
      // A replacement that failed to start is bringBackMsgq's to handle.
      if (this.startingUp) void this.shutdown('msgq exited while b10 was starting', 1);
      else if (wasRunning) void this.bringBackMsgq(component);
      return;
    }
    if (component.config.kind === 'core') {
      void this.shutdown(`${component.name} exited and b10 cannot run without it`, 1);
      return;
    }
    if (this.startingUp && component.config.kind === 'needed') return;
    const decision = restartDecision(
      { startedAt: component.startedAt, exitedAt: component.startedAt + ranMs, failures: component.failures },
      this.settings.policy,
    );
    component.failures = decision.failures;
    this.setState(component, 'restarting');
    component.restartAt = Date.now() + decision.delay;
    this.log.info(
      { component: component.name, delay: decision.delay, interval: decision.interval, failures: decision.failures },
      'restart scheduled',
    );
    component.timer = setTimeout(() => {
      component.timer = undefined;
      component.restartAt = undefined;
      component.restarts++;
      void this.startComponent(component).catch(() => {});
    }, decision.delay);
  }

  private async onCommand(name: string, args: Config): Promise<unknown> {
    switch (name) {
      case 'shutdown':
        setImmediate(() => void this.shutdown('shutdown command'));
        return undefined;
      case 'print_message':
        process.stdout.write(`${String(args.message)}\n`);
        this.log.info({ message: args.message }, 'print_message');
        return args.message;
      case 'print_settings': {
        const settings = { ...this.settings, config: this.module!.getFullConfig() };
        process.stdout.write(`${JSON.stringify(settings, null, 2)}\n`);
        return settings;
      }
      case 'ping':
        return 'pong';
      case 'show_processes':
        return this.processes();
      case 'restart':
        return this.restartByName(String(args.name));
      default:
        throw new UsageError(`Unknown command: ${name}`);
    }
  }

  processes(): ProcessRow[] {
    const now = Date.now();
    return [...this.components.values()].map((c) => ({
      name: c.name,
      pid: c.child?.pid ?? null,
      kind: c.config.kind,
      address: c.config.address ?? null,
      state: c.state,
      restarts: c.restarts,
      failures: c.failures,
      uptime: c.child ? Math.round((now - c.startedAt) / 100) / 10 : null,
      next_restart_in: c.restartAt === undefined ? null : Math.max(0, Math.round((c.restartAt - now) / 100) / 10),
    }));
  }

  private restartByName(name: string): string {
    const component = this.components.get(name);
    if (!component) throw new UsageError(`no component named ${name}`);
    if (component.config.kind === 'core') throw new UsageError(`${name} is a core component: restart b10 instead`);
    if (name === 'msgq') throw new UsageError('msgq is restarted only when it dies: every session would lose its connection');
    void (async () => {
      await this.stopComponent(component);
      if (this.stopping) return;
      component.failures = 0;
      component.restarts++;
      await this.startComponent(component).catch(() => {});
    })();
    return `restarting ${name}`;
  }

  /** Stops one component for good (no restart): cancels a pending restart, then the shutdown steps. */
  private async stopComponent(component: Component): Promise<void> {
    if (component.timer) clearTimeout(component.timer);
    component.timer = undefined;
    component.restartAt = undefined;
    await this.terminate([component]);
  }

  /**
   * The shutdown steps for a set of components: the bus `shutdown` command
   * to those with an address, then SIGTERM to whatever still runs, then
   * SIGKILL. Each step waits at most stopGrace, and only as long as needed.
   */
  private async terminate(components: Component[]): Promise<void> {
    const alive = (): Component[] => components.filter((c) => c.child?.running);
    for (const c of alive()) this.setState(c, 'stopping');
    const session = this.session;
    const byBus = alive().filter((c) => c.config.address && session?.isConnected);
    for (const c of byBus) session!.send(c.config.address!, createCommand('shutdown'));
    if (byBus.length > 0) await this.waitForExit(alive(), this.settings.stopGrace);
    for (const c of alive()) {
      this.log.info({ component: c.name, pid: c.child!.pid }, 'sending SIGTERM');
      c.child!.kill('SIGTERM');
    }
    await this.waitForExit(alive(), this.settings.stopGrace);
    for (const c of alive()) {
      this.log.warn({ component: c.name, pid: c.child!.pid }, 'still running after SIGTERM: sending SIGKILL');
      c.child!.kill('SIGKILL');
    }
    await this.waitForExit(alive(), Infinity);
  }

  private async waitForExit(components: Component[], ms: number): Promise<void> {
    if (components.length === 0) return;
    const all = Promise.all(components.map((c) => c.child!.exited));
    if (ms === Infinity) {
      await all;
      return;
    }
    const controller = new AbortController();
    await Promise.race([all, sleep(ms, undefined, { signal: controller.signal }).catch(() => {})]);
    controller.abort();
  }

  private async stopAll(reason: string, code: number): Promise<number> {
    this.log.info({ reason }, 'b10 shutting down');
    for (const c of this.components.values()) {
      if (c.timer) clearTimeout(c.timer);
      c.timer = undefined;
    }
    const all = [...this.components.values()];
    const modules = all.filter((c) => c.name !== 'msgq' && c.name !== 'cfgmgr').reverse();
    await this.terminate(modules);
    await this.terminate(all.filter((c) => c.name === 'cfgmgr'));
    await this.session?.close().catch(() => {});
    await this.terminate(all.filter((c) => c.name === 'msgq'));
    this.log.info({ code }, 'b10 stopped');
    return code;
  }
}
