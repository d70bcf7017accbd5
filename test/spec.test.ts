import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkCommandArgs,
  configProblems,
  formatPath,
  mergeConfig,
  parsePath,
  setValueAt,
  valueAt,
  withDefaults,
} from '../protocol/config-data.js';
import { SpecError, ValidationError } from '../protocol/errors.js';
import { commandSpec, loadSpecFile, parseModuleSpec, parseSpecText, type ModuleSpec } from '../protocol/spec.js';
import { ROOT } from './helpers/processes.js';

const fixture = (name: string): string => path.join(ROOT, 'test/fixtures', name);

function specError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SpecError);
    return (err as Error).message;
  }
  throw new Error('no SpecError');
}

describe('module specs', () => {
  it('seed_bob_spec: the original bob.spec (Python literals, data_specification) loads', async () => {
    const spec = await loadSpecFile(fixture('bob-seed.spec'));
    expect(spec.module_name).toBe('Boss');
    expect(spec.commands.map((c) => c.command_name)).toEqual(['print_message', 'print_settings', 'shutdown']);
    expect(withDefaults(spec.config_data, {})).toEqual({ some_string: 'Hi, shane!', some_int: 1 });
    expect(checkCommandArgs(commandSpec(spec, 'print_message')!, { message: 'hi' })).toEqual({ message: 'hi' });
    expect(checkCommandArgs(commandSpec(spec, 'print_settings')!, undefined)).toEqual({ message: '' });
  });

  it('boss_spec: boss/bob.spec names the seed commands', async () => {
    const spec = await loadSpecFile(path.join(ROOT, 'boss/bob.spec'));
    expect(spec.commands.map((c) => c.command_name)).toEqual(
      expect.arrayContaining(['shutdown', 'print_message', 'print_settings']),
    );
  });

  it('bad_spec_file: errors name the file and the offending item', async () => {
    const source = 'test.spec';
    const item = (extra: object): string =>
      JSON.stringify({
        module_spec: {
          module_name: 'M',
          config_data: [{ item_name: 'zones', item_type: 'list', item_optional: true, list_item_spec: extra }],
        },
      });
    expect(specError(() => parseSpecText(item({ item_name: 'zone', item_type: 'map', item_optional: false, item_default: {}, map_item_spec: [{ item_name: 'port', item_type: 'int', item_optional: true }] }), source)))
      .toBe('test.spec: item zones/zone/port: item_type "int" is not one of integer, real, boolean, string, list, map, named_set, any');
    expect(specError(() => parseSpecText(item({ item_name: 'zone', item_type: 'string', item_optional: false }), source)))
      .toBe('test.spec: item zones/zone: non-optional item has no item_default');
    expect(specError(() => parseSpecText('{"module_spec": {"module_name": "M", "config_data": [{"item_name": "a", "item_type": "integer", "item_optional": true, "item_default": "x"}]}}', source)))
      .toMatch(/item a: item_default "x" is not of type integer/);
    expect(specError(() => parseSpecText('{"module_spec": {"config_data": []}}', source))).toMatch(/module_name missing/);
    expect(specError(() => parseSpecText('{"module_spec": ', source))).toMatch(/^test.spec: not valid JSON/);
    expect(specError(() => parseModuleSpec({ module_spec: { module_name: 'M', commands: [{ command_name: 'x' }] } }, source)))
      .toMatch(/command x: command_args missing/);
  });

  it('missing_spec_file: SpecError naming the path', async () => {
    await expect(loadSpecFile('/nonexistent/x.spec')).rejects.toThrow(/\/nonexistent\/x.spec: cannot read/);
  });
});

describe('configuration against a spec', () => {
  let spec: ModuleSpec;
  const load = async (): Promise<ModuleSpec> => (spec ??= await loadSpecFile(fixture('zones.spec')));

  it('valid_partial_config: no problems, defaults fill the rest to any depth', async () => {
    const { config_data: items } = await load();
    const config = { port: 53, zones: [{ origin: 'example.org' }], peers: { a: 1 }, listen: { backlog: 4 } };
    expect(configProblems(items, config)).toEqual([]);
    expect(withDefaults(items, config)).toEqual({
      port: 53,
      ratio: 0.5,
      verbose: false,
      zones: [{ origin: 'example.org', port: 53 }],
      listen: { address: '127.0.0.1', backlog: 4 },
      peers: { a: 1 },
    });
  });

  it('wrong_types: each problem names its path', async () => {
    const { config_data: items } = await load();
    const problems = configProblems(items, {
      port: '53',
      ratio: 'x',
      zones: [{ origin: 'a' }, { origin: 'b' }, { origin: 'c', port: 'x' }],
      listen: { address: 7, colour: 'red' },
      peers: { 'example.org': true },
      nope: 1,
    });
    expect(problems).toEqual([
      'port: expected integer, got string "53"',
      'ratio: expected real, got string "x"',
      'zones[2]/port: expected integer, got string "x"',
      'listen/address: expected string, got number 7',
      'listen/colour: unknown item',
      'peers/example.org: expected integer, got boolean true',
      'nope: unknown item',
    ]);
  });

  it('not_a_map: a configuration must be a map', async () => {
    const { config_data: items } = await load();
    expect(configProblems(items, [1])).toEqual(['configuration must be a map, got a list']);
  });

  it('command_args: checked, defaults filled, missing required ones named', async () => {
    const reload = commandSpec(await load(), 'reload')!;
    expect(checkCommandArgs(reload, { origin: 'x' })).toEqual({ origin: 'x', force: false });
    expect(() => checkCommandArgs(reload, { force: 1 })).toThrow(ValidationError);
    expect(() => checkCommandArgs(reload, { force: 1 })).toThrow('reload: force: expected boolean, got number 1; reload: origin: missing');
    expect(() => checkCommandArgs(reload, 'x')).toThrow(/arguments must be a map/);
  });

  it('paths: parse, format, read and write', () => {
    expect(parsePath('zones[2]/port')).toEqual(['zones', 2, 'port']);
    expect(formatPath(['zones', 2, 'port'])).toBe('zones[2]/port');
    const data = { zones: [{ port: 1 }, { port: 2 }] };
    expect(valueAt(data, ['zones', 1, 'port'])).toBe(2);
    expect(valueAt(data, ['zones', 5, 'port'])).toBeUndefined();
    expect(setValueAt(data, ['zones', 1, 'port'], 9)).toEqual({ zones: [{ port: 1 }, { port: 9 }] });
    expect(data.zones[1]!.port).toBe(2);
    expect(setValueAt({}, ['listen', 'address'], '::1')).toEqual({ listen: { address: '::1' } });
    expect(() => setValueAt(data, ['zones', 7], 1)).toThrow(/no such list element/);
    expect(() => parsePath('a/b[x]')).toThrow(/bad path segment/);
  });

  it('merge: maps merge, lists replace, null resets to default', () => {
    const base = { a: 1, m: { x: 1, y: 2 }, l: [1, 2] };
    expect(mergeConfig(base, { m: { y: 3 }, l: [3], a: null })).toEqual({ m: { x: 1, y: 3 }, l: [3] });
    expect(base).toEqual({ a: 1, m: { x: 1, y: 2 }, l: [1, 2] });
  });
});
