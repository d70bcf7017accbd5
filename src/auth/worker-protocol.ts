import { AnswerError } from '../../protocol/errors.js';
import type { SecondaryZone } from '../xfrin/secondaries.js';
import { ListenError } from './endpoints.js';
import type { ResponseKind, Verdict } from './rrl.js';

/**
 * What auth's primary and its workers say to each other over the cluster's
 * IPC channel. Every request carries a sequence number its reply repeats;
 * an error crosses as its message and kind, and is thrown again as the
 * same kind on the primary's side.
 */

/** The settings every worker holds: the worker's options, in its environment. */
export const WORKER_ENV = 'B10_AUTH_WORKER';

export interface WorkerOptions {
  dataPath: string;
  tcpIdleMs: number;
  maxTcpConnections: number;
  verbose: boolean;
}

export type WorkerRequest =
  | { type: 'auth:listen'; seq: number; endpoints: { address: string; port: number }[] }
  | { type: 'auth:loadzone'; seq: number; origin: string; changes: unknown }
  | { type: 'auth:stats'; seq: number }
  | { type: 'auth:zones'; seq: number }
  /** Answered once the worker has taken every message sent before it (settings included). */
  | { type: 'auth:sync'; seq: number }
  /** Stop reading (Auth/workers lowered): answered once what was read is answered. */
  | { type: 'auth:retire'; seq: number };

/** Settings pushed to every worker, no answer asked. */
export interface WorkerSettings {
  type: 'auth:settings';
  /** Whether UDP answers are rate limited: each then asks the primary, which keeps every worker's accounts. */
  rateLimited?: boolean;
  /** The TSIG keys, as tsig_keys/keys holds them. */
  keys?: string[];
  /** Xfrin's zones, for the NOTIFY verdict; null while Xfrin's configuration is not known. */
  secondaries?: SecondaryZone[] | null;
}

/**
 * What a worker asks the primary, which counts for every worker so that a
 * limit holds for the set as for one process: whether a UDP answer may go
 * (rate limiting: a Verdict), whether one more TCP connection may open
 * (--tcp-max-connections: a boolean).
 */
export type PrimaryQuestion = { what: 'rate'; client: string; kind: ResponseKind; name: string; qtype: number } | { what: 'tcp' };

export interface PrimaryAsk {
  type: 'auth:ask';
  id: number;
  question: PrimaryQuestion;
}

export interface PrimaryAnswer {
  type: 'auth:answer';
  id: number;
  answer: Verdict | boolean;
}

/** A TCP connection the primary let in has ended. */
export const TCP_CLOSED = 'auth:tcp-closed';

export interface WorkerError {
  message: string;
  kind: 'listen' | 'answer' | 'other';
  bindCode?: string;
  rcode?: number;
}

export interface WorkerReply {
  type: 'auth:reply';
  seq: number;
  result?: unknown;
  error?: WorkerError;
}

/** A NOTIFY a worker received, for the primary to pass to Xfrin. */
export interface WorkerNotify {
  type: 'auth:notify';
  zone: string;
  from: string;
  key?: string;
}

export function errorToWire(err: unknown): WorkerError {
  if (err instanceof ListenError) return { message: err.message, kind: 'listen', bindCode: err.bindCode };
  if (err instanceof AnswerError) return { message: err.text, kind: 'answer', rcode: err.rcode };
  return { message: err instanceof Error ? err.message : String(err), kind: 'other' };
}

export function errorFromWire(error: WorkerError): Error {
  if (error.kind === 'listen') return new ListenError(error.message, error.bindCode);
  if (error.kind === 'answer') return new AnswerError(error.rcode ?? 1, error.message);
  return new Error(error.message);
}
