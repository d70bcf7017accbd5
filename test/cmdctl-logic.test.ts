import { describe, expect, it } from 'vitest';
import { parseModuleSpec } from '../protocol/spec.js';
import { completions, parseLine, words } from '../src/cli/ctl-line.js';
import { ConnectionCounter } from '../src/cmdctl/connections.js';
import { eventFrom } from '../src/cmdctl/events.js';
import { LoginLimiter, Tokens } from '../src/cmdctl/login.js';
import { parseRequest } from '../src/cmdctl/requests.js';

const specs = {
  Boss: parseModuleSpec(
    {
      module_name: 'Boss',
      config_data: [{ item_name: 'components', item_type: 'named_set', item_optional: false, item_default: {}, named_set_item_spec: { item_name: 'c', item_type: 'any', item_optional: true } }],
      commands: [
        { command_name: 'show_processes', command_args: [] },
        { command_name: 'shutdown', command_args: [] },
        { command_name: 'restart', command_args: [{ item_name: 'name', item_type: 'string', item_optional: false, item_default: '' }] },
      ],
    },
    'Boss',
  ),
  Tunable: parseModuleSpec(
    {
      module_name: 'Tunable',
      config_data: [{ item_name: 'max_clients', item_type: 'integer', item_optional: false, item_default: 10 }],
      commands: [
        {
          command_name: 'greet',
          command_args: [
            { item_name: 'name', item_type: 'string', item_optional: false, item_default: '' },
            { item_name: 'times', item_type: 'integer', item_optional: true },
          ],
        },
      ],
    },
    'Tunable',
  ),
};

describe('b10 ctl lines', () => {
  it('quoted_words: quotes keep blanks and join the word they are in', () => {
    expect(words(`a  "b c" name="d e" 'f g' "say \\"hi\\""`)).toEqual(['a', 'b c', 'name=d e', 'f g', 'say "hi"']);
  });

  it('command_args: name=value typed by the spec, a JSON map as is', () => {
    expect(parseLine('Tunable greet name=42 times=3', specs)).toEqual({
      kind: 'request',
      request: { module: 'Tunable', command: 'greet', args: { name: '42', times: 3 } },
      print: 'json',
    });
    expect(parseLine('Tunable greet {"name": "a b"}', specs)).toMatchObject({ request: { args: { name: 'a b' } } });
    expect(parseLine('Boss show_processes', specs)).toMatchObject({ request: { module: 'Boss', command: 'show_processes' } });
    expect(() => parseLine('Tunable greet {"name": ', specs)).toThrow(/the arguments is not valid JSON/);
    expect(() => parseLine('Tunable greet name', specs)).toThrow(/arguments are name=value/);
    expect(() => parseLine('Tunable', specs)).toThrow('Tunable COMMAND: one of greet');
  });

  it('config_lines: a value is JSON when it parses, else plain text; unset and set need a target', () => {
    expect(parseLine('config set Tunable/max_clients 5', specs)).toMatchObject({ request: { config: 'set', target: 'Tunable/max_clients', value: 5 } });
    expect(parseLine('config set Xfrin/zones[0]/name example.org', specs)).toMatchObject({ request: { value: 'example.org' } });
    expect(parseLine('config set Auth/listen_on [{"address": "::1", "port": 53}]', specs)).toMatchObject({ request: { value: [{ address: '::1', port: 53 }] } });
    expect(() => parseLine('config set Auth/listen_on [{"address"', specs)).toThrow(/the value is not valid JSON/);
    expect(() => parseLine('config set Tunable/max_clients', specs)).toThrow(/config set TARGET VALUE/);
    expect(() => parseLine('config unset', specs)).toThrow(/config unset TARGET/);
    expect(() => parseLine('config drop x', specs)).toThrow('config drop: expected one of show, set, unset, spec');
    expect(parseLine('config show', specs)).toEqual({ kind: 'request', request: { config: 'show' }, print: 'pretty' });
    expect(parseLine('config spec Boss', specs)).toMatchObject({ request: { config: 'spec', module: 'Boss' }, print: 'spec' });
    expect(parseLine('  # nothing', specs)).toEqual({ kind: 'empty' });
    expect(parseLine('events on', specs)).toEqual({ kind: 'events', on: true });
    expect(() => parseLine('events maybe', specs)).toThrow('events on|off');
  });

  it('completion: modules and keywords, then commands, then the arguments not given yet, and config targets', () => {
    expect(completions('', specs)).toEqual([['Boss ', 'Tunable ', 'config ', 'events ', 'help ', 'quit '], '']);
    expect(completions('Bo', specs)).toEqual([['Boss '], 'Bo']);
    expect(completions('Boss s', specs)).toEqual([['show_processes ', 'shutdown '], 's']);
    expect(completions('Tunable greet ', specs)).toEqual([['name=', 'times='], '']);
    expect(completions('Tunable greet name=x ', specs)).toEqual([['times='], '']);
    expect(completions('config ', specs)).toEqual([['show ', 'set ', 'unset ', 'spec '], '']);
    expect(completions('config set Tu', specs)).toEqual([['Tunable/', 'Tunable/max_clients '], 'Tu']);
    expect(completions('config spec ', specs)).toEqual([['Boss ', 'Tunable '], '']);
    expect(completions('Nobody ', specs)).toEqual([[], '']);
  });
});

describe('cmdctl requests', () => {
  it('bad_requests: each refused with what is wrong, under its id when it had one', () => {
    expect(() => parseRequest('not json')).toThrow(/a request is a JSON object/);
    expect(() => parseRequest('[1]')).toThrow(/a request is a JSON object/);
    expect(() => parseRequest('{"id": {}, "module": "Boss", "command": "ping"}')).toThrow('id must be a string or a number');
    expect(() => parseRequest('{"id": 4, "module": "Boss"}')).toThrow(expect.objectContaining({ id: 4, message: 'a command needs command' }));
    expect(() => parseRequest('{"id": "x", "events": "yes"}')).toThrow(expect.objectContaining({ id: 'x', message: 'events must be true or false' }));
    expect(() => parseRequest('{"id": 1, "config": "show", "target": 7}')).toThrow('target must be a non-empty string');
    expect(parseRequest('{"id": 1, "config": "set", "target": "A/b", "value": null}')).toEqual({ kind: 'config', id: 1, op: 'set', target: 'A/b', value: null });
    expect(parseRequest('{"module": "Boss", "command": "ping"}')).toEqual({ kind: 'command', id: null, module: 'Boss', command: 'ping' });
  });
});

describe('cmdctl login state', () => {
  it('token_expiry: a token works until its time is up, and not after; a revoked one not at all', () => {
    const tokens = new Tokens(1000);
    const t = tokens.issue('operator', 'h1', 0);
    expect(tokens.loginOf(t, 999)).toEqual({ user: 'operator', stamp: 'h1', expires: 1000 });
    expect(tokens.loginOf(t, 1000)).toBeUndefined();
    const u = tokens.issue('operator', 'h1', 0);
    tokens.revoke(u);
    expect(tokens.loginOf(u, 1)).toBeUndefined();
    expect(tokens.loginOf(undefined)).toBeUndefined();
  });

  it('stale_logins: the tokens of a removed account or one with a new password are revoked, the others kept', () => {
    const tokens = new Tokens(1000);
    const [a, b, c] = [tokens.issue('a', 'old', 0), tokens.issue('b', 'hb', 0), tokens.issue('c', 'hc', 0)];
    const stamps: Record<string, string> = { a: 'new', b: 'hb' };
    expect(tokens.revokeStale((user) => stamps[user]).sort()).toEqual([a, c].sort());
    expect(tokens.loginOf(b, 1)?.user).toBe('b');
    expect(tokens.loginOf(a, 1)).toBeUndefined();
  });

  const rules = { failures: 5, checksPerAddress: 4, windowMs: 60_000 };

  it('failure_window: the sixth check within a minute for a pair waits until its oldest failure is a minute old; a success forgets', () => {
    const limiter = new LoginLimiter(rules);
    for (let i = 0; i < 5; i++) {
      expect(limiter.admit('a', 'op', i * 1000)).toEqual({ ok: true });
      limiter.settle('a', 'op', false);
    }
    expect(limiter.admit('a', 'op', 5000)).toEqual({ ok: false, reason: 'failures', retryAfter: 55 });
    expect(limiter.admit('a', 'op', 60_000)).toEqual({ ok: true });
    limiter.settle('a', 'op', true);
    expect(limiter.admit('a', 'op', 60_001)).toEqual({ ok: true });
  });

  it('counted_before_the_check: concurrent guesses get no more checks than the limit, even before any has finished', () => {
    const limiter = new LoginLimiter({ ...rules, checksPerAddress: 100 });
    const admitted = Array.from({ length: 50 }, () => limiter.admit('a', 'op', 0)).filter((a) => a.ok);
    expect(admitted.length).toBe(5);
  });

  it('per_pair: one account\'s failures from one address lock neither another account there nor that account elsewhere', () => {
    const limiter = new LoginLimiter(rules);
    for (let i = 0; i < 5; i++) {
      limiter.admit('127.0.0.1', 'script', 0);
      limiter.settle('127.0.0.1', 'script', false);
    }
    expect(limiter.admit('127.0.0.1', 'script', 1).ok).toBe(false);
    expect(limiter.admit('127.0.0.1', 'operator', 1)).toEqual({ ok: true });
    expect(limiter.admit('192.0.2.1', 'script', 1)).toEqual({ ok: true });
  });

  it('checks_in_flight: an address has at most 4 checks running, whatever the names; one ending lets the next in', () => {
    const limiter = new LoginLimiter(rules);
    for (let i = 0; i < 4; i++) expect(limiter.admit('a', `name${i}`, 0)).toEqual({ ok: true });
    expect(limiter.admit('a', 'name4', 0)).toEqual({ ok: false, reason: 'busy', retryAfter: 1 });
    expect(limiter.admit('b', 'name4', 0)).toEqual({ ok: true });
    limiter.settle('a', 'name0', false);
    expect(limiter.admit('a', 'name4', 0)).toEqual({ ok: true });
  });
});

describe('cmdctl connections', () => {
  it('caps: past the per-address cap only that address is refused; past the total cap every address; a close frees a place', () => {
    const counter = new ConnectionCounter({ total: 3, perAddress: 2 });
    expect([counter.take('a'), counter.take('a'), counter.take('a')]).toEqual([true, true, false]);
    expect([counter.take('b'), counter.take('c')]).toEqual([true, false]);
    counter.release('a');
    expect([counter.take('c'), counter.take('a')]).toEqual([true, false]);
  });
});

describe('cmdctl events', () => {
  it('announcements_become_events: component states and config changes; anything else is not passed on', () => {
    expect(eventFrom('cc_components', { notification: ['component', { name: 'auth', state: 'running', pid: 7, restarts: 1 }] })).toEqual({
      event: 'component', name: 'auth', state: 'running', pid: 7, restarts: 1,
    });
    expect(eventFrom('cc_config', { notification: ['config_update', { module_name: 'Auth', config: { a: 1 } }] })).toEqual({
      event: 'config_update', module: 'Auth', config: { a: 1 },
    });
    expect(eventFrom('cc_config', { notification: ['module_spec', { module_name: 'Auth' }] })).toEqual({ event: 'module_spec', module: 'Auth' });
    expect(eventFrom('cc_config', { command: ['config_update'] })).toBeUndefined();
    expect(eventFrom('Boss', { notification: ['component', { name: 'auth', state: 'running' }] })).toBeUndefined();
    expect(eventFrom('cc_components', { notification: ['component', { name: 3 }] })).toBeUndefined();
  });
});
