import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Session } from '../protocol/session.js';
import type { ItemSpec } from '../protocol/spec.js';
import { ConfigClient } from '../src/cfgmgr/client.js';
import { candidates } from './helpers/config-values.js';
import { requireTool } from './helpers/debian.js';
import { freePort, ROOT } from './helpers/processes.js';
import { pick, seeded } from './helpers/random.js';
import { boot } from './helpers/stack.js';

const exec = promisify(execFile);
const CHANGES = 200;
const SEED = 20261130;

interface Change {
  target: string;
  value: unknown;
  /** What the spec says of the value; a module may still refuse a valid one. */
  specValid: boolean;
}

interface Query {
  start: number;
  end: number;
  port: number;
  answered: boolean;
}

/** Where auth answers after a listen_on change was taken; undefined when the value is not one auth can be reached on here. */
function listenPort(value: unknown, defaultPort: number): number | undefined {
  const endpoints = value as { address: string; port: number }[];
  if (endpoints.length === 0) return defaultPort;
  return endpoints.find((e) => e.address === '127.0.0.1')?.port;
}

describe('config changes never take DNS down', () => {
  it(`random_config_changes: ${CHANGES} valid and invalid values of every item, generated from the specs, while dig asks auth`, { timeout: 300_000 }, async () => {
    const digBin = requireTool('dig', 'dnsutils');
    const rand = seeded(SEED);
    const authPort = await freePort();
    const movePorts = await Promise.all([1, 2, 3].map(() => freePort()));
    const bob = JSON.parse(readFileSync(path.join(ROOT, 'boss/bob.spec'), 'utf8')) as { module_spec: { config_data: ItemSpec[] } };
    const components = bob.module_spec.config_data.find((i) => i.item_name === 'components')!.item_default as Record<string, object>;
    const stack = await boot(components, ['-p', String(authPort), '--cmdctl-port', '0']);
    expect((await stack.b10('zone', 'load', 'auth.test', path.join(ROOT, 'test/fixtures/zones/auth.zone'), '-d', stack.dir)).code).toBe(0);
    const session = await Session.connect({ port: stack.port, tokenFile: stack.tokenFile });
    onTestFinished(() => session.close());
    const config = new ConfigClient(session);

    // Every item of every module's spec, and map items' own items, with values made from the spec. The
    // boss's components are left alone (removing auth from them is taking DNS down on purpose), and so
    // are rates that would limit the test's own queries.
    const specs = await config.specs();
    const pool: Change[] = [];
    const add = (target: string, item: ItemSpec): void => {
      const made = candidates(item, rand);
      for (const value of made.valid) pool.push({ target, value, specValid: true });
      for (const value of made.invalid) pool.push({ target, value, specValid: false });
    };
    for (const [module, spec] of Object.entries(specs)) {
      if (module === 'Boss') continue;
      for (const item of spec.config_data) {
        const target = `${module}/${item.item_name}`;
        if (target === 'Auth/listen_on') {
          for (const port of movePorts) pool.push({ target, value: [{ address: '127.0.0.1', port }], specValid: true });
          pool.push({ target, value: [], specValid: true });
          pool.push({ target, value: [{ address: '192.0.2.1', port: movePorts[0] }], specValid: true });
          for (const value of candidates(item, rand).invalid) pool.push({ target, value, specValid: false });
          continue;
        }
        if (target === 'Auth/rate_limit') {
          pool.push({ target, value: { responses_per_second: 0, slip: 3, window: 5 }, specValid: true });
          for (const value of candidates(item, rand).invalid) pool.push({ target, value, specValid: false });
          for (const sub of item.map_item_spec!) {
            if (!sub.item_name.endsWith('_per_second')) add(`${target}/${sub.item_name}`, sub);
          }
          continue;
        }
        add(target, item);
        if (item.item_type === 'map') for (const sub of item.map_item_spec!) add(`${target}/${sub.item_name}`, sub);
      }
    }
    expect(new Set(pool.map((c) => c.target.split('/')[0])).size).toBeGreaterThanOrEqual(4);

    // dig in a loop, over UDP and TCP in turn, at wherever auth was last told to answer.
    let target = authPort;
    const queries: Query[] = [];
    let asking = true;
    const loop = (async () => {
      for (let n = 0; asking; n++) {
        const port = target;
        const start = Date.now();
        const args = ['@127.0.0.1', '-p', String(port), '+time=1', '+tries=1', '+short', ...(n % 2 ? ['+tcp'] : []), 'www.auth.test', 'A'];
        const out = await exec(digBin, args).then((r) => r.stdout, () => '');
        queries.push({ start, end: Date.now(), port, answered: out.trim() === '192.0.2.10' });
      }
    })();

    const moves: { start: number; end: number }[] = [];
    const outcome = { accepted: 0, refusedValid: 0, refusedInvalid: 0 };
    const wrong: string[] = [];
    for (let i = 0; i < CHANGES; i++) {
      const change = pick(rand, pool);
      const module = change.target.split('/')[0]!;
      const before = await config.show(module);
      const start = Date.now();
      const result = await stack.b10('config', 'set', change.target, JSON.stringify(change.value));
      const after = await config.show(module);
      const what = `#${i} ${change.target} ${JSON.stringify(change.value)} (exit ${result.code}: ${result.stderr})`;
      if (result.code === 0) {
        outcome.accepted++;
        if (!change.specValid) wrong.push(`accepted although the spec refuses it: ${what}`);
        const shown = await config.show(change.target);
        if (typeof change.value === 'object' && change.value !== null) expect(shown, what).toMatchObject(change.value);
        else expect(shown, what).toEqual(change.value);
        if (change.target === 'Auth/listen_on') {
          const port = listenPort(change.value, authPort);
          if (port !== undefined && port !== target) {
            moves.push({ start, end: Date.now() + 200 });
            target = port;
          }
        }
      } else {
        expect(result.code, what).toBe(1);
        if (change.specValid) outcome.refusedValid++;
        else outcome.refusedInvalid++;
        // Refused: what config show says is what was in effect before, and still is.
        expect(after, what).toEqual(before);
      }
    }
    asking = false;
    await loop;

    expect(wrong).toEqual([]);
    // Both kinds of refusal happened, and so did changes: the run exercised all three paths.
    expect(outcome.accepted).toBeGreaterThan(20);
    expect(outcome.refusedInvalid).toBeGreaterThan(20);
    expect(outcome.refusedValid).toBeGreaterThan(0);
    const excused = (q: Query): boolean => moves.some((m) => q.start < m.end && q.end > m.start);
    const unanswered = queries.filter((q) => !q.answered && !excused(q));
    expect(queries.length).toBeGreaterThan(100);
    expect(unanswered, `${unanswered.length} of ${queries.length} queries unanswered outside ${moves.length} moves`).toEqual([]);
    expect((await stack.b10('config', 'check')).code).toBe(0);
  });
});
