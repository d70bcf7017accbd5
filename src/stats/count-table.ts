/** A table of counts by label, as getstats answers it: {"A": 3, "AAAA": 1}. */
export type CountTable = Record<string, number>;

/** The non-zero entries of an array of counts indexed by code, each under the name `name` gives its code. */
export function nonZero(counts: Float64Array, name: (code: number) => string): CountTable {
  const out: CountTable = {};
  for (let code = 0; code < counts.length; code++) if (counts[code] !== 0) out[name(code)] = counts[code]!;
  return out;
}
