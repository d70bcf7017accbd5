import { UsageError } from '../../protocol/errors.js';
import { commandSpec, type ModuleSpec } from '../../protocol/spec.js';

/**
 * What one line of `b10 ctl` asks for, and what tab completes: pure, so the
 * shell's grammar is tested apart from the terminal.
 *   MODULE COMMAND [JSON | name=value ...]
 *   config show [TARGET] | config set TARGET VALUE | config unset TARGET | config spec [MODULE]
 *   events on|off | help [MODULE] | quit
 */
export type CtlAction =
  | { kind: 'empty' }
  | { kind: 'quit' }
  | { kind: 'help'; module?: string }
  | { kind: 'events'; on: boolean }
  /** `print`: how the value is shown, as the b10 command it mirrors shows it. */
  | { kind: 'request'; request: Record<string, unknown>; print: 'json' | 'pretty' | 'spec' | 'specs' };

export type Specs = Readonly<Record<string, ModuleSpec>>;

const KEYWORDS = ['config', 'events', 'help', 'quit'];
const CONFIG_OPS = ['show', 'set', 'unset', 'spec'];

/** Words split on blanks; "double" or 'single' quotes keep blanks inside one word. */
export function words(text: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|([^\s"']+)/g;
  let current: string | undefined;
  let last = -1;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const part = m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? m[3]!);
    // Quotes in the middle of a word (name="a b") join it.
    if (current !== undefined && m.index === last) current += part;
    else {
      if (current !== undefined) out.push(current);
      current = part;
    }
    last = re.lastIndex;
  }
  if (current !== undefined) out.push(current);
  return out;
}

/** The text after the first `n` words, as typed. */
function restAfter(line: string, n: number): string {
  let rest = line.trimStart();
  for (let i = 0; i < n; i++) rest = rest.replace(/^\S+\s*/, '');
  return rest.trim();
}

function parseJson(what: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${what} is not valid JSON: ${(err as Error).message}`);
  }
}

/** A value as typed: JSON when it is JSON, else the text itself (so strings need no quotes). */
function looseValue(text: string): unknown {
  if (/^["{[]/.test(text)) return parseJson('the value', text);
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function commandArgs(line: string, spec: ModuleSpec | undefined, command: string): unknown {
  const rest = restAfter(line, 2);
  if (rest === '') return undefined;
  if (rest.startsWith('{') || rest.startsWith('[')) return parseJson('the arguments', rest);
  const args: Record<string, unknown> = {};
  const argSpecs = spec ? commandSpec(spec, command)?.command_args : undefined;
  for (const word of words(rest)) {
    const eq = word.indexOf('=');
    if (eq <= 0) throw new UsageError(`"${word}": arguments are name=value, or one JSON map`);
    const name = word.slice(0, eq);
    const text = word.slice(eq + 1);
    args[name] = argSpecs?.find((a) => a.item_name === name)?.item_type === 'string' ? text : looseValue(text);
  }
  return args;
}

function configAction(line: string, w: string[]): CtlAction {
  const [, op, target] = w;
  switch (op) {
    case 'show':
      return { kind: 'request', request: target === undefined ? { config: 'show' } : { config: 'show', target }, print: 'pretty' };
    case 'set': {
      const value = restAfter(line, 3);
      if (target === undefined || value === '') throw new UsageError('config set TARGET VALUE, e.g. config set Auth/listen_on[0]/port 5301');
      return { kind: 'request', request: { config: 'set', target, value: looseValue(value) }, print: 'json' };
    }
    case 'unset':
      if (target === undefined) throw new UsageError('config unset TARGET, e.g. config unset Auth/listen_on');
      return { kind: 'request', request: { config: 'unset', target }, print: 'json' };
    case 'spec':
      return target === undefined
        ? { kind: 'request', request: { config: 'spec' }, print: 'specs' }
        : { kind: 'request', request: { config: 'spec', module: target }, print: 'spec' };
    default:
      throw new UsageError(`config ${op ?? ''}: expected one of ${CONFIG_OPS.join(', ')}`);
  }
}

export function parseLine(line: string, specs: Specs): CtlAction {
  const w = words(line);
  if (w.length === 0 || w[0]!.startsWith('#')) return { kind: 'empty' };
  const [first, second] = w;
  switch (first) {
    case 'quit':
    case 'exit':
      return { kind: 'quit' };
    case 'help':
      return second === undefined ? { kind: 'help' } : { kind: 'help', module: second };
    case 'events':
      if (second !== 'on' && second !== 'off') throw new UsageError('events on|off');
      return { kind: 'events', on: second === 'on' };
    case 'config':
      return configAction(line, w);
  }
  if (second === undefined) {
    const known = specs[first!]?.commands.map((c) => c.command_name).join(', ');
    throw new UsageError(known ? `${first} COMMAND: one of ${known}` : `${first}: expected MODULE COMMAND, config ..., events on|off, help or quit`);
  }
  const args = commandArgs(line, specs[first!], second);
  return { kind: 'request', request: args === undefined ? { module: first, command: second } : { module: first, command: second, args }, print: 'json' };
}

/** Configuration targets a module offers for completion: MODULE/item for each top-level item. */
function targets(specs: Specs): string[] {
  return Object.values(specs).flatMap((s) => [`${s.module_name}/`, ...s.config_data.map((i) => `${s.module_name}/${i.item_name}`)]);
}

/**
 * readline's completer: the candidates for the word being typed, and that
 * word. A finished word ends with a blank, so Tab moves on to the next;
 * "name=" and "Module/" wait for more.
 */
export function completions(line: string, specs: Specs): [string[], string] {
  const w = words(line);
  const typing = /\s$/.test(line) || line === '' ? '' : (w.pop() ?? '');
  const modules = Object.keys(specs).sort();
  let candidates: string[];
  if (w.length === 0) candidates = [...modules, ...KEYWORDS];
  else if (w[0] === 'config') {
    if (w.length === 1) candidates = CONFIG_OPS;
    else if (w.length === 2 && w[1] === 'spec') candidates = modules;
    else if (w.length === 2 && ['show', 'set', 'unset'].includes(w[1]!)) candidates = targets(specs);
    else candidates = [];
  } else if (w[0] === 'help') candidates = w.length === 1 ? modules : [];
  else if (w[0] === 'events') candidates = w.length === 1 ? ['on', 'off'] : [];
  else {
    const spec = specs[w[0]!];
    if (!spec) candidates = [];
    else if (w.length === 1) candidates = spec.commands.map((c) => c.command_name);
    else {
      const given = new Set(w.slice(2).map((a) => a.split('=')[0]));
      candidates = (commandSpec(spec, w[1]!)?.command_args ?? []).filter((a) => !given.has(a.item_name)).map((a) => `${a.item_name}=`);
    }
  }
  const finished = (c: string): string => (c.endsWith('=') || c.endsWith('/') ? c : `${c} `);
  return [candidates.filter((c) => c.startsWith(typing)).map(finished), typing];
}
