import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { Command, Option } from 'commander';
import { UsageError } from '../../protocol/errors.js';
import type { ModuleSpec } from '../../protocol/spec.js';
import { writeFileAtomic } from '../atomic-file.js';
import { describeSpec } from '../cfgmgr/client.js';
import { CmdctlClient } from '../cmdctl/client.js';
import type { Result } from '../cmdctl/gateway.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE } from '../options.js';
import { completions, parseLine, type CtlAction, type Specs } from './ctl-line.js';
import { printJson } from './common.js';
import { PromptLine, readHidden } from './terminal.js';

interface CtlOpts {
  url: string;
  user?: string;
  command?: string;
  ca?: string;
  historyFile: string;
}

const HISTORY_SIZE = 500;

const HELP = `MODULE COMMAND [JSON | name=value ...]   send a command, e.g. Boss show_processes
config show [TARGET]                     configuration, defaults filled in (TARGET: MODULE or MODULE/PATH)
config set TARGET VALUE                  change a value (JSON, or plain text for a string)
config unset TARGET                      back to the default
config spec [MODULE]                     a module's items and commands
events on|off                            print component and configuration events as they happen
help [MODULE]                            this text, or a module's items and commands
quit                                     leave (so does end of input: Ctrl-D)
At a terminal, Ctrl-C drops the line being typed; at an empty prompt it leaves.
`;

/** One session of `b10 ctl`: the logged-in client, the specs for completion, and how each line's result is shown. */
class Shell {
  private specs: Specs = {};
  private printingEvents = false;

  constructor(
    private readonly client: CmdctlClient,
    term: PromptLine,
  ) {
    client.on('event', (event) => {
      if (this.printingEvents) term.write(process.stdout, `${JSON.stringify(event)}\n`);
    });
  }

  get currentSpecs(): Specs {
    return this.specs;
  }

  async refreshSpecs(): Promise<void> {
    const [rcode, value] = await this.client.request({ config: 'spec' });
    if (rcode === 0) this.specs = value as Record<string, ModuleSpec>;
  }

  /** Runs one line; its exit code is `b10 send`'s for the same outcome. */
  async run(line: string): Promise<number | 'quit'> {
    let action: CtlAction;
    try {
      action = parseLine(line, this.specs);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      process.stderr.write(`b10: ${err.message}\n`);
      return EXIT_USAGE;
    }
    switch (action.kind) {
      case 'empty':
        return EXIT_OK;
      case 'quit':
        return 'quit';
      case 'help':
        return this.help(action.module);
      case 'events': {
        const result = await this.client.request({ events: action.on });
        if (result[0] === 0) this.printingEvents = action.on;
        return this.outcome(result, () => {});
      }
      case 'request':
        return this.outcome(await this.client.request(action.request), (value) => this.print(action.print, value));
    }
  }

  private print(how: 'json' | 'pretty' | 'spec' | 'specs', value: unknown): void {
    if (how === 'spec') process.stdout.write(describeSpec(value as ModuleSpec));
    else if (how === 'specs') {
      for (const spec of Object.values(value as Record<string, ModuleSpec>)) {
        process.stdout.write(`${spec.module_name}${spec.module_description ? `  ${spec.module_description}` : ''}\n`);
      }
    } else if (how === 'pretty') process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    else if (value !== undefined) printJson(value);
  }

  private outcome([rcode, value]: Result, print: (value: unknown) => void): number {
    if (rcode === 0) {
      print(value);
      return EXIT_OK;
    }
    process.stderr.write(`b10: ${typeof value === 'string' ? value : JSON.stringify(value)}\n`);
    return rcode < 0 ? EXIT_UNREACHABLE : EXIT_FAILURE;
  }

  private async help(module: string | undefined): Promise<number> {
    await this.refreshSpecs();
    if (module === undefined) {
      const modules = Object.values(this.specs).map((s) => `  ${s.module_name}: ${s.commands.map((c) => c.command_name).join(', ') || '(no commands)'}`);
      process.stdout.write(`${HELP}\nModules and their commands:\n${modules.join('\n')}\n`);
      return EXIT_OK;
    }
    const spec = this.specs[module];
    if (!spec) {
      process.stderr.write(`b10: no module ${module} has registered (modules: ${Object.keys(this.specs).join(', ')})\n`);
      return EXIT_FAILURE;
    }
    process.stdout.write(describeSpec(spec));
    return EXIT_OK;
  }
}

async function loadHistory(file: string): Promise<string[]> {
  try {
    return (await readFile(file, 'utf8')).split('\n').filter(Boolean).reverse().slice(0, HISTORY_SIZE);
  } catch {
    return [];
  }
}

/**
 * The interactive shell: prompt, completion and history at a terminal;
 * line by line from a pipe. Ends with the code of the last line that
 * failed, 0 when none did.
 */
async function interact(
  shell: Shell,
  lines: AsyncIterator<string>,
  rl: readline.Interface,
  term: PromptLine,
  historyFile: string | undefined,
): Promise<number> {
  let history: string[] = [];
  rl.on('history', (h: string[]) => (history = h));
  rl.on('SIGINT', () => term.interrupt());
  let code = EXIT_OK;
  term.prompt();
  for (let next = await lines.next(); !next.done; next = await lines.next()) {
    term.entered();
    const outcome = await shell.run(next.value);
    if (outcome === 'quit') break;
    if (outcome !== EXIT_OK) code = outcome;
    term.prompt();
  }
  rl.close();
  if (historyFile && history.length > 0) {
    await writeFileAtomic(historyFile, `${[...history].reverse().join('\n')}\n`, 0o600).catch(() => {});
  }
  return code;
}

export function ctlCommand(): Command {
  return new Command('ctl')
    .description('log in to cmdctl and run commands over its WebSocket: an interactive shell, or one line with -c')
    .addOption(new Option('--url <url>', 'cmdctl\'s address').env('B10_CMDCTL_URL').default('http://127.0.0.1:8080'))
    .addOption(new Option('-u, --user <name>', 'user name (accounts: b10 user add)').env('B10_USER'))
    .option('-c, --command <line>', 'run this one line (e.g. "Boss show_processes") and exit with b10 send\'s exit codes')
    .option('--ca <file>', 'PEM certificate to trust, for a cmdctl with a certificate of its own')
    .option('--history-file <file>', 'where the shell keeps its history', path.join(os.homedir(), '.b10_ctl_history'))
    .addHelpText(
      'after',
      `\nThe password comes from B10_PASSWORD, else the terminal (not echoed), else the first line of stdin.\n\nLines:\n${HELP}`,
    )
    .action(async (opts: CtlOpts) => {
      if (!opts.user) throw new UsageError('give the user name: --user NAME (or B10_USER)');
      const tty = process.stdin.isTTY === true;
      let shell: Shell | undefined;
      // At a terminal the password is read before readline exists: readline would take the keys as a line.
      let password = process.env.B10_PASSWORD;
      if (password === undefined && tty) password = await readHidden('Password: ');
      const rl = readline.createInterface({
        input: process.stdin,
        output: tty ? process.stdout : undefined,
        terminal: tty,
        prompt: 'b10> ',
        historySize: HISTORY_SIZE,
        history: tty ? await loadHistory(opts.historyFile) : [],
        completer: (line: string) => completions(line, shell?.currentSpecs ?? {}),
      });
      const lines = rl[Symbol.asyncIterator]();
      const term = new PromptLine(rl, process.stdout);
      try {
        if (password === undefined) {
          const first = await lines.next();
          if (first.done) throw new UsageError('no password: give it in B10_PASSWORD, at a terminal, or as the first line of stdin');
          password = first.value;
        }
        const ca = opts.ca === undefined ? undefined : await readFile(opts.ca);
        const client = await CmdctlClient.login(opts.url, opts.user, password, { ca });
        client.on('close', (reason) => {
          term.write(process.stderr, `b10: cmdctl closed the connection${reason ? `: ${reason}` : ''}\n`, false);
          process.exit(EXIT_UNREACHABLE);
        });
        shell = new Shell(client, term);
        await shell.refreshSpecs();
        if (opts.command !== undefined) {
          const outcome = await shell.run(opts.command);
          process.exitCode = outcome === 'quit' ? EXIT_OK : outcome;
        } else {
          process.exitCode = await interact(shell, lines, rl, term, tty ? opts.historyFile : undefined);
        }
        client.removeAllListeners('close');
        client.close();
      } finally {
        rl.close();
      }
    });
}
