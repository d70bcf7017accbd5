import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Accounts } from '../src/cmdctl/accounts.js';
import { requireTool } from './helpers/debian.js';
import { digAt } from './helpers/dns.js';
import { freePort, ROOT, run } from './helpers/processes.js';
import { boot, byComponent, fixture, type Booted } from './helpers/stack.js';

/** Screenshots are kept here for a person to look at after a run; they are not committed. */
const ARTIFACTS = path.join(ROOT, 'test-artifacts');

const components = {
  tunable: { process: fixture('tunable'), kind: 'dispensable', address: 'Tunable', priority: 10 },
  cmdctl: { process: 'b10-cmdctl', kind: 'dispensable', address: 'Cmdctl', priority: 0 },
};

/** The DNS side for the dashboard and zones: auth on a free port, Stats polling often. */
const dnsComponents = {
  auth: { process: 'b10-auth', kind: 'needed', address: 'Auth', priority: 10 },
  stats: { process: 'b10-stats', kind: 'dispensable', address: 'Stats', priority: 5 },
  cmdctl: components.cmdctl,
};
const ZONE = path.join(ROOT, 'test/fixtures/zones/auth.zone');

async function consoleOpen(
  which: Record<string, object> = components,
  args: string[] = [],
  stored: Record<string, object> = {},
): Promise<{ page: Page; stack: Booted; dir: string; b10: Booted['b10'] }> {
  const executablePath = requireTool('chromium', 'chromium');
  const stack = await boot(which, ['--cmdctl-port', '0', '--restart-period', '500', ...args], stored);
  await (await Accounts.load(stack.dir)).add('operator', 'correct horse');
  const port = (await stack.boss.waitForLog((l) => l.msg === 'cmdctl listening', 'cmdctl listening')).port as number;
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  onTestFinished(() => browser.close());
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${port}/`);
  return { page, stack, dir: stack.dir, b10: stack.b10 };
}

async function logIn(page: Page): Promise<void> {
  await page.fill('#login input[name=username]', 'operator');
  await page.fill('#login input[name=password]', 'correct horse');
  await page.click('#login button[type=submit]');
  await page.locator('#login').waitFor({ state: 'hidden' });
}

/** What the dashboard's chart has drawn: its lines' labels and points (uPlot's data, the time axis first). */
interface Plotted {
  labels: (string | undefined)[];
  data: (number | null)[][];
}

const plotted = (page: Page, chart: 'rcode' | 'zones'): Promise<Plotted | null> =>
  page.evaluate((name) => {
    const plot = (globalThis as unknown as { b10Dashboard?: Record<string, { plot?: { series: { label?: string }[]; data: (number | null)[][] } }> })
      .b10Dashboard?.[name]?.plot;
    return plot ? { labels: plot.series.map((s) => s.label), data: plot.data.map((points) => [...points]) } : null;
  }, chart);

/** The points of one line of a chart, [] while it has none. */
function line(p: Plotted | null, label: string): (number | null)[] {
  const at = p?.labels.indexOf(label) ?? -1;
  return at > 0 ? p!.data[at]! : [];
}

const shot = async (page: Page, name: string): Promise<void> => {
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `console-${name}.png`), fullPage: true });
};

describe('web console (chromium)', () => {
  it('login_components_restart_config: logs in, sees a killed component come back, restarts one with its button, stores a good value and shows why a bad one is refused, logs out, and says why when its account is removed', async () => {
    const { page, dir, b10 } = await consoleOpen();

    await page.fill('#login input[name=username]', 'operator');
    await page.fill('#login input[name=password]', 'wrong');
    await page.click('#login button[type=submit]');
    await page.locator('#login-error', { hasText: 'wrong user name or password' }).waitFor();
    await page.fill('#login input[name=password]', 'correct horse');
    await page.click('#login button[type=submit]');
    await page.locator('#login').waitFor({ state: 'hidden' });

    const row = page.locator('tr[data-component="tunable"]');
    await row.locator('td.state', { hasText: 'running' }).waitFor();
    await page.locator('tr[data-component="cmdctl"] td.state', { hasText: 'running' }).waitFor();
    await shot(page, 'components');

    const pid = Number(await row.locator('td.pid').textContent());
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    await page
      .locator(`tr[data-component="tunable"]:has(td.state:text-is("running")):not(:has(td.pid:text-is("${pid}")))`)
      .waitFor({ timeout: 10_000 });
    expect(await row.locator('td.restarts').textContent()).toBe('1');
    await page.locator('#events li', { hasText: '"name":"tunable","state":"restarting"' }).first().waitFor();
    const killedPid = Number(await row.locator('td.pid').textContent());
    await row.getByRole('button', { name: 'Restart' }).click();
    await page
      .locator(`tr[data-component="tunable"]:has(td.state:text-is("running")):has(td.restarts:text-is("2")):not(:has(td.pid:text-is("${killedPid}")))`)
      .waitFor({ timeout: 10_000 });
    await shot(page, 'restarted');

    const field = page.locator('form.field', { has: page.locator('[data-target="Tunable/max_clients"]') });
    const error = page.locator('[data-error-for="Tunable/max_clients"]');
    await field.locator('input').fill('0');
    await field.getByRole('button', { name: 'Save' }).click();
    await page.locator('[data-error-for="Tunable/max_clients"]', { hasText: 'max_clients must be at least 1' }).waitFor();
    await shot(page, 'refused');
    expect((await b10('config', 'show', 'Tunable/max_clients')).stdout.trim()).toBe('10');

    await field.locator('input').fill('25');
    await field.getByRole('button', { name: 'Save' }).click();
    await page.locator('[data-error-for="Tunable/max_clients"].saved', { hasText: 'saved' }).waitFor();
    expect(await error.textContent()).toBe('saved');
    expect((await b10('config', 'show', 'Tunable/max_clients')).stdout.trim()).toBe('25');
    await page.locator('#events li', { hasText: '"event":"config_update","module":"Tunable"' }).first().waitFor();

    const greet = page.locator('form[data-command="Tunable greet"]');
    await greet.locator('input[name="Tunable.greet.name"]').fill('operator');
    await greet.getByRole('button', { name: 'greet' }).click();
    await greet.locator('pre.result', { hasText: '"hello, operator"' }).waitFor();
    await shot(page, 'saved');

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.locator('#login').waitFor();
    expect(await page.inputValue('#login input[name=password]')).toBe('');
    expect(await page.locator('#login-error').textContent()).toBe('');
    await page.locator('#status', { hasText: 'logged out' }).waitFor();
    await page.fill('#login input[name=password]', 'correct horse');
    await page.click('#login button[type=submit]');
    await page.locator('#login').waitFor({ state: 'hidden' });
    expect((await run('src/cli/main.js', ['user', 'remove', 'operator', '-d', dir])).code).toBe(0);
    await page.locator('#login-error', { hasText: 'the account was removed or its password changed' }).waitFor();
    await shot(page, 'account-removed');
  }, 60_000);

  it('forms_say_what_is_not_given: an unset item shows its default greyed, Use default unsets one; an empty optional integer argument is left out, a bad one is named', async () => {
    const { page, b10 } = await consoleOpen();
    await logIn(page);

    const greeting = page.locator('[data-target="Tunable/greeting"]');
    await page.locator('[data-hint-for="Tunable/greeting"]', { hasText: 'not set: default "hello"' }).waitFor();
    expect(await greeting.inputValue()).toBe('');
    expect(await greeting.getAttribute('placeholder')).toBe('hello');
    expect(await page.locator('[data-hint-for="Tunable/verbose"]').textContent()).toBe('not set: default false');
    expect(await page.locator('[data-hint-for="Cmdctl/port"]').textContent()).toBe('not set, no default');

    const field = page.locator('form.field', { has: page.locator('[data-target="Tunable/max_clients"]') });
    await field.locator('input').fill('2.5');
    await field.getByRole('button', { name: 'Save' }).click();
    await page.locator('[data-error-for="Tunable/max_clients"]', { hasText: 'max_clients: must be a whole number, not "2.5"' }).waitFor();
    await field.locator('input').fill('25');
    await field.getByRole('button', { name: 'Save' }).click();
    const useDefault = field.getByRole('button', { name: 'Use default' });
    await useDefault.waitFor();
    expect(await page.locator('[data-hint-for="Tunable/max_clients"]').textContent()).toBe('');
    expect(await field.locator('input').inputValue()).toBe('25');
    await shot(page, 'set-and-unset');
    await useDefault.click();
    await page.locator('[data-hint-for="Tunable/max_clients"]', { hasText: 'not set: default 10' }).waitFor();
    expect(await field.locator('input').inputValue()).toBe('');
    expect(await useDefault.isHidden()).toBe(true);
    expect((await b10('config', 'show', 'Tunable/max_clients')).stdout.trim()).toBe('10');

    const greet = page.locator('form[data-command="Tunable greet"]');
    const result = greet.locator('pre.result');
    expect(await greet.locator('input[name="Tunable.greet.times"]').getAttribute('placeholder')).toBe('optional');
    await greet.locator('input[name="Tunable.greet.name"]').fill('operator');
    await greet.locator('input[name="Tunable.greet.times"]').fill('');
    await greet.getByRole('button', { name: 'greet' }).click();
    await result.filter({ hasText: '"hello, operator"' }).waitFor();
    await greet.locator('input[name="Tunable.greet.times"]').fill('two');
    await greet.getByRole('button', { name: 'greet' }).click();
    await result.filter({ hasText: 'times: must be a whole number, not "two"' }).waitFor();
    await greet.locator('input[name="Tunable.greet.times"]').fill('9');
    await greet.getByRole('button', { name: 'greet' }).click();
    await result.filter({ hasText: /times: 9 is above the maximum 5/ }).waitFor();
    await greet.locator('input[name="Tunable.greet.times"]').fill('2');
    await greet.getByRole('button', { name: 'greet' }).click();
    await result.filter({ hasText: '"hello, operator hello, operator"' }).waitFor();
    await greet.locator('input[name="Tunable.greet.name"]').fill('');
    await greet.getByRole('button', { name: 'greet' }).click();
    await result.filter({ hasText: 'name: required' }).waitFor();
    await shot(page, 'arguments');
  }, 60_000);

  it('dashboard_chart_moves: after logging in and sending queries to auth, the rcode and zone charts gain points above 0 for NOERROR, NXDOMAIN and the zone; a transfer out appears in the transfers table', async () => {
    const xfrout = { process: 'b10-xfrout', kind: 'dispensable', address: 'Xfrout', priority: 20 };
    const { page, stack } = await consoleOpen({ ...dnsComponents, xfrout }, ['-p', '0'], { Stats: { poll_interval: 0.2 } });
    const auth = await stack.boss.waitForLog(byComponent('auth', 'auth listening'), 'auth listening');
    const dnsPort = (auth.endpoints as { port: number }[])[0]!.port;
    expect(await stack.b10('zone', 'load', 'auth.test', ZONE, '-d', stack.dir)).toMatchObject({ code: 0 });
    await logIn(page);
    // The chart exists once two readings of Auth came: its base and a first point.
    await expect.poll(async () => (await plotted(page, 'rcode'))?.data[0]?.length ?? 0, { timeout: 15_000 }).toBeGreaterThan(0);
    const before = (await plotted(page, 'rcode'))!;
    expect(line(before, 'NOERROR').filter((v) => v !== null && v > 0)).toEqual([]);

    const dig = requireTool('dig', 'dnsutils');
    for (let i = 0; i < 5; i++) expect((await digAt(dig, dnsPort, 'www.auth.test', 'A')).status).toBe('NOERROR');
    for (let i = 0; i < 3; i++) expect((await digAt(dig, dnsPort, `nope${i}.auth.test`, 'A')).status).toBe('NXDOMAIN');

    await expect.poll(async () => line(await plotted(page, 'rcode'), 'NXDOMAIN').some((v) => v !== null && v > 0), { timeout: 15_000 }).toBe(true);
    await expect.poll(async () => line(await plotted(page, 'zones'), 'auth.test.').some((v) => v !== null && v > 0), { timeout: 15_000 }).toBe(true);
    const after = (await plotted(page, 'rcode'))!;
    expect(after.data[0]!.length).toBeGreaterThan(before.data[0]!.length);
    expect(line(after, 'NOERROR').some((v) => v !== null && v > 0)).toBe(true);
    await page.locator('#restarts td', { hasText: 'auth' }).first().waitFor();
    await digAt(dig, dnsPort, 'auth.test', 'AXFR');
    const transfer = page.locator('#transfers tr', { has: page.locator('td[data-column=direction]', { hasText: 'out' }) });
    await transfer.locator('td[data-column=result]', { hasText: 'success' }).waitFor({ timeout: 15_000 });
    expect(await transfer.locator('td[data-column=zone]').textContent()).toBe('auth.test.');
    await page.locator('#chart-rcode .u-legend', { hasText: 'NXDOMAIN' }).waitFor();
    // A few more points, so that the screenshot shows lines, not dots.
    await expect.poll(async () => (await plotted(page, 'rcode'))!.data[0]!.length, { timeout: 15_000 }).toBeGreaterThan(after.data[0]!.length + 2);
    await shot(page, 'dashboard');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator('#chart-rcode canvas').waitFor();
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await shot(page, 'dashboard-phone');
  }, 60_000);

  it('config_lists_as_rows: a list of maps is edited as rows of typed fields (add, a bad port named by row, a refused one, saved, removed); a named set shows a row per name; a list answer is a table', async () => {
    const { page, b10 } = await consoleOpen(dnsComponents, ['-p', '0']);
    await logIn(page);
    const listenOn = page.locator('form.field', { has: page.locator('[data-target="Auth/listen_on"]') });
    const error = page.locator('[data-error-for="Auth/listen_on"]');
    await page.locator('[data-hint-for="Auth/listen_on"]', { hasText: 'not set: the default, shown greyed, applies' }).waitFor();
    expect(await listenOn.locator('.row').count()).toBe(0);
    expect(await listenOn.locator('textarea').count()).toBe(0);

    await listenOn.getByRole('button', { name: 'Add' }).click();
    const row = listenOn.locator('.row').first();
    expect(await row.locator('input[name="Auth/listen_on/address/address"]').inputValue()).toBe('127.0.0.1');
    expect(await row.locator('input[name="Auth/listen_on/address/port"]').inputValue()).toBe('5300');
    await row.locator('input[name="Auth/listen_on/address/port"]').fill('x');
    await listenOn.getByRole('button', { name: 'Save' }).click();
    await error.filter({ hasText: 'listen_on row 1: port: must be a whole number, not "x"' }).waitFor();
    await row.locator('input[name="Auth/listen_on/address/port"]').fill('70000');
    await listenOn.getByRole('button', { name: 'Save' }).click();
    await error.filter({ hasText: /70000/ }).waitFor();
    expect(JSON.parse((await b10('config', 'show', 'Auth/listen_on')).stdout)).toEqual([]);

    const port = await freePort();
    await row.locator('input[name="Auth/listen_on/address/port"]').fill(String(port));
    await listenOn.getByRole('button', { name: 'Save' }).click();
    await page.locator('[data-error-for="Auth/listen_on"].saved', { hasText: 'saved' }).waitFor();
    expect(JSON.parse((await b10('config', 'show', 'Auth/listen_on')).stdout)).toEqual([{ address: '127.0.0.1', port }]);
    await listenOn.getByRole('button', { name: 'Use default' }).waitFor();
    expect(await listenOn.locator('.row input[name="Auth/listen_on/address/port"]').inputValue()).toBe(String(port));

    const components = page.locator('[data-target="Boss/components"]');
    expect(await components.locator('input.key').evaluateAll((inputs) => inputs.map((i) => (i as unknown as { value: string }).value))).toEqual(['auth', 'stats', 'cmdctl']);
    await shot(page, 'config-rows');

    const processes = page.locator('form[data-command="Boss show_processes"]');
    await processes.getByRole('button', { name: 'show_processes' }).click();
    await processes.locator('.result-table td[data-column="name"]', { hasText: /^auth$/ }).waitFor();
    expect(await processes.locator('.result-table th').allTextContents()).toEqual(expect.arrayContaining(['name', 'pid', 'state']));
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await shot(page, 'config-rows-phone');

    await page.setViewportSize({ width: 1280, height: 800 });
    await row.getByRole('button', { name: 'Remove' }).click();
    await listenOn.getByRole('button', { name: 'Save' }).click();
    await expect.poll(async () => JSON.parse((await b10('config', 'show', 'Auth/listen_on')).stdout)).toEqual([]);
  }, 60_000);

  it('zones_view: a master file chosen in the browser is loaded and served, a bad one is refused naming its line, records are searched, a drop asks first', async () => {
    const { page, stack } = await consoleOpen(dnsComponents, ['-p', '0']);
    const auth = await stack.boss.waitForLog(byComponent('auth', 'auth listening'), 'auth listening');
    const dnsPort = (auth.endpoints as { port: number }[])[0]!.port;
    const dig = requireTool('dig', 'dnsutils');
    await logIn(page);
    const zones = page.locator('#zones');
    await zones.locator('.zones-status', { hasText: 'no zones in the store' }).waitFor();

    const form = zones.locator('form.zone-load');
    const result = form.locator('.load-result');
    await form.locator('input[name=origin]').fill('auth.test');
    await form.locator('input[name=file]').setInputFiles({ name: 'broken.zone', mimeType: 'text/plain', buffer: Buffer.from('$TTL 300\n@ SOA ns1 hostmaster 1 3600 900 604800 60\n@ NS ns1\nns1 A 192.0.2.300\n') });
    await form.getByRole('button', { name: 'Load' }).click();
    await result.filter({ hasText: /^broken\.zone: line:4: .*192\.0\.2\.300/ }).waitFor();
    expect(await zones.locator('tr[data-zone]').count()).toBe(0);

    await form.locator('input[name=file]').setInputFiles(ZONE);
    await form.getByRole('button', { name: 'Load' }).click();
    await result.filter({ hasText: /^auth\.test\.: \d+ records loaded and served/ }).waitFor();
    const row = zones.locator('tr[data-zone="auth.test."]');
    expect(await row.locator('td[data-column=serial]').textContent()).toBe('7');
    expect(await row.locator('td[data-column=served]').textContent()).toBe('yes');
    const stored = JSON.parse((await stack.b10('zone', 'list', '--json', '-d', stack.dir)).stdout) as { name: string; records: number }[];
    expect(await row.locator('td[data-column=records]').textContent()).toBe(String(stored[0]!.records));
    expect((await digAt(dig, dnsPort, 'www.auth.test', 'A')).answer).toEqual(['www.auth.test. 300 IN A 192.0.2.10']);

    await row.getByRole('button', { name: 'Records' }).click();
    const records = zones.locator('.zone-records');
    await records.locator('td[data-column=type]', { hasText: 'SOA' }).first().waitFor();
    await records.locator('input[type=search]').fill('192.0.2.10');
    await records.locator('.records-note', { hasText: '1 record match' }).waitFor();
    expect(await records.locator('tbody tr td[data-column=name]').allTextContents()).toEqual(['www.auth.test.']);
    await shot(page, 'zones');
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await shot(page, 'zones-phone');
    await page.setViewportSize({ width: 1280, height: 800 });

    const dialog = page.locator('#confirm');
    await row.getByRole('button', { name: 'Drop' }).click();
    await dialog.locator('.question', { hasText: 'Drop auth.test.?' }).waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(JSON.parse((await stack.b10('zone', 'list', '--json', '-d', stack.dir)).stdout)).toHaveLength(1);
    await row.getByRole('button', { name: 'Drop' }).click();
    await dialog.getByRole('button', { name: 'Drop auth.test.' }).click();
    await zones.locator('.zones-status', { hasText: 'auth.test. dropped' }).waitFor();
    await row.waitFor({ state: 'detached' });
    expect(await records.isHidden()).toBe(true);
    expect((await digAt(dig, dnsPort, 'www.auth.test', 'A')).status).toBe('REFUSED');
  }, 60_000);

  it('shutdown_asks_first: Boss shutdown and restarting cmdctl ask in the page; Cancel sends nothing, confirming shuts b10 down', async () => {
    const { page, stack } = await consoleOpen();
    await logIn(page);
    const dialog = page.locator('#confirm');
    const shutdown = page.locator('form[data-command="Boss shutdown"]').getByRole('button', { name: 'shutdown' });

    await shutdown.click();
    await dialog.locator('.question', { hasText: 'Shut down b10?' }).waitFor();
    await shot(page, 'confirm-shutdown');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });

    const cmdctlRow = page.locator('tr[data-component="cmdctl"]');
    await cmdctlRow.locator('td.state', { hasText: 'running' }).waitFor();
    const cmdctlPid = await cmdctlRow.locator('td.pid').textContent();
    await cmdctlRow.getByRole('button', { name: 'Restart' }).click();
    await dialog.locator('.question', { hasText: 'Restart cmdctl?' }).waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });

    // The boss still answers over this console's own connection: nothing was sent.
    const ping = page.locator('form[data-command="Boss ping"]');
    await ping.getByRole('button', { name: 'ping' }).click();
    await ping.locator('pre.result', { hasText: '"pong"' }).waitFor();
    expect(await cmdctlRow.locator('td.pid').textContent()).toBe(cmdctlPid);
    expect(stack.boss.logs.filter((l) => l.msg === 'b10 shutting down')).toEqual([]);
    expect(stack.boss.logs.filter((l) => l.component === 'cmdctl' && l.msg === 'component started')).toHaveLength(1);

    await shutdown.click();
    await dialog.getByRole('button', { name: 'Shut down b10' }).click();
    expect((await stack.boss.exited).code).toBe(0);
    expect(stack.boss.logs.find((l) => l.msg === 'b10 shutting down')?.reason).toBe('shutdown command');
    await page.locator('#login-error', { hasText: 'log in again' }).waitFor();
  }, 60_000);
});
