import { AnswerError, B10Error, NoRecipientError, TimeoutError, UsageError, ValidationError } from '../../protocol/errors.js';
import { CONFIG_MANAGER } from '../../protocol/groups.js';
import type { Session } from '../../protocol/session.js';
import { ConfigClient } from '../cfgmgr/client.js';
import { maskConfigAnswer } from '../cfgmgr/plugins.js';
import type { OperatorRequest } from './requests.js';

/** BIND 10's answer shape: rcode 0 and a value, or an error rcode and its text. Delivery problems have negative rcodes. */
export type Result = [number] | [number, unknown];

/** rcodes for what went wrong on the way, as msgq's "No such recipient" is -1. */
export const RCODE_NO_MODULE = -1;
export const RCODE_TIMEOUT = -2;
export const RCODE_BUS = -3;

/** Carries out command and config requests over the bus; the one place their failures become results. */
export class Gateway {
  constructor(
    private readonly bus: () => Session,
    private readonly timeoutMs: number,
  ) {}

  async execute(request: Exclude<OperatorRequest, { kind: 'events' }>): Promise<Result> {
    const target = request.kind === 'command' ? request.module : CONFIG_MANAGER;
    try {
      const value = request.kind === 'command' ? await this.command(request.module, request.command, request.args) : await this.config(request);
      return value === undefined ? [0] : [0, value];
    } catch (err) {
      if (err instanceof AnswerError) return [err.rcode, err.text];
      if (err instanceof UsageError || err instanceof ValidationError) return [1, err.message];
      if (err instanceof NoRecipientError) {
        return [RCODE_NO_MODULE, target === CONFIG_MANAGER ? 'the config manager is not running' : `no module ${target} on the bus`];
      }
      if (err instanceof TimeoutError) return [RCODE_TIMEOUT, `${target} did not answer within ${err.ms} ms`];
      if (err instanceof B10Error) return [RCODE_BUS, err.message];
      throw err;
    }
  }

  private async command(module: string, command: string, args: unknown): Promise<unknown> {
    const value = await this.bus().command(module, command, args, { timeout: this.timeoutMs });
    // The config manager hands daemons the keyring's secrets; an operator gets them masked, as config show masks them.
    return module === CONFIG_MANAGER && command === 'get_config' ? maskConfigAnswer(args, value) : value;
  }

  private async config(request: Extract<OperatorRequest, { kind: 'config' }>): Promise<unknown> {
    const client = new ConfigClient(this.bus(), this.timeoutMs);
    switch (request.op) {
      case 'show':
        return client.show(request.target);
      case 'set':
        return client.set(request.target, request.value);
      case 'unset':
        return client.unset(request.target);
      case 'spec': {
        if (request.module === undefined) return client.specs();
        const spec = await client.spec(request.module);
        if (!spec) throw new AnswerError(1, `no spec registered for module ${request.module}`);
        return spec;
      }
    }
  }
}
