import { AnswerError, ProtocolError } from './errors.js';

/**
 * BIND 10's body conventions between modules:
 *   command  {command: [name]} | {command: [name, args]}
 *   answer   {result: [rcode]} | {result: [rcode, value]}
 *   notification {notification: [event]} | {notification: [event, params]}
 * rcode 0 is success; otherwise value is the error text. Negative rcodes are
 * delivery errors made by msgq, positive ones module errors.
 */

export const RCODE_OK = 0;
export const RCODE_ERROR = 1;
export const RCODE_NO_RECIPIENT = -1;

export interface Command {
  name: string;
  args?: unknown;
}

export interface Answer {
  rcode: number;
  value?: unknown;
}

export function createCommand(name: string, args?: unknown): { command: [string] | [string, unknown] } {
  return { command: args === undefined ? [name] : [name, args] };
}

export function createAnswer(rcode: number, value?: unknown): { result: [number] | [number, unknown] } {
  return { result: value === undefined ? [rcode] : [rcode, value] };
}

export function createNotification(event: string, params?: unknown): { notification: [string] | [string, unknown] } {
  return { notification: params === undefined ? [event] : [event, params] };
}

function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** Throws ProtocolError(ERR_FIELD_TYPE) when the body is not a command. */
export function parseCommand(body: unknown): Command {
  const list = isMap(body) ? body.command : undefined;
  if (!Array.isArray(list) || list.length < 1 || list.length > 2 || typeof list[0] !== 'string') {
    throw new ProtocolError('ERR_FIELD_TYPE', 'not a command: expected {command: [name, args?]}');
  }
  return list.length === 2 ? { name: list[0], args: list[1] } : { name: list[0] };
}

/** Throws ProtocolError(ERR_FIELD_TYPE) when the body is not an answer. */
export function parseAnswer(body: unknown): Answer {
  const list = isMap(body) ? body.result : undefined;
  if (!Array.isArray(list) || list.length < 1 || list.length > 2 || !Number.isInteger(list[0])) {
    throw new ProtocolError('ERR_FIELD_TYPE', 'not an answer: expected {result: [rcode, value?]}');
  }
  return list.length === 2 ? { rcode: list[0] as number, value: list[1] } : { rcode: list[0] as number };
}

/** The answer's value on success; AnswerError with the module's text otherwise. */
export function answerValue(answer: Answer): unknown {
  if (answer.rcode === RCODE_OK) return answer.value;
  const text = typeof answer.value === 'string' ? answer.value : JSON.stringify(answer.value ?? 'error');
  throw new AnswerError(answer.rcode, text);
}

export function isNotification(body: unknown): body is { notification: [string] | [string, unknown] } {
  return isMap(body) && Array.isArray(body.notification) && typeof body.notification[0] === 'string';
}
