import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Accounts } from '../src/cmdctl/accounts.js';
import { requireTool } from './helpers/debian.js';
import { ROOT, run } from './helpers/processes.js';
import { boot, fixture } from './helpers/stack.js';

/** Screenshots are kept here for a person to look at after a run; they are not committed. */
const ARTIFACTS = path.join(ROOT, 'test-artifacts');

const components = {
  tunable: { process: fixture('tunable'), kind: 'dispensable', address: 'Tunable', priority: 10 },
  cmdctl: { process: 'b10-cmdctl', kind: 'dispensable', address: 'Cmdctl', priority: 0 },
};

async function consoleOpen(): Promise<{ page: Page; dir: string; b10: (...args: string[]) => Promise<{ code: number | null; stdout: string }> }> {
  const executablePath = requireTool('chromium', 'chromium');
  const stack = await boot(components, ['--cmdctl-port', '0', '--restart-period', '500']);
  await (await Accounts.load(stack.dir)).add('operator', 'correct horse');
  const port = (await stack.boss.waitForLog((l) => l.msg === 'cmdctl listening', 'cmdctl listening')).port as number;
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  onTestFinished(() => browser.close());
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${port}/`);
  return { page, dir: stack.dir, b10: stack.b10 };
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
    await greet.locator('input').fill('operator');
    await greet.getByRole('button', { name: 'greet' }).click();
    await greet.locator('pre.result', { hasText: '"hello, operator"' }).waitFor();
    await shot(page, 'saved');

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.locator('#login').waitFor();
    expect(await page.locator('#login-error').textContent()).toBe('');
    await page.fill('#login input[name=password]', 'correct horse');
    await page.click('#login button[type=submit]');
    await page.locator('#login').waitFor({ state: 'hidden' });
    expect((await run('src/cli/main.js', ['user', 'remove', 'operator', '-d', dir])).code).toBe(0);
    await page.locator('#login-error', { hasText: 'the account was removed or its password changed' }).waitFor();
    await shot(page, 'account-removed');
  }, 60_000);
});
