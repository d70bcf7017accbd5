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

