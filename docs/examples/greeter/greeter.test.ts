// The test of the Greeter module (greeter.js beside it), at the bus level:
// a real msgq and config manager, the module run as the boss would run it.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnswerError, CONFIG_MANAGER, type Session } from 'b10';
import { startBus, startModule, type Bus, type ModuleProcess } from 'b10/testing';

const GREETER = fileURLToPath(new URL('./greeter.js', import.meta.url));

let bus: Bus;
let greeter: ModuleProcess;
let client: Session;

beforeAll(async () => {
  bus = await startBus({ cfgmgr: true });
  greeter = await startModule(bus, GREETER, { module: 'Greeter' });
  client = await bus.connect();
});
afterAll(() => bus.stop());

describe('Greeter', () => {
  it('greets with the default greeting', async () => {
    expect(await client.command('Greeter', 'greet', { name: 'Ada' })).toBe('Hello, Ada!');
  });

  it('takes a configuration change at once', async () => {
    await client.command(CONFIG_MANAGER, 'set_config', ['Greeter', { greeting: 'Good morning' }]);
    expect(await client.command('Greeter', 'greet', { name: 'Ada' })).toBe('Good morning, Ada!');
  });

  it('refuses a configuration it cannot use, and keeps the old one', async () => {
    await expect(client.command(CONFIG_MANAGER, 'set_config', ['Greeter', { greeting: '' }])).rejects.toThrow(/greeting must not be empty/);
    expect(await client.command('Greeter', 'greet', { name: 'Ada' })).toBe('Good morning, Ada!');
  });

  it('answers a command with missing arguments with an error, not silence', async () => {
    await expect(client.command('Greeter', 'greet', {})).rejects.toBeInstanceOf(AnswerError);
  });

  it('stops on the shutdown command, exit code 0', async () => {
    await client.command('Greeter', 'shutdown');
    expect(await greeter.proc.exited).toEqual({ code: 0, signal: null });
  });
});
