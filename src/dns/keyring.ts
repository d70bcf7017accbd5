import type { Config } from '../../protocol/config-data.js';
import type { ModuleSession } from '../../protocol/module-session.js';
import type { Logger } from '../log.js';
import { Keyring } from './tsig.js';

/**
 * The TSIG keyring a daemon signs and verifies with: tsig_keys/keys,
 * followed through the config manager as BIND 10's tsig_keyring did it
 * (a remote config of the daemon's module session), so that `current` is
 * always the committed keyring. Until the config manager answers, the
 * keyring is empty: signed messages are refused as of an unknown key.
 */

const TSIG_KEYS = 'tsig_keys';
/** Waits between tries to reach the config manager for the keyring, ms, doubling up to the last. */
const RETRY_MS = [1000, 2000, 4000, 8000, 16_000, 30_000];

export class KeyringFollower {
  current: Keyring = new Keyring();
  /** Resolves once the first try to read the keyring is over, whether it was read or not. */
  readonly loaded: Promise<void>;
  private firstTried!: () => void;
  private stopped = false;

  private constructor(
    private readonly module: ModuleSession,
    private readonly log: Logger,
    private readonly onChange?: (keyring: Keyring) => void | Promise<void>,
  ) {
    this.loaded = new Promise((resolve) => (this.firstTried = resolve));
  }

  /**
   * Starts following tsig_keys on `module`; returns at once, the first
   * keyring coming when the config manager answers. `onChange` is given
   * each keyring taken; the log that it is loaded waits for what it returns
   * (auth's workers taking it), so that it is true of every process.
   */
  static follow(module: ModuleSession, log: Logger, onChange?: (keyring: Keyring) => void | Promise<void>): KeyringFollower {
    const follower = new KeyringFollower(module, log, onChange);
    void follower.start(0);
    return follower;
  }

  stop(): void {
    this.stopped = true;
  }

  private async start(attempt: number): Promise<void> {
    if (this.stopped) return;
    try {
      await this.module.addRemoteConfig(TSIG_KEYS, (_module, config) => this.apply(config));
      this.apply({ keys: this.module.getRemoteValue(TSIG_KEYS, 'keys') });
    } catch (err) {
      const wait = RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]!;
      this.log.warn({ err: (err as Error).message, retryMs: wait }, 'TSIG keyring not read: signed messages are refused until it is');
      setTimeout(() => void this.start(attempt + 1), wait).unref();
    } finally {
      this.firstTried();
    }
  }

  /** A committed keyring; one that cannot be read (the config manager checks it first) leaves the current one. */
  private apply(config: Config): void {
    try {
      this.current = Keyring.fromEntries((config.keys as string[] | undefined) ?? []);
      const keys = this.current.list().map((k) => `${k.name} (${k.algorithm})`);
      void Promise.resolve(this.onChange?.(this.current)).then(() => this.log.info({ keys }, 'TSIG keyring loaded'));
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'TSIG keyring refused: the previous one stays');
    }
  }
}
