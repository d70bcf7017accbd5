/**
 * The closed set of errors b10's bus layer raises. Each has a stable `code`
 * that callers (and the CLI's exit-code boundary) switch on; the message is
 * for people and may change.
 */

export type ProtocolErrorCode =
  | 'ERR_FRAME_LENGTH'
  | 'ERR_FRAME_TOO_LARGE'
  | 'ERR_HEADER_LENGTH'
  | 'ERR_HEADER_TOO_LARGE'
  | 'ERR_DECODE'
  | 'ERR_HEADER_NOT_MAP'
  | 'ERR_FIELD_MISSING'
  | 'ERR_FIELD_TYPE'
  | 'ERR_UNKNOWN_TYPE';

export type B10ErrorCode =
  | ProtocolErrorCode
  | 'ERR_CONNECT'
  | 'ERR_AUTH'
  | 'ERR_CLOSED'
  | 'ERR_TIMEOUT'
  | 'ERR_NO_RECIPIENT'
  | 'ERR_ANSWER'
  | 'ERR_USAGE'
  | 'ERR_SPEC'
  | 'ERR_VALIDATION'
  | 'ERR_CONFIG_FILE';

export abstract class B10Error extends Error {
  abstract readonly code: B10ErrorCode;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A peer broke the wire protocol: framing, encoding or envelope rules. */
export class ProtocolError extends B10Error {
  readonly code: ProtocolErrorCode;

  constructor(code: ProtocolErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** The bus could not be reached before the connect deadline. */
export class ConnectionError extends B10Error {
  readonly code = 'ERR_CONNECT' as const;

  constructor(
    /** host:port or the socket file's path. */
    readonly target: string,
    options?: { cause?: unknown },
  ) {
    super(ConnectionError.describe(target, options?.cause), options);
  }

  /** Nobody listening is the usual case, and says so plainly; anything else keeps the system's reason. */
  private static describe(target: string, cause: unknown): string {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ECONNREFUSED' || code === 'ENOENT') return `msgq is not running on ${target}`;
    return `cannot reach msgq on ${target}${cause instanceof Error ? `: ${cause.message}` : ''}`;
  }
}

/** The bus token could not be read, or msgq refused it. */
export class AuthError extends B10Error {
  readonly code = 'ERR_AUTH' as const;
}

/** The connection closed while something was still waiting on it. */
export class ClosedError extends B10Error {
  readonly code = 'ERR_CLOSED' as const;

  constructor(message = 'connection to msgq closed', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Nothing arrived within the allowed time. */
export class TimeoutError extends B10Error {
  readonly code = 'ERR_TIMEOUT' as const;

  constructor(
    readonly what: string,
    readonly ms: number,
  ) {
    super(`timed out after ${ms} ms waiting for ${what}`);
  }
}

/** msgq found nobody subscribed to receive a request (answer rcode -1). */
export class NoRecipientError extends B10Error {
  readonly code = 'ERR_NO_RECIPIENT' as const;

  constructor(
    readonly group: string,
    readonly to: string,
  ) {
    super(to === '*' ? `no recipient for group ${group}` : `no such recipient ${to} (group ${group})`);
  }
}

/** A module answered a command with a non-zero rcode. */
export class AnswerError extends B10Error {
  readonly code = 'ERR_ANSWER' as const;

  constructor(
    readonly rcode: number,
    readonly text: string,
  ) {
    super(text);
  }
}

/** A setting given by the user (option, environment variable) is not usable. */
export class UsageError extends B10Error {
  readonly code = 'ERR_USAGE' as const;
}

/** A module spec (a `.spec` file or a registered spec) breaks the spec format. */
export class SpecError extends B10Error {
  readonly code = 'ERR_SPEC' as const;

  constructor(
    /** The file or module the spec came from. */
    readonly source: string,
    message: string,
  ) {
    super(`${source}: ${message}`);
  }
}

/** A configuration or command arguments do not match the spec; one entry per problem. */
export class ValidationError extends B10Error {
  readonly code = 'ERR_VALIDATION' as const;

  constructor(readonly problems: readonly string[]) {
    super(problems.join('; '));
  }
}

/** The stored configuration cannot be used: unreadable, corrupt, or of an unknown version. */
export class ConfigFileError extends B10Error {
  readonly code = 'ERR_CONFIG_FILE' as const;

  constructor(
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${message}`, options);
  }
}
