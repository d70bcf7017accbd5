import { onTestFinished } from 'vitest';
import { WebSocket } from 'ws';
import { Accounts } from '../../src/cmdctl/accounts.js';
import { startBus, startModule, type Bus, type Proc } from '../../src/testing/index.js';
import { start } from './processes.js';
import { fixture } from './stack.js';

export const PASSWORD = 'correct horse';

export interface Gate {
  bus: Bus;
  cmdctl: Proc;
  url: string;
  port: number;
  /** POST /login as the console does; `headers` replace or add to its Content-Type. */
  login(username?: string, password?: string, headers?: Record<string, string>): Promise<Response>;
  /** A token for `username` (the account's password is PASSWORD). */
  token(username?: string): Promise<string>;
  ws(headers?: Record<string, string>): Promise<WebSocket>;
  refused(headers?: Record<string, string>): Promise<number>;
}

/**
 * A bus with a config manager, the Echo and Tunable modules, a module that
 * never answers (Silent), and cmdctl on a free port with `args`; the
 * accounts in `users` all have PASSWORD.
 */
export async function gate(args: string[] = [], users: string[] = ['operator']): Promise<Gate> {
  const bus = await startBus({ cfgmgr: true });
  onTestFinished(() => bus.stop());
  const accounts = await Accounts.load(bus.dataPath);
  for (const user of users) await accounts.add(user, PASSWORD);
  await startModule(bus, fixture('echo'), { module: 'Echo' });
  await startModule(bus, fixture('tunable'), { module: 'Tunable' });
  const silent = await bus.connect();
  await silent.subscribe('Silent');
  const cmdctl = start('src/cmdctl/main.js', ['-p', '0', '-d', bus.dataPath, ...args], { env: bus.env, lifeline: true });
  onTestFinished(() => cmdctl.stop());
  const port = (await cmdctl.waitForLog((l) => l.msg === 'cmdctl listening', 'cmdctl listening')).port as number;
  const url = `http://127.0.0.1:${port}`;
  const login = (username = 'operator', password = PASSWORD, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${url}/login`, { method: 'POST', body: JSON.stringify({ username, password }), headers: { 'content-type': 'application/json', ...headers } });
  const open = (headers: Record<string, string> = {}): WebSocket => new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers });
  return {
    bus,
    cmdctl,
    url,
    port,
    login,
    token: async (username = 'operator') => ((await (await login(username)).json()) as { token: string }).token,
    ws: (headers) =>
      new Promise((resolve, reject) => {
        const ws = open(headers);
        onTestFinished(() => ws.terminate());
        ws.once('open', () => resolve(ws));
        ws.once('error', reject);
      }),
    refused: (headers) =>
      new Promise((resolve) => {
        const ws = open(headers);
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('open', () => {
          ws.terminate();
          resolve(101);
        });
        ws.once('error', () => {});
      }),
  };
}

/** Answers on a socket, by id, until `count` have come. */
export function answers(ws: WebSocket, count: number): Promise<Map<unknown, unknown>> {
  return new Promise((resolve) => {
    const got = new Map<unknown, unknown>();
    ws.on('message', (data) => {
      const { id, result } = JSON.parse(String(data)) as { id: unknown; result: unknown };
      got.set(id, result);
      if (got.size === count) resolve(got);
    });
  });
}

/** Sends one request and resolves with its result. */
export function ask(ws: WebSocket, request: Record<string, unknown>): Promise<unknown> {
  const id = `r${Math.random()}`;
  return new Promise((resolve) => {
    const onMessage = (data: unknown): void => {
      const message = JSON.parse(String(data)) as { id?: unknown; result?: unknown };
      if (message.id !== id) return;
      ws.off('message', onMessage);
      resolve(message.result);
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ ...request, id }));
  });
}

/** The close code and reason a socket ends with. */
export function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
}
