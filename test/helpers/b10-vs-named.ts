import { onTestFinished } from 'vitest';
import type { DiffQuery, DnsServer } from './dns-diff.js';
import { startAuth } from './dns.js';
import { startNamed } from './named.js';

/**
 * b10-auth and named serving the same zone file, each on a free port, both
 * stopped when the test ends: the two sides of a differential test.
 */
export async function b10AndNamed(origin: string, file: string): Promise<{ b10: DnsServer & { name: string }; named: DnsServer & { name: string } }> {
  const [named, auth] = await Promise.all([
    startNamed({ zones: [{ name: origin, file }], stopWith: onTestFinished }),
    startAuth({ zones: [{ origin, file }] }).then((handle) => {
      onTestFinished(() => handle.stop());
      return handle;
    }),
  ]);
  return { b10: { port: auth.port, name: 'b10' }, named: { port: named.port, name: 'named' } };
}

/**
 * Questions from "name TYPE" lines: a name ending in a dot is absolute, "@"
 * is the origin, any other is relative to it. Each is asked as is and with
 * each of `variants`' option sets (UDP, RD clear, no DO when none given).
 */
export function questions(origin: string, lines: string[], variants: Omit<DiffQuery, 'name' | 'type'>[] = [{}]): DiffQuery[] {
  const base = lines.map((line) => {
    const [name, type] = line.split(' ') as [string, string];
    return { name: name.endsWith('.') ? name : name === '@' ? `${origin}.` : `${name}.${origin}.`, type };
  });
  return variants.flatMap((options) => base.map((q) => ({ ...q, ...options })));
}
