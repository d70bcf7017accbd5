import { describe, expect, it } from 'vitest';
import { parseModuleSpec } from '../protocol/spec.js';
import { completions, parseLine, words } from '../src/cli/ctl-line.js';
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
    const t = tokens.issue('operator', 0);
    expect(tokens.userOf(t, 999)).toBe('operator');
    expect(tokens.userOf(t, 1000)).toBeUndefined();
    const u = tokens.issue('operator', 0);
    tokens.revoke(u);
    expect(tokens.userOf(u, 1)).toBeUndefined();
    expect(tokens.userOf(undefined)).toBeUndefined();
  });

  it('failure_window: the sixth try within a minute waits until the oldest failure is a minute old', () => {
    const limiter = new LoginLimiter(5);
    for (let i = 0; i < 5; i++) limiter.failed('a', i * 1000);
    expect(limiter.retryAfter('b', 5000)).toBe(0);
    expect(limiter.retryAfter('a', 5000)).toBe(55);
    expect(limiter.retryAfter('a', 60_000)).toBe(0);
    limiter.succeeded('a');
    expect(limiter.retryAfter('a', 5000)).toBe(0);
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
