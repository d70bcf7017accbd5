import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { withDefaults } from '../protocol/config-data.js';
import { loadSpecFile } from '../protocol/spec.js';
import {
  allSubject,
  bridgeConfigProblems,
  bridgeWanted,
  commandSubjects,
  defaultHost,
  eventsSubject,
  groupOf,
  hostSubject,
  HOSTS_SUBJECT,
  maskServer,
} from '../src/bridge/subjects.js';
import { maskConfigAnswer, maskSecrets } from '../src/cfgmgr/plugins.js';
import { fleetExitCode, parseHostList, planHosts, unreachable, type HostOutcome } from '../src/cli/fleet-results.js';
import { parseMilliseconds } from '../src/options.js';
import { ROOT } from './helpers/processes.js';

const ok = (host: string): HostOutcome => ({ host, answer: { result: [0, 'pong'] } });

describe('fleet subjects', () => {
  it('a bridge listens on its own and the fleet-wide subject of each exported group, and nothing else', () => {
    expect(commandSubjects('h1', ['Boss', 'Auth'])).toEqual(['b10.h1.Boss', 'b10.all.Boss', 'b10.h1.Auth', 'b10.all.Auth']);
    expect(commandSubjects('h1', [])).toEqual([]);
    expect([hostSubject('h1', 'Boss'), allSubject('Boss'), eventsSubject('h1'), HOSTS_SUBJECT]).toEqual([
      'b10.h1.Boss',
      'b10.all.Boss',
      'b10.h1.events',
      'b10.hosts',
    ]);
    expect(groupOf('b10.all.Boss')).toBe('Boss');
    expect(groupOf('b10.hosts')).toBeUndefined();
  });

  it('host_not_a_token: a host or group that would break the subjects is refused, with the item named', () => {
    expect(bridgeConfigProblems({ host: 'ns1.example.org', export: ['Boss', 'b10.*', 'events'], nats: { servers: ['nats://10.0.0.1:4222', 'http://x'] } })).toEqual([
      'host: host "ns1.example.org" must be letters, digits, - and _ only (it is a NATS subject token)',
      'export[1]: group "b10.*" must be letters, digits, - and _ only (it is a NATS subject token)',
      'export[2]: group "events" is taken: b10.<host>.events carries the host\'s events',
      'nats/servers[1]: "http://x" is not a NATS URL (nats://host:port, tls://host:port or host:port)',
    ]);
    expect(bridgeConfigProblems({ host: 'all' })).toEqual(['host: host "all" is taken: it addresses every host']);
    expect(bridgeConfigProblems({ host: '', export: ['Boss'], nats: { servers: ['127.0.0.1:4222', 'tls://nats.example.org:4443'] } })).toEqual([]);
  });

  it('nats_password_masked: a password or token in a NATS URL is masked wherever Bridge\'s configuration is shown or published', () => {
    expect(maskServer('nats://fleet:s3cret@10.0.0.1:4222')).toBe('nats://fleet:****@10.0.0.1:4222');
    expect(maskServer('tls://t0ken@nats.example.org:4443')).toBe('tls://****@nats.example.org:4443');
    expect(maskServer('fleet:s3cret@10.0.0.1:4222')).toBe('fleet:****@10.0.0.1:4222');
    expect(maskServer('nats://10.0.0.1:4222')).toBe('nats://10.0.0.1:4222');
    const config = { host: 'ns1', nats: { servers: ['nats://fleet:s3cret@10.0.0.1:4222', '10.0.0.2:4222'], credentials: '' } };
    // What b10 config show, the console and b10.<host>.events (config_update) show of Bridge.
    expect(JSON.stringify(maskSecrets('Bridge', config))).not.toContain('s3cret');
    expect(maskSecrets('Bridge', config)).toEqual({ host: 'ns1', nats: { servers: ['nats://fleet:****@10.0.0.1:4222', '10.0.0.2:4222'], credentials: '' } });
    expect(config.nats.servers[0]).toBe('nats://fleet:s3cret@10.0.0.1:4222');
    // The console's get_config of every module at once.
    expect(JSON.stringify(maskConfigAnswer({}, { Bridge: config, Boss: {} }))).not.toContain('s3cret');
  });

  it('the default host is the hostname\'s first label, made a token', () => {
    expect(defaultHost('ns1.example.org')).toBe('ns1');
    expect(defaultHost('my box')).toBe('my-box');
    expect(defaultHost('all.example.org')).toBe('b10');
  });

  it('default_exposes_nothing: Bridge\'s defaults export no group and run no bridge', async () => {
    const spec = await loadSpecFile(path.join(ROOT, 'src/bridge/bridge.spec'));
    const defaults = withDefaults(spec.config_data, {});
    expect(defaults.export).toEqual([]);
    expect(defaults.events).toBe(false);
    expect(bridgeWanted(defaults)).toBe(false);
    expect(bridgeWanted({ nats: { servers: ['127.0.0.1:4222'] } })).toBe(true);
  });
});

describe('fleet options', () => {
  it('timeout_too_long: a --timeout longer than a Node timer keeps is refused (it fired at once: "cannot connect to NATS: timeout")', () => {
    expect(parseMilliseconds('2147483647')).toBe(2147483647);
    expect(() => parseMilliseconds('99999999999')).toThrow('requires at most 2147483647 milliseconds (about 24 days).');
  });
});

describe('fleet answers and exit codes', () => {
  it('exit code: 0 all succeeded, 1 any error answer, 3 any host silent (over an error)', () => {
    expect(fleetExitCode([ok('a'), ok('b')])).toBe(0);
    expect(fleetExitCode([ok('a'), { host: 'b', answer: { result: [1, 'Unknown command'] } }])).toBe(1);
    expect(fleetExitCode([ok('a'), { host: 'b', answer: { result: [-1, 'No such recipient'] } }])).toBe(1);
    expect(fleetExitCode([{ host: 'a', error: 'refused' }, unreachable('b', 500)])).toBe(3);
    expect(fleetExitCode([{ host: 'a', changed: true }, { host: 'b', skipped: 'not tried' }])).toBe(1);
  });

  it('not_exported_known: a discovered host without the group is planned as such, a named silent host stays unknown', () => {
    const found = [
      { host: 'b', export: ['Boss'], events: false },
      { host: 'a', export: [], events: false },
    ];
    expect(planHosts(undefined, found, 'Boss')).toEqual([
      { host: 'a', exported: false },
      { host: 'b', exported: true },
    ]);
    expect(planHosts(['c', 'b'], found, 'Boss')).toEqual([
      { host: 'c', exported: undefined },
      { host: 'b', exported: true },
    ]);
    expect(parseHostList('a,b c,,a')).toEqual(['a', 'b', 'c']);
  });

  it('host_name_shared: a name two bridges answered under is planned with the reason, not sent', () => {
    const found = [
      { host: 'a', export: ['Boss'], events: false },
      { host: 'b', export: ['Boss'], events: false },
      { host: 'a', export: ['Boss'], events: false },
    ];
    expect(planHosts(undefined, found, 'Boss')).toEqual([
      { host: 'a', exported: true, shared: '2 bridges answer as host a: give each its own Bridge/host (nothing sent to it)' },
      { host: 'b', exported: true },
    ]);
  });
});
