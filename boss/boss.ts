import { existsSync } from 'node:fs';
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
import {
  AXFR_HANDOFF,
  MSGQ_UP,
  READY,
  UPDATE_ANSWER,
  UPDATE_HANDOFF,
  WORKERS_REPORT,
  type UpdateAnswer,
  type UpdateHandoff,
  type WorkerRow,
  type WorkersReport,
} from '../src/daemon.js';
import type { Logger } from '../src/log.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { BRIDGE_MODULE, bridgeWanted } from '../src/bridge/subjects.js';
import { COMPONENT_PID, describeExit, spawnChild, type ChildHandle, type Exit } from './child.js';
import { BRIDGE_COMPONENT, componentsFrom, isOwnProgram, resolveProgram, saysReady, type ComponentConfig } from './components.js';
import { makeDataPath } from './data-path.js';
import { componentStats } from './counters.js';
import { restartDecision, type RestartPolicy } from './restart.js';

export const BOSS_SPEC = path.join(PROJECT_ROOT, 'boss/bob.spec');
/** The module that serves zone transfers: auth hands it transfer connections through the boss. */
const XFROUT = 'Xfrout';
/** The module that applies dynamic updates: auth hands it UPDATE messages through the boss. */
const DDNS = 'DDNS';
/** How long the boss waits for msgq to answer, as the seed did. */
const MSGQ_CONNECT_MS = 5000;
/** msgq is given up on after this many failed starts within MSGQ_FAILURE_WINDOW_MS. */
const MSGQ_MAX_FAILURES = 3;
const MSGQ_FAILURE_WINDOW_MS = 30_000;
/**
 * A needed component that ends after it was ready, while b10 still starts,
 * is restarted and waited for; after this many such ends the start fails.
 */
const STARTUP_RUNS = 3;

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
  /** When the current run became ready (running); unset until it has. */
  readyAt?: number;
  restarts: number;
  /** Quick failures in a row, for the restart schedule. */
  failures: number;
  restartAt?: number;
  timer?: NodeJS.Timeout;
  /** Ends the wait for the current run to become ready. */
  readyTimer?: NodeJS.Timeout;
  /** The current run has registered its spec (for a component with an address). */
  registered: boolean;
  /** The current run has said over IPC that it is up (b10's own daemons). */
  saidReady: boolean;
  /** Why the boss is ending the current run as failed (it was not ready in time). */
  failure?: string;
  /** Why it is not running: how its last run ended. */
  cause?: string;
  /** The boss stops it on purpose (a restart, its removal): its exit is no failure. */
  stopRequested: boolean;
  /** Runs that ended after they were ready, while b10 was starting. */
  startupEnds: number;
  /** The run a `restart` command under way will start. */
  commandedRun?: number;
  /** The processes the current run answers with (auth's workers), as it last reported them. */
  workers?: WorkerRow[];
}

/** A worker of a component (auth's), as show_processes lists it under its component. */
function workerRow(c: Component, w: WorkerRow, index: number, now: number): ProcessRow {
  return {
    name: `${c.name}/${index + 1}`,
    pid: w.pid,
    kind: 'worker',
    address: null,
    state: w.state,
    restarts: w.restarts,
    failures: 0,
    uptime: w.pid === null ? null : Math.round((now - w.startedAt) / 100) / 10,
    next_restart_in: null,
    reason: null,
  };
}

/** How a run ended, with the last error the process reported: "exited with code 1: cannot listen on …". */
function exitCause(exit: Exit, lastError: string | undefined): string {
  return lastError ? `${describeExit(exit)}: ${lastError}` : describeExit(exit);
}

function displayName(component: Component): string {
  return component.name === 'cfgmgr' ? 'the config manager' : component.name;
}

/** `work`, unless one of the components exits first; no loser is left as an unhandled rejection. */
async function untilExit<T>(work: Promise<T>, components: Component[], what: string): Promise<T> {
  const exits = components.map((c) => {
    const child = c.child!;
    return child.exited.then((exit): never => {
      const cause = child.lastError ? `: ${child.lastError}` : '';
      throw new StartupError(`${displayName(c)} ${describeExit(exit)} ${what}${cause}`);
    });
  });
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
  /** Why it is not running: how its last run ended (null while it runs). */
  reason: string | null;
}

/** The answer to `restart`: the run to wait for, as `restarts` in the component's events. */
export interface RestartAnswer {
  name: string;
  restarts: number;
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
  /** Bridge's configuration names NATS servers: b10-bridge runs beside the configured components. */
  private bridgeWanted = false;
  private startingUp = true;
  /** Why the start failed, once something made it fail. */
  private startupFailure: StartupError | undefined;
  /** Called on every state change: what waits for components to settle. */
  private readonly watchers = new Set<() => void>();
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
      await this.makeDataPath();
      await this.createToken();
      const { msgq, listening } = await this.startMsgq();
      // The config manager's process boots while msgq does: it retries
      // connecting until msgq answers, and readiness is still an event the
      // boss waits for below.
      const cfgmgr = this.startConfigManager();
      // The boss connects when msgq says it listens, not at the next step of
      // a retry schedule, which could come up to 250 ms later.
      await listening;
      await this.connect(msgq, cfgmgr);
      await this.waitForConfigManager(cfgmgr);
      await this.openModuleSession();
      // Spawned in priority order without waiting for one another: each takes
      // a Node start-up (~0.2 s) to register, and one after the other they
      // added up past a second.
      for (const [name, config] of componentsFrom(this.config.components)) this.startComponent(this.add(name, config));
      // Bridge's configuration is read while they start; the bridge, when it is wanted, joins them.
      await this.followBridge();
      for (const [name, config] of this.wantedComponents()) if (!this.components.has(name)) this.startComponent(this.add(name, config));
      await this.untilStarted();
      this.startingUp = false;
      this.logStarted();
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

  private async makeDataPath(): Promise<void> {
    try {
      await makeDataPath(this.settings.dataPath);
    } catch (err) {
      throw new StartupError(`cannot make the data path ${this.settings.dataPath}: ${(err as Error).message}`);
    }
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
    const component: Component = {
      name,
      config,
      state: 'stopped',
      startedAt: 0,
      restarts: 0,
      failures: 0,
      registered: false,
      saidReady: false,
      stopRequested: false,
      startupEnds: 0,
    };
    this.components.set(name, component);
    return component;
  }

  /**
   * Starts msgq; resolves once its port is known, at once for a port given,
   * else when msgq logs the one it got. `listening` resolves when it listens.
   */
  private async startMsgq(): Promise<{ msgq: Component; listening: Promise<void> }> {
    // Needed: b10 cannot start without it; once running, a new one replaces it when it dies.
    const msgq = this.add('msgq', { process: 'b10-msgq', kind: 'needed', params: [], priority: 0 });
    const listening = this.launchMsgq(msgq).then((outcome) => {
      if (outcome.kind !== 'listening') throw new StartupError(`msgq did not start: ${outcome.why}`);
      // A replacement takes the very port the components were told.
      this.settings.msgqPort = outcome.port;
    });
    // Handled where it is awaited; until then a failure must not count as unhandled.
    listening.catch(() => {});
    if (this.settings.msgqPort === 0) await listening;
    return { msgq, listening };
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
    void child.exited.then((exit) => settle({ kind: 'failed', why: `it ${exitCause(exit, child.lastError)}`, portTaken: false }));
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
        this.log.info({ component: 'msgq', [COMPONENT_PID]: msgq.child?.pid, downMs: Date.now() - diedAt }, 'msgq restarted');
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
      'before msgq answered',
    );
    this.setState(msgq, 'running');
    void this.session.closed.then((reason) => {
      if (reason) void this.shutdown('lost the connection to msgq', 1);
    });
    this.session.on('disconnect', () => this.log.warn('lost the connection to msgq: reconnecting'));
    this.session.on('reconnect', ({ lname, downMs }) => this.log.info({ lname, downMs }, 'reconnected to msgq'));
    await Promise.all([this.session.subscribe(BOSS), this.session.subscribe(CONFIG_NOTIFICATIONS)]);
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
      await untilExit(ready, [cfgmgr], 'while starting');
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

  /**
   * Follows Bridge's configuration: the boss runs b10-bridge while it names
   * NATS servers, so that setting Bridge/nats starts the bridge and clearing
   * it stops it. Without it (the config manager cannot tell) no bridge runs.
   */
  private async followBridge(): Promise<void> {
    const module = this.module!;
    try {
      await module.addRemoteConfig(BRIDGE_MODULE, (_module, config) => {
        if (bridgeWanted(config) === this.bridgeWanted) return;
        this.bridgeWanted = !this.bridgeWanted;
        void this.reconcile();
      });
      this.bridgeWanted = bridgeWanted(module.getRemoteValue(BRIDGE_MODULE, []) as Config);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'Bridge configuration not read: b10-bridge does not run');
    }
  }

  /** The components to run: those configured, and b10-bridge when Bridge asks for it. */
  private wantedComponents(): [string, ComponentConfig][] {
    const wanted = componentsFrom(this.config.components);
    const [name, config] = BRIDGE_COMPONENT;
    if (this.bridgeWanted && !wanted.some(([n]) => n === name)) wanted.push([name, { ...config, params: [...config.params] }]);
    return wanted;
  }

  /** Brings the running components in line with a changed `components` config, or Bridge's. */
  private async reconcile(): Promise<void> {
    const wanted = new Map(this.wantedComponents());
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
      if (!this.components.has(name) && !this.stopping) this.startComponent(this.add(name, config));
    }
  }

  private onMessage({ env, body }: Message): void {
    if (env.group === BOSS && (body as { running?: unknown } | undefined)?.running === CONFIG_MANAGER) {
      // A restarted config manager's readiness event.
      this.registeredAs(CONFIG_MANAGER);
      return;
    }
    if (env.group !== CONFIG_NOTIFICATIONS || !isNotification(body)) return;
    const [event, params] = body.notification;
    const module = (params as { module_name?: unknown } | undefined)?.module_name;
    if (event !== MODULE_SPEC || typeof module !== 'string') return;
    this.registeredAs(module);
  }

  /** A module registered: the component starting under that address has done its part. */
  private registeredAs(address: string): void {
    for (const component of this.components.values()) {
      if (component.config.address !== address || component.state !== 'starting') continue;
      component.registered = true;
      this.checkReady(component);
    }
  }

  /**
   * Every state change is announced on group cc_components, so cmdctl's
   * console and `b10 listen` see components come and go without polling;
   * a failure comes with its reason.
   */
  private setState(component: Component, state: State, reason?: string): void {
    if (component.state === state) return;
    component.state = state;
    if (state === 'running') component.readyAt = Date.now();
    for (const watcher of [...this.watchers]) watcher();
    if (!this.session || this.session.isClosed) return;
    const { name, restarts } = component;
    const event = { name, state, pid: component.child?.pid ?? null, restarts, ...(reason === undefined ? {} : { reason }) };
    try {
      this.session.send(COMPONENT_EVENTS, createNotification(COMPONENT_STATE, event));
    } catch (err) {
      // Only when msgq has been gone long enough to fill the held buffer: the event is not worth stopping for.
      this.log.debug({ err }, 'component event not sent');
    }
  }

  private spawn(component: Component, onRecord?: (record: Record<string, unknown>) => void): ChildHandle {
    const { config, name } = component;
    const args = this.settings.verbose ? [...config.params, '-v'] : config.params;
    const log = this.log.child({ component: name });
    const child: ChildHandle = spawnChild(resolveProgram(config.process), args, this.childEnv(config.process), log, onRecord, (message, handle) =>
      this.onChildMessage(component, child, message, handle),
    );
    component.child = child;
    component.startedAt = Date.now();
    component.readyAt = undefined;
    component.registered = false;
    component.saidReady = false;
    component.failure = undefined;
    this.setState(component, 'starting');
    this.log.info({ component: name, [COMPONENT_PID]: child.pid, kind: config.kind }, 'component started');
    void child.exited.then((exit) => this.onExit(component, child, exit));
    return child;
  }

  /**
   * Messages from a component over IPC: that it is up, a transfer's
   * connection to pass from auth to xfrout, an UPDATE from auth to ddns or
   * ddns's answer back to the process that sent it.
   */
  private onChildMessage(component: Component, child: ChildHandle, message: unknown, handle: unknown): void {
    if (message === READY) {
      if (component.child !== child) return;
      component.saidReady = true;
      this.checkReady(component);
      return;
    }
    const type = (message as { type?: unknown } | null)?.type;
    if (type === WORKERS_REPORT) {
      if (component.child === child) component.workers = (message as WorkersReport).workers;
      return;
    }
    if (type === UPDATE_HANDOFF) {
      this.passUpdate(component, message as UpdateHandoff);
      return;
    }
    if (type === UPDATE_ANSWER) {
      const answer = message as UpdateAnswer;
      this.components.get(String(answer.to))?.child?.notify({ ...answer, to: undefined });
      return;
    }
    if ((message as { type?: unknown } | null)?.type !== AXFR_HANDOFF || !(handle instanceof net.Socket)) return;
    // The boss's copy reads until it is sent on: a client's reset meanwhile must not be an unhandled error.
    handle.on('error', () => {});
    const xfrout = [...this.components.values()].find((c) => c.config.address === XFROUT && c.child?.running);
    if (xfrout?.child?.pass(message, handle)) return;
    this.log.warn({ from: component.name }, 'a zone transfer was asked for, but xfrout is not running: connection closed');
    handle.destroy();
  }

  /** An UPDATE to ddns, marked with who sent it; when ddns is not running, the sender is told at once. */
  private passUpdate(component: Component, handoff: UpdateHandoff): void {
    const ddns = [...this.components.values()].find((c) => c.config.address === DDNS && c.state === 'running');
    if (ddns?.child?.notify({ ...handoff, from: component.name })) return;
    const answer: UpdateAnswer = { type: UPDATE_ANSWER, id: handoff.id, unavailable: 'ddns is not running' };
    component.child?.notify(answer);
  }

  private childEnv(program: string): NodeJS.ProcessEnv {
    const socketFile = this.settings.msgqSocketFile;
    return {
      // Node reads and parses every certificate in that file as it starts,
      // about 40 ms of CPU per process with a system bundle, ten processes at
      // once; b10's programs verify no TLS peer, so they go without it.
      ...(isOwnProgram(program) ? { NODE_EXTRA_CA_CERTS: undefined } : {}),
      ...(socketFile ? { B10_MSGQ_SOCKET_FILE: socketFile, BIND10_MSGQ_SOCKET_FILE: socketFile } : {}),
      B10_MSGQ_PORT: String(this.settings.msgqPort),
      B10_DATA_PATH: this.settings.dataPath,
      B10_MSGQ_TOKEN_FILE: this.tokenFile,
      B10_DNS_PORT: String(this.settings.dnsPort),
      ...(this.settings.cmdctlPort === undefined ? {} : { B10_CMDCTL_PORT: String(this.settings.cmdctlPort) }),
    };
  }

  /**
   * Starts a run of a component. It is running once ready: registered, if it
   * has an address, and — b10's own daemons — once it said so over IPC, its
   * ports bound. How the run ends, however early, is onExit's to handle.
   */
  private startComponent(component: Component): void {
    if (this.stopping) return;
    const program = resolveProgram(component.config.process);
    if (!existsSync(program)) {
      component.startedAt = Date.now();
      component.readyAt = undefined;
      this.setState(component, 'starting');
      this.runEnded(component, `program ${program} does not exist`, 0);
      return;
    }
    const child = this.spawn(component);
    component.readyTimer = setTimeout(() => this.notReadyInTime(component, child), this.settings.readyTimeout);
    this.checkReady(component);
  }

  private checkReady(component: Component): void {
    const { address, process: program } = component.config;
    if (component.state !== 'starting' || !component.child) return;
    if ((address && !component.registered) || (saysReady(program) && !component.saidReady)) return;
    clearTimeout(component.readyTimer);
    component.cause = undefined;
    this.log.info({ component: component.name, address }, 'component ready');
    this.setState(component, 'running');
  }

  /** A run not ready within --ready-timeout is a failure like any other: it is stopped, and its exit handled as one. */
  private notReadyInTime(component: Component, child: ChildHandle): void {
    if (component.child !== child || component.state !== 'starting') return;
    const address = component.config.address;
    const what = address && !component.registered ? `did not register as ${address}` : 'did not say it was up';
    component.failure = `${what} within ${this.settings.readyTimeout} ms`;
    this.log.warn({ component: component.name, why: component.failure }, 'component not ready in time: stopping it');
    void this.terminate([component]);
  }

  private onExit(component: Component, child: ChildHandle, exit: Exit): void {
    if (component.child !== child) return;
    component.child = undefined;
    component.workers = undefined;
    clearTimeout(component.readyTimer);
    const ranMs = Date.now() - component.startedAt;
    if (this.stopping || component.stopRequested) {
      this.setState(component, 'stopped');
      this.log.info({ component: component.name, code: exit.code, signal: exit.signal }, 'component stopped');
      return;
    }
    this.runEnded(component, component.failure ?? exitCause(exit, child.lastError), ranMs, exit);
  }

  /**
   * A run ended that nobody asked to end: before it was ready (it could not
   * start) or after. What follows depends on the kind and on whether b10 is
   * still starting; see docs/boss.md.
   */
  private runEnded(component: Component, cause: string, ranMs: number, exit?: Exit): void {
    const { name } = component;
    const wasReady = component.readyAt !== undefined;
    component.cause = cause;
    this.log.error(
      { component: name, code: exit?.code, signal: exit?.signal, ranMs, cause },
      wasReady ? 'component exited' : 'component could not start',
    );
    this.setState(component, 'stopped', cause);
    if (name === 'msgq') {
      // A replacement that failed to start is bringBackMsgq's to handle.
      if (this.startingUp) this.failStartup(`msgq ended while b10 was starting: ${cause}`);
      else if (wasReady) void this.bringBackMsgq(component);
      return;
    }
    const kind = component.config.kind;
    const what = wasReady ? `${displayName(component)} ended` : `${displayName(component)} could not start`;
    if (kind === 'core') {
      if (this.startingUp) this.failStartup(`${what}: ${cause}`);
      else void this.shutdown(`${what} and b10 cannot run without it: ${cause}`, 1);
      return;
    }
    if (this.startingUp && kind === 'needed') {
      if (!wasReady) {
        this.failStartup(`${what}: ${cause}`);
        return;
      }
      if (++component.startupEnds >= STARTUP_RUNS) {
        this.failStartup(`${what} ${component.startupEnds} times while b10 was starting, last: ${cause}`);
        return;
      }
    }
    this.scheduleRestart(component, wasReady, ranMs);
  }

  private scheduleRestart(component: Component, ready: boolean, ranMs: number): void {
    const decision = restartDecision(
      { startedAt: component.startedAt, exitedAt: component.startedAt + ranMs, failures: component.failures, ready },
      this.settings.policy,
    );
    component.failures = decision.failures;
    component.restartAt = Date.now() + decision.delay;
    this.setState(component, 'restarting', component.cause);
    this.log.info(
      { component: component.name, delay: decision.delay, interval: decision.interval, failures: decision.failures },
      'restart scheduled',
    );
    component.timer = setTimeout(() => {
      component.timer = undefined;
      component.restartAt = undefined;
      component.restarts++;
      this.startComponent(component);
    }, decision.delay);
  }

  private failStartup(reason: string): void {
    this.startupFailure ??= new StartupError(reason);
    for (const watcher of [...this.watchers]) watcher();
  }

  /**
   * Resolves once start-up has settled: every core and needed component
   * running, every dispensable one running or failed once (it is restarted
   * on the schedule meanwhile). Rejects with the reason the start failed.
   */
  private untilStarted(): Promise<void> {
    const settled = (c: Component): boolean => c.state === 'running' || (c.config.kind === 'dispensable' && c.cause !== undefined);
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (this.startupFailure) reject(this.startupFailure);
        else if ([...this.components.values()].every(settled)) resolve();
        else return;
        this.watchers.delete(check);
      };
      this.watchers.add(check);
      check();
    });
  }

  /** "b10 started", naming what runs; at warn, with the reasons, when a dispensable component does not. */
  private logStarted(): void {
    const all = [...this.components.values()];
    const fields = { components: all.filter((c) => c.state === 'running').map((c) => c.name), msgqPort: this.settings.msgqPort };
    const down = all.filter((c) => c.state !== 'running');
    if (down.length === 0) {
      this.log.info(fields, 'b10 started');
      return;
    }
    const notRunning = Object.fromEntries(down.map((c) => [c.name, c.cause ?? c.state]));
    this.log.warn({ ...fields, notRunning }, 'b10 started');
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
      case 'getstats':
        // Components only: a worker's name (auth/1) is no statistics item name.
        return componentStats(this.processes().filter((row) => row.kind !== 'worker'));
      case 'restart':
        return this.restartByName(String(args.name));
      default:
        throw new UsageError(`Unknown command: ${name}`);
    }
  }

  /** One row per component, each followed by its workers' (auth/1, auth/2 ...). */
  processes(): ProcessRow[] {
    const now = Date.now();
    return [...this.components.values()].flatMap((c) => [this.row(c, now), ...(c.workers ?? []).map((w, i) => workerRow(c, w, i, now))]);
  }

  private row(c: Component, now: number): ProcessRow {
    return {
      name: c.name,
      pid: c.child?.pid ?? null,
      kind: c.config.kind,
      address: c.config.address ?? null,
      state: c.state,
      restarts: c.restarts,
      failures: c.failures,
      uptime: c.child ? Math.round((now - c.startedAt) / 100) / 10 : null,
      next_restart_in: c.restartAt === undefined ? null : Math.max(0, Math.round((c.restartAt - now) / 100) / 10),
      reason: c.state === 'running' ? null : (c.cause ?? null),
    };
  }

  /**
   * Stops the component and starts it again; answers at once with the run
   * it will start, so the caller can wait for that run's events: `running`,
   * or `stopped` with the reason it failed. A second request while one is
   * under way joins it.
   */
  private restartByName(name: string): RestartAnswer {
    const component = this.components.get(name);
    if (!component) throw new UsageError(`no component named ${name}`);
    if (component.config.kind === 'core') throw new UsageError(`${name} is a core component: restart b10 instead`);
    if (name === 'msgq') throw new UsageError('msgq is restarted only when it dies: every session would lose its connection');
    if (this.stopping) throw new UsageError('b10 is shutting down');
    if (component.commandedRun === undefined) {
      const run = component.restarts + 1;
      component.commandedRun = run;
      void this.stopComponent(component).then(() => {
        component.commandedRun = undefined;
        component.failures = 0;
        component.restarts = run;
        this.startComponent(component);
      });
    }
    return { name, restarts: component.commandedRun };
  }

  /** Stops one component for good (no restart): cancels a pending restart, then the shutdown steps. */
  private async stopComponent(component: Component): Promise<void> {
    component.stopRequested = true;
    if (component.timer) clearTimeout(component.timer);
    component.timer = undefined;
    component.restartAt = undefined;
    await this.terminate([component]);
    component.stopRequested = false;
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
      this.log.info({ component: c.name, [COMPONENT_PID]: c.child!.pid }, 'sending SIGTERM');
      c.child!.kill('SIGTERM');
    }
    await this.waitForExit(alive(), this.settings.stopGrace);
    for (const c of alive()) {
      this.log.warn({ component: c.name, [COMPONENT_PID]: c.child!.pid }, 'still running after SIGTERM: sending SIGKILL');
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
