import path from 'node:path';
import { connect, errors } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Session } from '../protocol/session.js';
import { MAX_COMMANDS_IN_FLIGHT } from '../src/bridge/bridge.js';
import { startNatsCluster, type NatsCluster } from './helpers/nats.js';
import { ROOT, run, start } from './helpers/processes.js';
import { boot, type Booted } from './helpers/stack.js';
import { tempDir } from './helpers/tmp.js';
import { selfSignedCert } from './helpers/tls.js';

/**
 * A fleet of three b10 stacks, each with its bridge, over a three-node NATS
 * cluster on loopback: what `b10 fleet` reaches, what it cannot, and what
 * happens when a NATS node or a bridge goes away.
 */

const HOSTS = ['h1', 'h2', 'h3'];
const EXPORTED = ['Boss', 'ConfigManager'];

interface Line {
  host: string;
  answer?: { result: [number, unknown?] };
  error?: string;
  unreachable?: boolean;
  changed?: boolean;
  skipped?: string;
  export?: string[];
}

const lines = (stdout: string): Line[] =>
  stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Line);

function fleet(servers: readonly string[], ...args: string[]): ReturnType<typeof run> {
  return run('src/cli/main.js', ['fleet', ...args], { env: { ...process.env, B10_FLEET_NATS: servers.join(',') } });
}

/** Waits until the host's bridge logs that it listens on NATS (from its boss's log), from log line `since` on. */
function bridgeListening(stack: Booted, since = 0): Promise<unknown> {
  return stack.boss.waitForLog((l) => l.component === 'bridge' && l.msg === 'listening for fleet commands', 'bridge listening', since);
}

describe('a fleet of three hosts over a three-node NATS cluster', () => {
  const cleanups: (() => Promise<void>)[] = [];
  const register = (stop: () => Promise<void>): void => void cleanups.push(stop);
  let cluster: NatsCluster;
  const stacks: Booted[] = [];

  beforeAll(async () => {
    cluster = await startNatsCluster(3, register);
    // Each host's bridge first tries the node of its own rank, so the nodes all have clients.
    const booted = await Promise.all(
      HOSTS.map((host, i) =>
        boot({}, [], { Bridge: { nats: { servers: [cluster.urls[i]!, ...cluster.urls.filter((_, j) => j !== i)] }, host, export: EXPORTED } }, register),
      ),
    );
    stacks.push(...booted);
    await Promise.all(stacks.map((s) => bridgeListening(s)));
  }, 30_000);

  afterAll(async () => {
    for (const stop of cleanups.reverse()) await stop();
  });

  it('every host answers a command sent to all', async () => {
    const { code, stdout } = await fleet(cluster.urls, 'send', 'Boss', 'print_message', '{"message":"hello fleet"}');
    expect(lines(stdout).sort((a, b) => a.host.localeCompare(b.host))).toEqual(HOSTS.map((host) => ({ host, answer: { result: [0, 'hello fleet'] } })));
    expect(code).toBe(0);
  });

  it('fleet hosts lists every bridge with what it exports', async () => {
    const { code, stdout } = await fleet(cluster.urls, 'hosts');
    expect(lines(stdout)).toEqual(HOSTS.map((host) => ({ host, export: EXPORTED, events: false })));
    expect(code).toBe(0);
  });

  it('fleet config set reaches every host, and each host\'s own config show agrees', async () => {
    const { code, stdout } = await fleet(cluster.urls, 'config', 'set', 'Bridge/timeout', '3456');
    expect(lines(stdout)).toEqual(HOSTS.map((host) => ({ host, changed: true })));
    expect(code).toBe(0);
    for (const stack of stacks) expect((await stack.b10('config', 'show', 'Bridge/timeout')).stdout.trim()).toBe('3456');
  });

  it('config_set_refused stops at the first host unless --continue', async () => {
    const stopped = await fleet(cluster.urls, 'config', 'set', 'Bridge/timeout', '"not a number"');
    expect(lines(stopped.stdout).map((l) => [l.host, 'error' in l, 'skipped' in l])).toEqual([
      ['h1', true, false],
      ['h2', false, true],
      ['h3', false, true],
    ]);
    expect(stopped.code).toBe(1);
    const all = await fleet(cluster.urls, 'config', 'set', 'Bridge/timeout', '"not a number"', '--continue');
    expect(lines(all.stdout).every((l) => l.error !== undefined)).toBe(true);
  });

  it('not_exported_unreachable: a group a host does not export gets the bus\'s no-recipient answer, and NATS has no responders for it', async () => {
    // Bridge runs on every host but is not in Bridge/export.
    const { code, stdout } = await fleet(cluster.urls, 'send', 'Bridge', 'status');
    expect(lines(stdout).map((l) => l.answer)).toEqual(HOSTS.map(() => ({ result: [-1, 'No such recipient'] })));
    expect(code).toBe(1);
    const nc = await connect({ servers: cluster.urls });
    try {
      for (const subject of ['b10.h1.Bridge', 'b10.all.Bridge']) {
        await expect(nc.request(subject, JSON.stringify({ command: ['status'] }), { timeout: 2000 })).rejects.toSatisfy(
          (err: Error) => err instanceof errors.NoRespondersError || (err instanceof errors.RequestError && err.isNoResponders()),
        );
      }
      // The exported group answers on the fleet-wide subject, one answer per host.
      const replies = await nc.requestMany('b10.all.Boss', JSON.stringify({ command: ['ping'] }), { strategy: 'count', maxMessages: 3, maxWait: 5000 });
      const hosts: string[] = [];
      for await (const msg of replies) hosts.push((msg.json() as Line).host);
      expect(hosts.sort()).toEqual(HOSTS);
    } finally {
      await nc.close();
    }
  });

  it('host_name_shared: a second bridge answering as h2 makes h2 an error everywhere, and neither of them runs the command', async () => {
    // Stopped when the test ends, before the next one.
    const twin = await boot({}, [], { Bridge: { nats: { servers: cluster.urls }, host: 'h2', export: EXPORTED } });
    await bridgeListening(twin);
    const shared = '2 bridges answer as host h2: give each its own Bridge/host (nothing sent to it)';
    const listed = await fleet(cluster.urls, 'hosts');
    expect(lines(listed.stdout).map((l) => [l.host, l.error])).toEqual([
      ['h1', undefined],
      ['h2', shared],
      ['h3', undefined],
    ]);
    expect(listed.code).toBe(1);
    const sent = await fleet(cluster.urls, 'send', 'Boss', 'print_message', '{"message":"to the twins"}');
    expect(lines(sent.stdout).sort((a, b) => a.host.localeCompare(b.host))).toEqual([
      { host: 'h1', answer: { result: [0, 'to the twins'] } },
      { host: 'h2', error: shared },
      { host: 'h3', answer: { result: [0, 'to the twins'] } },
    ]);
    expect(sent.code).toBe(1);
    const printed = (l: { msg?: unknown; message?: unknown }) => l.msg === 'print_message' && l.message === 'to the twins';
    await stacks[0]!.boss.waitForLog(printed, 'h1 printed the message');
    expect([stacks[1]!.boss.logs.some(printed), twin.boss.logs.some(printed)]).toEqual([false, false]);
  });

  it('not_a_subject_token: a host, group or server that would not make a NATS subject or URL is a usage error, nothing sent', async () => {
    const refuse = async (args: string[]): Promise<string> => {
      const { code, stdout, stderr } = await fleet(cluster.urls, ...args);
      expect([code, stdout]).toEqual([2, '']);
      return stderr;
    };
    // b10.all.Boss would reach every host, and print one of their answers as if it were a host's.
    expect(await refuse(['send', 'Boss', 'ping', '--hosts', 'h1,all'])).toBe('b10: --hosts: host "all" is taken: it addresses every host');
    expect(await refuse(['send', 'Boss', 'ping', '--hosts', '*'])).toBe('b10: --hosts: host "*" must be letters, digits, - and _ only (it is a NATS subject token)');
    expect(await refuse(['hosts', '--hosts', 'h1.Boss'])).toMatch(/^b10: --hosts: host "h1\.Boss" must be/);
    expect(await refuse(['send', 'Boss.x', 'ping', '--hosts', 'h1'])).toBe('b10: group "Boss.x" must be letters, digits, - and _ only (it is a NATS subject token)');
    expect(await refuse(['send', 'events', 'ping'])).toMatch(/^b10: group "events" is taken/);
    expect(await refuse(['ps', '--nats', 'nats://'])).toBe('b10: --nats: "nats://" is not a NATS URL (nats://host:port, tls://host:port or host:port)');
    expect(await refuse(['ps', '--nats', ','])).toBe('b10: --nats: no NATS server given');
    // It waited out the timeout and said no bridge answered.
    expect(await refuse(['send', 'Boss', 'ping', '--hosts', ''])).toBe('b10: --hosts: no host given (leave it out, and B10_FLEET_HOSTS unset, to address every host)');
  });

  it('answer_too_large: an answer larger than NATS takes is an error answer, and the bridge keeps running', async () => {
    const [pid] = stacks[0]!.pidsOf('bridge').slice(-1);
    const nc = await connect({ servers: cluster.urls });
    try {
      // 400,000 bytes that are not UTF-8: each becomes U+FFFD, 3 bytes, in the echoed answer (1.2 MB > max_payload's 1 MB).
      const command = Buffer.concat([Buffer.from('{"command":["print_message",{"message":"'), Buffer.alloc(400_000, 0xff), Buffer.from('"}]}')]);
      const msg = await nc.request('b10.h1.Boss', command, { timeout: 5000 });
      const reply = msg.json() as Line;
      expect(reply.host).toBe('h1');
      expect(reply.answer?.result[0]).toBe(1);
      expect(reply.answer?.result[1]).toMatch(/^the answer \(\d+ bytes\) is larger than NATS's max_payload \(1048576 bytes\)$/);
      const ping = await nc.request('b10.h1.Boss', JSON.stringify({ command: ['ping'] }), { timeout: 5000 });
      expect(ping.json()).toEqual({ host: 'h1', answer: { result: [0, 'pong'] } });
    } finally {
      await nc.close();
    }
    expect(stacks[0]!.pidsOf('bridge').slice(-1)).toEqual([pid]);
  });

  it('reply_to_fleet_subject: a command or b10.hosts request whose reply subject is a fleet subject is not answered there in the bridge\'s name', async () => {
    const nc = await connect({ servers: cluster.urls });
    try {
      const onFleet: string[] = [];
      const sub = nc.subscribe('b10.>', { callback: (_err, msg) => void (msg.subject.startsWith('b10.h1.Boss') || onFleet.push(`${msg.subject} ${msg.string()}`)) });
      await nc.flush();
      for (const reply of ['b10.h1.events', 'b10.h2.Boss', 'b10.hosts']) nc.publish('b10.h1.Boss', JSON.stringify({ command: ['print_message', { message: 'spoof' }] }), { reply });
      nc.publish('b10.hosts', '', { reply: 'b10.h2.events' });
      // Every bridge has answered b10.hosts once this discovery is over (no new answer for a moment).
      for await (const _info of await nc.requestMany('b10.hosts', '', { strategy: 'stall', maxWait: 5000 }));
      // Commands on one subscription are taken in order: once this one is answered, the three before it were taken.
      const ping = await nc.request('b10.h1.Boss', JSON.stringify({ command: ['ping'] }), { timeout: 5000 });
      expect(ping.json()).toEqual({ host: 'h1', answer: { result: [0, 'pong'] } });
      await nc.flush();
      sub.unsubscribe();
      expect(onFleet.filter((m) => m.includes('spoof') || m.includes('"export"'))).toEqual([]);
    } finally {
      await nc.close();
    }
  });

  it('commands_in_flight_bounded: beyond MAX_COMMANDS_IN_FLIGHT commands waiting on a slow module, a command is answered busy at once', async () => {
    const slow = await Session.connect({ port: stacks[1]!.port, tokenFile: stacks[1]!.tokenFile });
    const nc = await connect({ servers: cluster.urls });
    const since = stacks[1]!.boss.logs.length;
    try {
      // A module that takes every command and never answers.
      await slow.subscribe('Slow');
      expect((await stacks[1]!.b10('config', 'set', 'Bridge/export', JSON.stringify([...EXPORTED, 'Slow']))).code).toBe(0);
      await bridgeListening(stacks[1]!, since);
      const command = JSON.stringify({ command: ['anything'] });
      const replies = await Promise.all(
        Array.from({ length: MAX_COMMANDS_IN_FLIGHT + 1 }, async () => ((await nc.request('b10.h2.Slow', command, { timeout: 10_000 })).json() as Line).answer!.result[1]),
      );
      expect(replies.filter((r) => String(r).startsWith('busy'))).toEqual([`busy: ${MAX_COMMANDS_IN_FLIGHT} fleet commands are in progress on h2; try again`]);
      expect(replies.filter((r) => /^Slow did not answer within \d+ ms$/.test(String(r)))).toHaveLength(MAX_COMMANDS_IN_FLIGHT);
    } finally {
      await nc.close();
      await slow.close();
      const restoring = stacks[1]!.boss.logs.length;
      expect((await stacks[1]!.b10('config', 'set', 'Bridge/export', JSON.stringify(EXPORTED))).code).toBe(0);
      await bridgeListening(stacks[1]!, restoring);
    }
  }, 30_000);

  it('events_published: with Bridge/events on, a committed configuration change goes out on b10.<host>.events', async () => {
    const status = JSON.parse((await stacks[0]!.b10('send', 'Bridge', 'status')).stdout) as { server: string };
    // On the bridge's own node: once flushed, the subscription is there before anything is published.
    const nc = await connect({ servers: status.server });
    try {
      const sub = nc.subscribe('b10.h1.events');
      await nc.flush();
      expect((await stacks[0]!.b10('config', 'set', 'Bridge/events', 'true')).code).toBe(0);
      expect((await stacks[0]!.b10('config', 'set', 'Bridge/timeout', '4321')).code).toBe(0);
      for await (const msg of sub) {
        const event = msg.json() as { host: string; event: string; module?: string; config?: { timeout?: number } };
        if (event.event !== 'config_update' || event.config?.timeout !== 4321) continue;
        expect(event).toMatchObject({ host: 'h1', module: 'Bridge' });
        break;
      }
    } finally {
      await nc.close();
    }
  });

  it('fleet ps and fleet events: each host\'s components, and a host\'s events as JSON lines', async () => {
    const ps = await fleet(cluster.urls, 'ps');
    expect(ps.stdout.match(/^== h\d$/gm)).toEqual(['== h1', '== h2', '== h3']);
    expect(ps.stdout.match(/^bridge +\d+ +running/gm)).toHaveLength(3);
    expect((await stacks[0]!.b10('config', 'set', 'Bridge/events', 'true')).code).toBe(0);
    // Turned on without joining NATS again: b10.hosts says so at once.
    expect(lines((await fleet(cluster.urls, 'hosts', '--hosts', 'h1')).stdout)).toEqual([{ host: 'h1', export: EXPORTED, events: true }]);
    const status = JSON.parse((await stacks[0]!.b10('send', 'Bridge', 'status')).stdout) as { server: string };
    // On h1's bridge's node: once b10 fleet events says it listens, the node has its subscription.
    const watcher = start('src/cli/main.js', ['fleet', 'events', '-n', '1', '--nats', `nats://${status.server}`]);
    register(() => watcher.stop());
    await watcher.waitForLog((l) => String(l.msg).startsWith('b10: listening to b10.*.events'), 'fleet events listening');
    expect((await stacks[0]!.b10('config', 'set', 'Bridge/timeout', '4567')).code).toBe(0);
    expect(await watcher.exited).toEqual({ code: 0, signal: null });
    await watcher.drained;
    expect(JSON.parse(watcher.stdout)).toMatchObject({ host: 'h1', event: 'config_update', module: 'Bridge', config: { timeout: 4567 } });
  });

  it('nats_node_killed: commands sent right after a node dies (kill -9) all reach every host', async () => {
    const status = (await stacks[0]!.b10('send', 'Bridge', 'status')).stdout;
    const used = (JSON.parse(status) as { server: string }).server;
    const victim = cluster.nodes.find((n) => n.address === used)!;
    expect(victim).toBeDefined();
    const since = stacks[0]!.boss.logs.length;
    victim.proc.child.kill('SIGKILL');
    await victim.proc.exited;
    const survivors = cluster.nodes.filter((n) => n !== victim).map((n) => n.url);
    for (let i = 0; i < 5; i++) {
      const { code, stdout } = await fleet(survivors, 'send', 'Boss', 'ping', '--hosts', HOSTS.join(','), '-t', '8000');
      expect(lines(stdout)).toEqual(HOSTS.map((host) => ({ host, answer: { result: [0, 'pong'] } })));
      expect(code).toBe(0);
    }
    await stacks[0]!.boss.waitForLog((l) => l.component === 'bridge' && l.msg === 'NATS reconnected', 'bridge reconnected', since);
  }, 60_000);

  it('bridge_down_reported: a host whose bridge hangs or is gone is reported as not answering within the timeout', async () => {
    const survivors = cluster.nodes.filter((n) => n.proc.child.exitCode === null && n.proc.child.signalCode === null).map((n) => n.url);
    const [bridgePid] = stacks[2]!.pidsOf('bridge').slice(-1);
    process.kill(bridgePid!, 'SIGSTOP');
    try {
      const hung = await fleet(survivors, 'send', 'Boss', 'ping', '--hosts', HOSTS.join(','), '-t', '1000');
      expect(lines(hung.stdout)).toEqual([
        { host: 'h1', answer: { result: [0, 'pong'] } },
        { host: 'h2', answer: { result: [0, 'pong'] } },
        { host: 'h3', error: 'did not answer within 1000 ms', unreachable: true },
      ]);
      expect(hung.code).toBe(3);
    } finally {
      process.kill(bridgePid!, 'SIGCONT');
    }
    // Gone: Bridge/nats cleared, the boss stops the bridge; nobody holds h3's subjects any more.
    expect((await stacks[2]!.b10('config', 'unset', 'Bridge/nats')).code).toBe(0);
    await stacks[2]!.boss.waitForLog((l) => l.component === 'bridge' && l.msg === 'component stopped', 'bridge stopped');
    const gone = await fleet(survivors, 'send', 'Boss', 'ping', '--hosts', HOSTS.join(','), '-t', '1000');
    expect(lines(gone.stdout)[2]).toEqual({ host: 'h3', error: 'did not answer within 1000 ms', unreachable: true });
    expect(gone.code).toBe(3);
    const listed = await fleet(survivors, 'hosts', '--hosts', HOSTS.join(','), '-t', '1000');
    expect(lines(listed.stdout).map((l) => l.host)).toEqual(['h1', 'h2', 'h3']);
    expect(lines(listed.stdout)[2]!.error).toBe('did not answer within 1000 ms');
    expect(listed.code).toBe(3);
  }, 30_000);
});

describe('Bridge configured on a stack where the bridge never ran', () => {
  it('bridge_never_ran: Bridge/host and export can be set, setting nats starts the bridge and clearing it stops it', async () => {
    const cleanups: (() => Promise<void>)[] = [];
    try {
      const cluster = await startNatsCluster(1, (stop) => void cleanups.push(stop));
      const stack = await boot();
      expect((await stack.b10('config', 'set', 'Bridge/host', '"solo"')).code).toBe(0);
      expect((await stack.b10('config', 'set', 'Bridge/export', '["Boss"]')).code).toBe(0);
      expect((await stack.b10('ps')).stdout).not.toMatch(/^bridge/m);
      const refused = await stack.b10('config', 'set', 'Bridge/host', '"two.words"');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/NATS subject token/);

      expect((await stack.b10('config', 'set', 'Bridge/nats', JSON.stringify({ servers: cluster.urls }))).code).toBe(0);
      await bridgeListening(stack);
      const sent = await fleet(cluster.urls, 'send', 'Boss', 'ping');
      expect(lines(sent.stdout)).toEqual([{ host: 'solo', answer: { result: [0, 'pong'] } }]);

      expect((await stack.b10('config', 'unset', 'Bridge/nats')).code).toBe(0);
      await stack.boss.waitForLog((l) => l.component === 'bridge' && l.msg === 'component stopped', 'bridge stopped');
      expect((await stack.b10('ps')).stdout).not.toMatch(/^bridge/m);
      const none = await fleet(cluster.urls, 'hosts', '-t', '500');
      expect(none.stdout).toBe('');
      expect(none.code).toBe(3);
      const nobody = await fleet(cluster.urls, 'send', 'Boss', 'ping', '-t', '500');
      expect([nobody.code, nobody.stdout, nobody.stderr]).toEqual([3, '', 'b10: no b10 bridge answered on NATS within 500 ms']);
    } finally {
      for (const stop of cleanups.reverse()) await stop();
    }
  }, 30_000);
});

describe('b10 fleet --help', () => {
  it('help_says_each_default_once: every fleet command\'s help names the options, --continue\'s default said once', async () => {
    for (const command of [['hosts'], ['send'], ['ps'], ['config', 'set'], ['events']]) {
      const { code, stdout } = await run('src/cli/main.js', ['fleet', ...command, '--help']);
      expect(code).toBe(0);
      for (const option of ['--nats <urls>', '--creds <file>', '--hosts <names>', '-t, --timeout <ms>']) expect(stdout).toContain(option);
    }
    const { stdout } = await run('src/cli/main.js', ['fleet', 'config', 'set', '--help']);
    expect(stdout.replace(/\s+/g, ' ')).toContain('--continue go on with the other hosts after one fails (default: stop at the first failure) --nats');
  });
});

describe('b10 fleet events of named hosts', () => {
  it('events_of_named_hosts: fleet events --hosts prints the events of those hosts only', async () => {
    const cleanups: (() => Promise<void>)[] = [];
    try {
      const cluster = await startNatsCluster(1, (stop) => void cleanups.push(stop));
      const [h1, h2] = await Promise.all(
        ['e1', 'e2'].map((host) => boot({}, [], { Bridge: { nats: { servers: cluster.urls }, host, events: true } }, (stop) => void cleanups.push(stop))),
      );
      await Promise.all([bridgeListening(h1!), bridgeListening(h2!)]);
      const nc = await connect({ servers: cluster.urls });
      cleanups.push(() => nc.close());
      const seen = nc.subscribe('b10.e1.events');
      await nc.flush();
      const watcher = start('src/cli/main.js', ['fleet', 'events', '-n', '1', '--hosts', 'e2', '--nats', cluster.urls[0]!]);
      cleanups.push(() => watcher.stop());
      await watcher.waitForLog((l) => l.msg === 'b10: listening to b10.e2.events on ' + cluster.urls[0]!.replace('nats://', ''), 'fleet events listening');
      // e1's event is published after the watcher's subscription was made (one node): it would have been printed.
      expect((await h1!.b10('config', 'set', 'Bridge/timeout', '4001')).code).toBe(0);
      for await (const msg of seen) if ((msg.json() as { config?: { timeout?: number } }).config?.timeout === 4001) break;
      expect((await h2!.b10('config', 'set', 'Bridge/timeout', '4002')).code).toBe(0);
      expect(await watcher.exited).toEqual({ code: 0, signal: null });
      await watcher.drained;
      expect(JSON.parse(watcher.stdout)).toMatchObject({ host: 'e2', event: 'config_update', module: 'Bridge', config: { timeout: 4002 } });
    } finally {
      for (const stop of cleanups.reverse()) await stop();
    }
  }, 30_000);
});

describe('a bridge whose NATS goes away', () => {
  it('status_while_disconnected: Bridge status says server null while NATS is down', async () => {
    const cleanups: (() => Promise<void>)[] = [];
    try {
      const cluster = await startNatsCluster(1, (stop) => void cleanups.push(stop));
      const stack = await boot({}, [], { Bridge: { nats: { servers: cluster.urls }, host: 'lonely' } }, (stop) => void cleanups.push(stop));
      await bridgeListening(stack);
      const status = async (): Promise<{ server: string | null }> => JSON.parse((await stack.b10('send', 'Bridge', 'status')).stdout) as { server: string | null };
      expect((await status()).server).toBe(cluster.nodes[0]!.address);
      const since = stack.boss.logs.length;
      await cluster.stop();
      await stack.boss.waitForLog((l) => l.component === 'bridge' && l.msg === 'NATS connection lost: reconnecting', 'bridge lost NATS', since);
      expect((await status()).server).toBeNull();
    } finally {
      for (const stop of cleanups.reverse()) await stop();
    }
  }, 30_000);

  it('events_connection_lost: fleet events exits 3 saying so when NATS goes away (it exited 0 as if done)', async () => {
    const cleanups: (() => Promise<void>)[] = [];
    try {
      const cluster = await startNatsCluster(1, (stop) => void cleanups.push(stop));
      const watcher = start('src/cli/main.js', ['fleet', 'events', '--nats', cluster.urls[0]!]);
      cleanups.push(() => watcher.stop());
      await watcher.waitForLog((l) => String(l.msg).startsWith('b10: listening to b10.*.events'), 'fleet events listening');
      await cluster.stop();
      expect(await watcher.exited).toEqual({ code: 3, signal: null });
      await watcher.drained;
      expect(watcher.stderrLines.at(-1)).toMatch(/^b10: lost the NATS connection(: .+)?$/);
    } finally {
      for (const stop of cleanups.reverse()) await stop();
    }
  }, 30_000);
});

describe('a fleet whose NATS requires TLS with client certificates', () => {
  it('tls_required: the bridge and b10 fleet get through with the CA, certificate and key; without a client certificate b10 fleet is refused in one line', async () => {
    const cleanups: (() => Promise<void>)[] = [];
    try {
      // One self-signed certificate serves as the CA, the server's and the clients' (mutual TLS, as nats-server --tlsverify asks).
      const { cert, key } = selfSignedCert(await tempDir());
      const cluster = await startNatsCluster(1, (stop) => void cleanups.push(stop), ['--tls', '--tlscert', cert, '--tlskey', key, '--tlscacert', cert, '--tlsverify']);
      const url = cluster.urls[0]!.replace('nats://', 'tls://');
      const stack = await boot({}, [], { Bridge: { nats: { servers: [url], ca: cert, cert, key }, host: 'secure', export: ['Boss'] } });
      await bridgeListening(stack);
      const sent = await fleet([url], 'send', 'Boss', 'ping', '--tls-ca', cert, '--tls-cert', cert, '--tls-key', key);
      expect(lines(sent.stdout)).toEqual([{ host: 'secure', answer: { result: [0, 'pong'] } }]);
      const refused = await fleet([url], 'send', 'Boss', 'ping', '--tls-ca', cert);
      expect(refused.code).toBe(3);
      expect(refused.stderr.split('\n')).toHaveLength(1);
      expect(refused.stderr).toMatch(/^b10: cannot connect to NATS at tls:\/\/127\.0\.0\.1:\d+: /);
    } finally {
      for (const stop of cleanups.reverse()) await stop();
    }
  }, 30_000);
});

describe('zone loads in the fleet\'s events', () => {
  it('zone_loaded_published: a zone auth serves anew after b10 zone load goes out on b10.<host>.events', async () => {
    const cleanups: (() => Promise<void>)[] = [];
    try {
      const cluster = await startNatsCluster(1, (stop) => void cleanups.push(stop));
      const stack = await boot({ auth: { process: 'b10-auth', kind: 'needed', address: 'Auth' } }, ['-p', '0'], {
        Bridge: { nats: { servers: cluster.urls }, host: 'zones', events: true },
      });
      await bridgeListening(stack);
      const nc = await connect({ servers: cluster.urls });
      cleanups.push(() => nc.close());
      const sub = nc.subscribe('b10.zones.events');
      await nc.flush();
      const loaded = await stack.b10('zone', 'load', 'auth.test', path.join(ROOT, 'test/fixtures/zones/auth.zone'), '-d', stack.dir);
      expect(loaded.stderr).toBe('b10: auth serves auth.test. as loaded');
      for await (const msg of sub) {
        const event = msg.json() as { event: string };
        if (event.event !== 'zone_loaded') continue;
        expect(event).toEqual({ host: 'zones', event: 'zone_loaded', origin: 'auth.test.', how: 'load' });
        break;
      }
    } finally {
      for (const stop of cleanups.reverse()) await stop();
    }
  }, 30_000);
});
