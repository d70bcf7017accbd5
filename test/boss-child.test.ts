import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { describeExit, forwardLine, reportedError } from '../boss/child.js';

/** A boss-like logger whose lines are kept as text, to look at the keys as written. */
function capture(): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { log: pino({ base: { pid: 100 } }, sink).child({ component: 'auth' }), lines };
}

describe('what a component reported', () => {
  it('error_and_fatal_lines: their message is the cause; lower levels are not', () => {
    expect(reportedError('', { level: 60, msg: 'cannot listen on 127.0.0.1:5300: listen EADDRINUSE' })).toBe(
      'cannot listen on 127.0.0.1:5300: listen EADDRINUSE',
    );
    expect(reportedError('', { level: 50, msg: 'boom' })).toBe('boom');
    expect(reportedError('', { level: 40, msg: 'careful' })).toBeUndefined();
  });

  it('uncaught_error_text: the error line of a stack trace is the cause, the rest is not', () => {
    expect(reportedError("Error: Cannot find module '/x.js'", undefined)).toBe("Error: Cannot find module '/x.js'");
    expect(reportedError('TypeError [ERR_INVALID_ARG_TYPE]: bad', undefined)).toBe('TypeError [ERR_INVALID_ARG_TYPE]: bad');
    expect(reportedError('    at Module._load (node:internal/modules/cjs/loader:1038:27)', undefined)).toBeUndefined();
    expect(reportedError('crasher: exiting in 0 ms', undefined)).toBeUndefined();
  });

  it('exit_in_words: code, signal or spawn failure', () => {
    expect(describeExit({ code: 1, signal: null })).toBe('exited with code 1');
    expect(describeExit({ code: null, signal: 'SIGKILL' })).toBe('was killed by SIGKILL');
    expect(describeExit({ code: null, signal: null, error: 'spawn EAGAIN' })).toBe('could not be spawned: spawn EAGAIN');
  });
});

describe('forwarded lines', () => {
  it('one_pid_key: the boss keeps "pid", the component\'s goes to componentPid', () => {
    const { log, lines } = capture();
    forwardLine(log, 'stderr', JSON.stringify({ level: 30, time: 1, pid: 200, hostname: 'h', name: 'auth', msg: 'auth listening', port: 53 }));
    expect(lines.length).toBe(1);
    expect(lines[0]!.match(/"pid":/g)?.length).toBe(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ pid: 100, componentPid: 200, component: 'auth', port: 53, msg: 'auth listening', level: 30 });
  });

  it('stderr_text_at_warn: text on stderr is a warning, on stdout information', () => {
    const { log, lines } = capture();
    forwardLine(log, 'stderr', 'Error: boom');
    forwardLine(log, 'stdout', 'hello');
    forwardLine(log, 'stdout', '   ');
    expect(lines.map((l) => JSON.parse(l) as { level: number; msg: string })).toMatchObject([
      { level: 40, msg: 'Error: boom', stream: 'stderr' },
      { level: 30, msg: 'hello', stream: 'stdout' },
    ]);
  });
});
