import { Command } from 'commander';
import { AnswerError, UsageError } from '../../protocol/errors.js';
import { resolveDataPath } from '../cfgmgr/store.js';
import { Accounts } from '../cmdctl/accounts.js';
import { readHidden, readStdin } from './terminal.js';

interface UserOpts {
  dataPath?: string;
}

/** The new password: typed twice at a terminal, or read from stdin when it is not one. Never argv. */
async function newPassword(): Promise<string> {
  if (!process.stdin.isTTY) return readStdin();
  const first = await readHidden('Password: ');
  const again = await readHidden('Again: ');
  if (first !== again) throw new UsageError('the passwords differ');
  return first;
}

function dataPath(command: Command): Command {
  return command.option('-d, --data-path <dir>', 'where cmdctl\'s accounts live (default: B10_DATA_PATH, else ./b10)');
}

export function userCommand(): Command {
  return new Command('user')
    .description('manage the accounts that may log in to cmdctl (passwords are scrypt-hashed, never on argv)')
    .addCommand(
      dataPath(new Command('add').description('add a user, or set a user\'s password: typed twice at a terminal, else read from stdin').argument('<name>', 'user name')).action(
        async (name: string, opts: UserOpts) => {
          const accounts = await Accounts.load(resolveDataPath(opts.dataPath));
          await accounts.add(name, await newPassword());
          process.stdout.write(`user ${name} saved\n`);
        },
      ),
    )
    .addCommand(
      dataPath(new Command('remove').description('remove a user').argument('<name>', 'user name')).action(async (name: string, opts: UserOpts) => {
        const accounts = await Accounts.load(resolveDataPath(opts.dataPath));
        if (!(await accounts.remove(name))) throw new AnswerError(1, `no user ${name}`);
        process.stdout.write(`user ${name} removed\n`);
      }),
    )
    .addCommand(
      dataPath(new Command('list').description('the user names, one a line')).action(async (opts: UserOpts) => {
        const accounts = await Accounts.load(resolveDataPath(opts.dataPath));
        for (const name of accounts.names()) process.stdout.write(`${name}\n`);
      }),
    );
}
