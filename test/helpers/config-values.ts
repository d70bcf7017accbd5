import type { ItemSpec } from '../../protocol/spec.js';
import { pick } from './random.js';

/**
 * Values for a config item, made from its spec alone: ones the spec accepts
 * and ones it must refuse (out of range, of the wrong form or type). A
 * value the spec accepts may still be refused by its module (a port taken);
 * one it refuses must never reach the module.
 */
export interface Candidates {
  valid: unknown[];
  invalid: unknown[];
}

/** Examples of each string form: accepted by the form, though not all usable (192.0.2.1 is no address of this host). */
const FORM_EXAMPLES: Record<string, { valid: string[]; invalid: string[] }> = {
  ipaddress: { valid: ['127.0.0.1', '::1', '192.0.2.1'], invalid: ['', 'nohost', '127.0.0.256', '1::2::3'] },
  ipv4: { valid: ['127.0.0.1', '192.0.2.1'], invalid: ['', '::1', '300.1.1.1'] },
  ipv6: { valid: ['::1', '2001:db8::1'], invalid: ['', '127.0.0.1', 'fe80::zz'] },
  hostname: { valid: ['localhost', 'ns1.example.org'], invalid: ['', '-bad-.example', 'a..b'] },
  address: { valid: ['localhost', '127.0.0.1', '::1', '10.1.2.3', 'nohost.invalid'], invalid: ['', 'a..b', 'under_score!'] },
  domainname: { valid: ['example.org', 'sec.test.', 'a-b.example'], invalid: ['', 'a..b', `${'x'.repeat(64)}.org`] },
  path: { valid: ['/nonexistent/b10/cert.pem', 'relative/key.pem'], invalid: [''] },
};

function integers(item: ItemSpec, rand: () => number): Candidates {
  const min = item.item_min ?? 0;
  const max = item.item_max ?? min + 1000;
  const valid = [min, max, min + Math.floor(rand() * (Math.min(max, min + 1000) - min + 1))];
  const invalid: unknown[] = ['7', 1.5, true];
  if (item.item_min !== undefined) invalid.push(item.item_min - 1);
  if (item.item_max !== undefined) invalid.push(item.item_max + 1, item.item_max + 34_464);
  return { valid, invalid };
}

/** Candidates for `item`; `depth` keeps nested lists and maps small. */
export function candidates(item: ItemSpec, rand: () => number, depth = 0): Candidates {
  switch (item.item_type) {
    case 'integer':
      return integers(item, rand);
    case 'real': {
      const { valid, invalid } = integers(item, rand);
      return { valid: [...valid, (valid[0] as number) + 0.5], invalid: invalid.filter((v) => v !== 1.5) };
    }
    case 'boolean':
      return { valid: [true, false], invalid: ['true', 0] };
    case 'string': {
      const form = item.item_format === undefined ? undefined : FORM_EXAMPLES[item.item_format];
      return form ?? { valid: ['text', `v${Math.floor(rand() * 1000)}`], invalid: [42, ['a']] };
    }
    case 'list': {
      const element = candidates(item.list_item_spec!, rand, depth + 1);
      return {
        valid: depth > 1 ? [[]] : [[], [pick(rand, element.valid)], [pick(rand, element.valid), pick(rand, element.valid)]],
        invalid: ['a list', ...(element.invalid.length > 0 ? [[pick(rand, element.valid), pick(rand, element.invalid)]] : [])],
      };
    }
    case 'map': {
      const items = item.map_item_spec!;
      const whole = (): Record<string, unknown> => {
        const map: Record<string, unknown> = {};
        for (const sub of items) {
          const { valid } = candidates(sub, rand, depth + 1);
          if (valid.length > 0 && (!sub.item_optional || rand() < 0.5)) map[sub.item_name] = pick(rand, valid);
        }
        return map;
      };
      const broken = (): unknown => {
        const map = whole();
        const target = pick(rand, items);
        const bad = candidates(target, rand, depth + 1).invalid;
        if (bad.length === 0) return 'a map';
        map[target.item_name] = pick(rand, bad);
        return map;
      };
      return { valid: [whole(), whole()], invalid: ['a map', broken(), broken()] };
    }
    default:
      // named_set and any: what a value must be is the module's to say.
      return { valid: [], invalid: [] };
  }
}
