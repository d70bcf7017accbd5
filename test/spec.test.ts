import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkCommandArgs,
  configIssues,
  configProblems,
  formatPath,
  itemAt,
  mergeConfig,
  parsePath,
  setValueAt,
  valueAt,
  withDefaults,
  withoutIssues,
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

/** A spec of one module named M from its config_data and commands. */
const moduleSpec = (config_data: object[], commands: object[] = []): ModuleSpec =>
  parseModuleSpec({ module_spec: { module_name: 'M', config_data, commands } }, 'm.spec');

describe('ranges and formats (item_min, item_max, item_format)', () => {
  const spec = moduleSpec(
    [
      { item_name: 'port', item_type: 'integer', item_optional: false, item_default: 53, item_min: 0, item_max: 65535 },
      { item_name: 'ratio', item_type: 'real', item_optional: true, item_min: 0.5, item_max: 1.5 },
      { item_name: 'retries', item_type: 'integer', item_optional: true, item_min: 1 },
      {
        item_name: 'listen_on', item_type: 'list', item_optional: false, item_default: [],
        list_item_spec: {
          item_name: 'endpoint', item_type: 'map', item_optional: false, item_default: {},
          map_item_spec: [
            { item_name: 'address', item_type: 'string', item_optional: false, item_default: '::', item_format: 'ipaddress' },
            { item_name: 'port', item_type: 'integer', item_optional: false, item_default: 53, item_min: 0, item_max: 65535 },
          ],
        },
      },
      { item_name: 'v4', item_type: 'string', item_optional: true, item_format: 'ipv4' },
      { item_name: 'v6', item_type: 'string', item_optional: true, item_format: 'ipv6' },
      { item_name: 'host', item_type: 'string', item_optional: true, item_format: 'hostname' },
      { item_name: 'master', item_type: 'string', item_optional: true, item_format: 'address' },
      { item_name: 'zone', item_type: 'string', item_optional: true, item_format: 'domainname' },
      { item_name: 'file', item_type: 'string', item_optional: true, item_format: 'path' },
    ],
    [{ command_name: 'retransfer', command_args: [
      { item_name: 'zone_name', item_type: 'string', item_optional: false, item_format: 'domainname' },
      { item_name: 'master_port', item_type: 'integer', item_optional: true, item_min: 1, item_max: 65535 },
    ] }],
  );
  const problems = (config: object): string[] => configProblems(spec.config_data, config);

  it('out_of_range_numbers: each refused with its path and the bound it breaks', () => {
    expect(problems({ port: 99999, ratio: 0.25, retries: 0, listen_on: [{ port: 53 }, { port: -1 }, { port: 65536 }] })).toEqual([
      'port: 99999 is above the maximum 65535',
      'ratio: 0.25 is below the minimum 0.5',
      'retries: 0 is below the minimum 1',
      'listen_on[1]/port: -1 is below the minimum 0',
      'listen_on[2]/port: 65536 is above the maximum 65535',
    ]);
    expect(problems({ port: 0, ratio: 1.5, retries: 1e9, listen_on: [{ port: 65535 }] })).toEqual([]);
  });

  it('address_forms: an empty, misspelt or wrong-family address is refused, never bound to every interface', () => {
    expect(problems({ listen_on: [{ address: '' }, { address: 'nohost' }, { address: '192.0.2.300' }, { address: '127.0.0.1' }, { address: '::1' }] })).toEqual([
      'listen_on[0]/address: "" is not an IP address',
      'listen_on[1]/address: "nohost" is not an IP address',
      'listen_on[2]/address: "192.0.2.300" is not an IP address',
    ]);
    expect(problems({ v4: '::1', v6: '192.0.2.1' })).toEqual(['v4: "::1" is not an IPv4 address', 'v6: "192.0.2.1" is not an IPv6 address']);
    expect(problems({ v4: '192.0.2.1', v6: '2001:db8::1' })).toEqual([]);
  });

  it('name_forms: host names, addresses, domain names and paths', () => {
    const long = 'a'.repeat(64);
    for (const bad of ['', 'a..b', '-a.example', 'a_b.example', 'x y', '999.1.1.1', `${long}.example`]) {
      expect(problems({ host: bad })).toEqual([`host: ${JSON.stringify(bad)} is not a host name`]);
    }
    for (const good of ['nohost', 'ns1.example.org', 'ns1.example.org.', 'xn--bcher-kva.example']) expect(problems({ host: good })).toEqual([]);
    expect(problems({ master: '' })).toEqual(['master: "" is not an IP address or a host name']);
    expect(problems({ master: 'a..b' })).toEqual(['master: "a..b" is not an IP address or a host name']);
    for (const good of ['192.0.2.1', '2001:db8::1', 'primary.example']) expect(problems({ master: good })).toEqual([]);
    for (const bad of ['', 'a..b', 'a b.example', `${long}.example`, `${'abcdefg.'.repeat(32)}example`]) {
      expect(problems({ zone: bad })).toEqual([`zone: ${JSON.stringify(bad)} is not a domain name`]);
    }
    for (const good of ['.', 'example.org', 'example.org.', '_tcp.example', '*.users.example']) expect(problems({ zone: good })).toEqual([]);
    expect(problems({ file: '' })).toEqual(['file: "" is not a file path']);
    expect(problems({ file: 'a\0b' })).toEqual(['file: "a\\u0000b" is not a file path']);
    expect(problems({ file: 'certs/cmdctl.pem' })).toEqual([]);
  });

  it('command_args: ranges and forms checked as for configuration, named by command and argument', () => {
    const retransfer = commandSpec(spec, 'retransfer')!;
    expect(checkCommandArgs(retransfer, { zone_name: 'example.org' })).toEqual({ zone_name: 'example.org' });
    expect(() => checkCommandArgs(retransfer, { zone_name: 'a..b', master_port: 0 })).toThrow(
      new ValidationError(['retransfer: zone_name: "a..b" is not a domain name', 'retransfer: master_port: 0 is below the minimum 1']),
    );
    // A required argument needs no default: it is always given.
    expect(() => checkCommandArgs(retransfer, {})).toThrow('retransfer: zone_name: missing');
  });

  it('bad_specs: a bound or form the item cannot have, an unknown form, a default outside them: refused naming the item', () => {
    const refused = (item: object): string => specError(() => moduleSpec([{ item_name: 'x', item_optional: true, ...item }]));
    expect(refused({ item_type: 'string', item_min: 1 })).toBe('m.spec: item x: item_min is for integer and real items, not string');
    expect(refused({ item_type: 'list', item_max: 1, list_item_spec: { item_name: 'e', item_type: 'integer', item_optional: true } }))
      .toBe('m.spec: item x: item_max is for integer and real items, not list');
    expect(refused({ item_type: 'integer', item_min: '1' })).toBe('m.spec: item x: item_min "1" is not a number');
    expect(refused({ item_type: 'integer', item_min: 10, item_max: 1 })).toBe('m.spec: item x: item_min 10 is above item_max 1');
    expect(refused({ item_type: 'integer', item_format: 'ipaddress' })).toBe('m.spec: item x: item_format is for string items, not integer');
    expect(refused({ item_type: 'string', item_format: 'ip' })).toBe(
      'm.spec: item x: item_format "ip" is not one of ipaddress, ipv4, ipv6, hostname, address, domainname, path',
    );
    expect(refused({ item_type: 'integer', item_default: 99999, item_max: 65535 })).toBe('m.spec: item x: item_default 99999 is above the maximum 65535');
    expect(refused({ item_type: 'string', item_default: '', item_format: 'ipaddress' })).toBe('m.spec: item x: item_default "" is not an IP address');
    // Deep inside a list of maps, the item's whole path is named.
    expect(specError(() => moduleSpec([{ item_name: 'listen_on', item_type: 'list', item_optional: true, list_item_spec: {
      item_name: 'endpoint', item_type: 'map', item_optional: false, item_default: {},
      map_item_spec: [{ item_name: 'port', item_type: 'integer', item_optional: false, item_default: 70000, item_min: 0, item_max: 65535 }],
    } }]))).toBe('m.spec: item listen_on/endpoint/port: item_default 70000 is above the maximum 65535');
    // A configuration item that is not optional still needs its default.
    expect(refused({ item_type: 'integer', item_optional: false })).toBe('m.spec: item x: non-optional item has no item_default');
  });

  it('without_issues: what a module runs on when its stored configuration no longer fits its spec', () => {
    const stored = { port: 99999, colour: 'red', listen_on: [{ address: '', port: 1 }, 'x', { address: '::1', port: 70000 }], host: 'ns1.example' };
    const issues = configIssues(spec.config_data, stored);
    expect(issues.map((i) => formatPath(i.path))).toEqual(['port', 'colour', 'listen_on[0]/address', 'listen_on[1]', 'listen_on[2]/port']);
    const usable = withoutIssues(stored, issues);
    expect(usable).toEqual({ listen_on: [{ port: 1 }, { address: '::1' }], host: 'ns1.example' });
    expect(withDefaults(spec.config_data, usable)).toMatchObject({ port: 53, listen_on: [{ address: '::', port: 1 }, { address: '::1', port: 53 }] });
    expect(configProblems(spec.config_data, usable)).toEqual([]);
    expect(stored.port).toBe(99999);
  });

  it('item_at: the spec of an item by path, undefined for an item the spec lacks', () => {
    expect(itemAt(spec.config_data, ['listen_on', 3, 'port'])?.item_max).toBe(65535);
    expect(itemAt(spec.config_data, ['listen_on'])?.item_type).toBe('list');
    expect(itemAt(spec.config_data, ['nosuch'])).toBeUndefined();
    expect(itemAt(spec.config_data, ['listen_on', 0, 'nosuch'])).toBeUndefined();
    expect(itemAt(spec.config_data, ['listen_on', 'port'])).toBeUndefined();
    expect(itemAt(spec.config_data, ['port', 'deeper'])).toBeUndefined();
  });
});

describe('the project\'s specs', () => {
  const specFile = (file: string): Promise<ModuleSpec> => loadSpecFile(path.join(ROOT, file));

  it('all_load: every spec b10 ships passes the checks', async () => {
    for (const file of ['boss/bob.spec', 'src/auth/auth.spec', 'src/cmdctl/cmdctl.spec', 'src/xfrin/xfrin.spec', 'src/xfrout/xfrout.spec', 'src/stats/stats.spec', 'src/stats/stats-httpd.spec']) {
      await expect(specFile(file)).resolves.toMatchObject({ module_name: expect.any(String) });
    }
  });

  it('auth_listen_on: ports outside 0-65535 and addresses that are not IP literals are refused, named by path', async () => {
    const { config_data: items } = await specFile('src/auth/auth.spec');
    const endpoint = (address: unknown, port: unknown) => ({ listen_on: [{ address, port }] });
    expect(configProblems(items, endpoint('127.0.0.1', 99999))).toEqual(['listen_on[0]/port: 99999 is above the maximum 65535']);
    expect(configProblems(items, endpoint('127.0.0.1', 65536))).toEqual(['listen_on[0]/port: 65536 is above the maximum 65535']);
    expect(configProblems(items, endpoint('127.0.0.1', -1))).toEqual(['listen_on[0]/port: -1 is below the minimum 0']);
    expect(configProblems(items, endpoint('', 53))).toEqual(['listen_on[0]/address: "" is not an IP address']);
    expect(configProblems(items, endpoint('::', 53))).toEqual([]);
  });

  it('auth_rate_limit: named\'s bounds on every item', async () => {
    const { config_data: items } = await specFile('src/auth/auth.spec');
    expect(configProblems(items, { rate_limit: { slip: 11, window: 0, ipv4_prefix_length: 33, ipv6_prefix_length: 129, responses_per_second: -1, nxdomains_per_second: 1001 } })).toEqual([
      'rate_limit/slip: 11 is above the maximum 10',
      'rate_limit/window: 0 is below the minimum 1',
      'rate_limit/ipv4_prefix_length: 33 is above the maximum 32',
      'rate_limit/ipv6_prefix_length: 129 is above the maximum 128',
      'rate_limit/responses_per_second: -1 is below the minimum 0',
      'rate_limit/nxdomains_per_second: 1001 is above the maximum 1000',
    ]);
  });

  it('auth_loadzone: the origin must be a domain name', async () => {
    const loadzone = commandSpec(await specFile('src/auth/auth.spec'), 'loadzone')!;
    expect(() => checkCommandArgs(loadzone, { origin: 'a..b' })).toThrow('loadzone: origin: "a..b" is not a domain name');
    expect(checkCommandArgs(loadzone, { origin: 'example.org' })).toEqual({ origin: 'example.org' });
  });

  it('cmdctl: port, address and TLS files', async () => {
    const { config_data: items } = await specFile('src/cmdctl/cmdctl.spec');
    expect(configProblems(items, { address: '', port: 70000, cert_file: '' })).toEqual([
      'address: "" is not an IP address or a host name',
      'port: 70000 is above the maximum 65535',
      'cert_file: "" is not a file path',
    ]);
    expect(configProblems(items, { port: 0, address: 'localhost', cert_file: '/etc/b10/cert.pem' })).toEqual([]);
  });

  it('xfrin_zones: master_port 99999 and master_addr "nohost" are refused, named by path; no master_addr means no primary', async () => {
    const { config_data: items } = await specFile('src/xfrin/xfrin.spec');
    expect(configProblems(items, { zones: [{ name: 'sec.test', master_addr: 'nohost', master_port: 99999 }] })).toEqual([
      'zones[0]/master_addr: "nohost" is not an IP address',
      'zones[0]/master_port: 99999 is above the maximum 65535',
    ]);
    expect(configProblems(items, { zones: [{ name: 'sec.test' }, { name: 'v6.test', master_addr: '2001:db8::1', master_port: 5353 }] })).toEqual([]);
    const retransfer = commandSpec(await specFile('src/xfrin/xfrin.spec'), 'retransfer')!;
    expect(() => checkCommandArgs(retransfer, { zone_name: 'sec.test', master: 'nohost', port: 0 })).toThrow(
      'retransfer: master: "nohost" is not an IP address; retransfer: port: 0 is below the minimum 1',
    );
  });

  it('xfrout_also_notify: secondaries are IP addresses and ports', async () => {
    const { config_data: items } = await specFile('src/xfrout/xfrout.spec');
    expect(configProblems(items, { also_notify: [{ address: 'ns2', port: 70000 }], max_transfers_out: 0 })).toEqual([
      'also_notify[0]/address: "ns2" is not an IP address',
      'also_notify[0]/port: 70000 is above the maximum 65535',
      'max_transfers_out: 0 is below the minimum 1',
    ]);
  });
});
