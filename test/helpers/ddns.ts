import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'vitest';
import { requireTool } from './debian.js';
import { run } from './processes.js';
import { boot, byComponent, type Booted } from './stack.js';
import { tempDir } from './tmp.js';

/** auth and ddns: what dynamic updates need. */
export const DDNS_COMPONENTS = {
  ddns: { process: 'b10-ddns', kind: 'dispensable', address: 'DDNS', priority: 15 },
  auth: { process: 'b10-auth', kind: 'needed', address: 'Auth', priority: 10 },
};
/** DDNS's stored configuration: dyn.test takes updates from 127.0.0.1. */
export const DDNS_CONFIG = { DDNS: { zones: [{ origin: 'dyn.test', update_acl: [{ action: 'ACCEPT', from: '127.0.0.1' }] }] } };

/** A small zone, serial 1, with `extra` lines. */
export const zoneText = (origin: string, extra: string[] = []): string =>
  [`$ORIGIN ${origin}.`, '$TTL 300', '@ SOA ns admin 1 3600 900 604800 300', '@ NS ns', 'ns A 192.0.2.1', 'www A 192.0.2.2', ...extra, ''].join('\n');

export interface Dynamic {
  stack: Booted;
  /** auth's DNS port. */
  port: number;
}

/** The port auth answers on in `stack`. */
export async function authPort(stack: Booted): Promise<number> {
  const listening = await stack.boss.waitForLog(byComponent('auth', 'auth listening'), 'auth listening');
  return (listening.endpoints as { port: number }[])[0]!.port;
}

/** The stack (auth and ddns unless `components` says, DNS on a free port, `args` for the boss) with `zones` loaded. */
export async function dynamicStack(
  zones: Record<string, string> = { 'dyn.test': zoneText('dyn.test') },
  args: string[] = [],
  { components = DDNS_COMPONENTS, config = DDNS_CONFIG }: { components?: Record<string, object>; config?: Record<string, object> } = {},
): Promise<Dynamic> {
  const stack = await boot(components, ['-p', '0', ...args], config);
  const port = await authPort(stack);
  const files = await tempDir();
  for (const [origin, text] of Object.entries(zones)) {
    const file = path.join(files, `${origin}.zone`);
    await writeFile(file, text);
    const loaded = await run('src/cli/main.js', ['zone', 'load', origin, file, '-d', stack.dir], { env: stack.env });
    expect(loaded.code).toBe(0);
  }
  return { stack, port };
}

/** Real nsupdate with `lines` on its stdin (server first, `send` last); its exit code and what it printed. */
export function nsupdate(port: number, lines: string[], args: string[] = []): Promise<{ code: number | null; out: string }> {
  const bin = requireTool('nsupdate', 'bind9-dnsutils');
  return new Promise((resolve) => {
    const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code, out }));
    child.stdin.end([`server 127.0.0.1 ${port}`, ...lines, 'send', ''].join('\n'));
  });
}
