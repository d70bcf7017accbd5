import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Accounts } from '../src/cmdctl/accounts.js';
import { run } from './helpers/processes.js';
import { tempDir } from './helpers/tmp.js';

/** b10 user … with `input` on its stdin. */
const user = (dir: string, args: string[], input = ''): ReturnType<typeof run> => run('src/cli/main.js', ['user', ...args, '-d', dir], { input });

describe('b10 user', () => {
  it('add_list_remove: the password from stdin, hashed with a salt, in a file only its owner reads', async () => {
    const dir = await tempDir();
    expect(await user(dir, ['add', 'alice'], 'first secret\n')).toMatchObject({ code: 0, stdout: 'user alice saved\n' });
    expect(await user(dir, ['add', 'bob'], 'other\n')).toMatchObject({ code: 0 });
    expect((await user(dir, ['list'])).stdout).toBe('alice\nbob\n');
    const file = path.join(dir, 'cmdctl-accounts.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).not.toContain('first secret');
    const accounts = await Accounts.load(dir);
    expect(await accounts.verify('alice', 'first secret')).toBe(true);
    expect(await accounts.verify('alice', 'first secret\n')).toBe(false);
    expect(await user(dir, ['remove', 'bob'])).toMatchObject({ code: 0, stdout: 'user bob removed\n' });
    expect(await user(dir, ['remove', 'bob'])).toMatchObject({ code: 1, stderr: 'b10: no user bob' });
    expect((await user(dir, ['list'])).stdout).toBe('alice\n');
  });

  it('refusals: no password on argv, bad names, empty passwords, a corrupt file left alone', async () => {
    const dir = await tempDir();
    expect((await user(dir, ['add', 'alice', 'password-on-argv'], 'x\n')).code).toBe(2);
    expect(await user(dir, ['add', 'bad name'], 'x\n')).toMatchObject({ code: 1, stderr: expect.stringContaining('is not a user name') });
    expect(await user(dir, ['add', 'alice'], '\n')).toMatchObject({ code: 1, stderr: 'b10: an empty password is not a password' });
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path.join(dir, 'cmdctl-accounts.json'), '{"version": 1, "us');
    expect(await user(dir, ['list'])).toMatchObject({ code: 1, stderr: expect.stringContaining('not JSON; the file is left as it is') });
  });
});
