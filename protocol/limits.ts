/** Size limits of the wire protocol; msgq's options override them per daemon. */
export interface Limits {
  /** Largest frame, counted as the bytes after the 4-byte length field. */
  readonly maxFrame: number;
  /** Largest routing header. */
  readonly maxHeader: number;
}

export const MiB = 1024 * 1024;

export const DEFAULT_LIMITS: Limits = Object.freeze({
  maxFrame: 16 * MiB,
  maxHeader: 64 * 1024,
});

/** Per-connection outgoing queue msgq keeps before cutting a slow reader. */
export const DEFAULT_MAX_QUEUE = 64 * MiB;
/** How long msgq holds senders back for a reader that does not drain. */
export const DEFAULT_STALL_GRACE_MS = 500;

export const DEFAULT_MSGQ_PORT = 9912;
export const DEFAULT_MSGQ_HOST = '127.0.0.1';
/** BIND 10's cc session waited 4 s for an answer by default. */
export const DEFAULT_TIMEOUT_MS = 4000;
