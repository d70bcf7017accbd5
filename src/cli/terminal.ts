import readline from 'node:readline';
import { UsageError } from '../../protocol/errors.js';

/** All of stdin, one trailing newline dropped: a password piped in by a script. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** A line typed at the terminal without echo. */
export function readHidden(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    // Echo goes off before the prompt shows: keys typed the moment it appears are not echoed either.
    stdin.setRawMode(true);
    process.stderr.write(prompt);
    stdin.resume();
    let text = '';
    const onData = (chunk: Buffer): void => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          finish();
          resolve(text);
          return;
        }
        if (ch === '\u0003') {
          finish();
          reject(new UsageError('interrupted'));
          return;
        }
        if (ch === '\u007f') text = text.slice(0, -1);
        else text += ch;
      }
    };
    const finish = (): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    stdin.on('data', onData);
  });
}

/**
 * The shell's prompt line, and what is written while the shell waits at it.
 * Text that comes on its own (an event, the connection closing) would land
 * after "b10> " and whatever is half typed, and leave no prompt; instead the
 * prompt is erased, the text written, and the prompt drawn again below it
 * with the typed text and the cursor where they were. Elsewhere (a pipe, or
 * while a line runs) text is written as it comes.
 */
export class PromptLine {
  private waiting = false;
  private closed = false;

  constructor(
    private readonly rl: readline.Interface,
    private readonly out: NodeJS.WriteStream,
  ) {
    rl.once('close', () => (this.closed = true));
  }

  /** Shows the prompt: the shell waits for a line. */
  prompt(): void {
    if (this.closed) return;
    this.waiting = true;
    this.rl.prompt();
  }

  /** A line was entered: until the next prompt, output follows it as usual. */
  entered(): void {
    this.waiting = false;
  }

  /** Writes whole lines of `text` to `stream`; `redraw: false` leaves the prompt off, for a last word before exit. */
  write(stream: NodeJS.WritableStream, text: string, redraw = true): void {
    if (!this.waiting || !this.rl.terminal) {
      stream.write(text);
      return;
    }
    const { rows } = this.rl.getCursorPos();
    readline.moveCursor(this.out, 0, -rows);
    readline.cursorTo(this.out, 0);
    readline.clearScreenDown(this.out);
    stream.write(text);
    if (!redraw) return;
    // readline redraws from as many rows up as the cursor is below the prompt's first row: those rows go below the text.
    this.out.write('\n'.repeat(rows));
    this.rl.prompt(true);
  }

  /**
   * Ctrl-C: the line being typed is dropped and the prompt comes back, as in
   * a shell. At an empty prompt, or while a line runs, it leaves as Ctrl-D
   * does (after the running line's answer).
   */
  interrupt(): void {
    if (!this.waiting || this.rl.line === '') {
      this.rl.close();
      return;
    }
    this.rl.write(null, { ctrl: true, name: 'e' });
    const { rows } = this.rl.getCursorPos();
    this.out.write(`^C\n${'\n'.repeat(rows)}`);
    this.rl.write(null, { ctrl: true, name: 'u' });
  }
}
