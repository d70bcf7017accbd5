/**
 * Domain names in presentation form: absolute, lowercase (DNS names compare
 * without case), escapes kept as RFC 1035 writes them (`\.` inside a label,
 * `\DDD` for any byte). Pure functions.
 */

export class NameError extends Error {}

/** The labels of a presentation name (escapes kept), without the root's empty label. */
export function labels(name: string): string[] {
  if (name === '.' || name === '') return [];
  const out: string[] = [];
  let label = '';
  for (let i = 0; i < name.length; i++) {
    const c = name[i]!;
    if (c === '\\') {
      const digits = /^\d{3}/.exec(name.slice(i + 1));
      const esc = digits ? `\\${digits[0]}` : `\\${name[i + 1] ?? ''}`;
      if (!digits && i + 1 >= name.length) throw new NameError(`"${name}": a name cannot end in a lone backslash`);
      label += esc;
      i += esc.length - 1;
    } else if (c === '.') {
      if (label === '') throw new NameError(`"${name}": empty label`);
      out.push(label);
      label = '';
    } else {
      label += c;
    }
  }
  if (label !== '') out.push(label);
  return out;
}

/** Wire length of one presentation label (escapes count as the one byte they stand for). */
function labelBytes(label: string): number {
  let n = 0;
  for (let i = 0; i < label.length; i++) {
    if (label[i] === '\\') i += /^\d{3}/.test(label.slice(i + 1)) ? 3 : 1;
    n++;
  }
  return n;
}

function lowerLabel(label: string): string {
  return label.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/**
 * `name` made absolute against `origin` (itself absolute), lowercased and
 * checked: labels of at most 63 bytes, the name at most 255 on the wire.
 */
export function absolute(name: string, origin: string): string {
  if (name === '@') return origin;
  const isAbsolute = name.endsWith('.') && !name.endsWith('\\.');
  const own = labels(name).map(lowerLabel);
  const all = isAbsolute ? own : [...own, ...labels(origin)];
  let wire = 1;
  for (const label of all) {
    const bytes = labelBytes(label);
    if (bytes > 63) throw new NameError(`"${name}": label "${label}" is longer than 63 bytes`);
    wire += bytes + 1;
  }
  if (wire > 255) throw new NameError(`"${name}": longer than 255 bytes`);
  return all.length === 0 ? '.' : `${all.join('.')}.`;
}

/** True when `name` is `zone` or below it (both absolute, lowercase). */
export function isWithin(name: string, zone: string): boolean {
  if (zone === '.') return true;
  return name === zone || name.endsWith(`.${zone}`);
}

/**
 * A key that sorts names in DNSSEC canonical order (RFC 4034 6.1) closely
 * enough for a zone listing: labels reversed, so a name follows its parent.
 */
export function sortKey(name: string): string {
  return labels(name).reverse().join('\u0000');
}
