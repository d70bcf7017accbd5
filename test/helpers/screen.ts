/**
 * What a terminal shows for what was written to it: its rows of text once
 * carriage returns, line feeds and the cursor controls readline uses
 * (ESC[nG to a column, ESC[nA/B/C/D moves, ESC[J and ESC[K erase) are
 * carried out. Rows do not wrap: a pseudo-terminal with no size set, as
 * under `script` with no terminal of its own, does not wrap for readline
 * either. Other controls are dropped.
 */
export function screenRows(output: string): string[] {
  const rows: string[] = [''];
  let row = 0;
  let col = 0;
  const goTo = (r: number): void => {
    row = Math.max(0, r);
    while (rows.length <= row) rows.push('');
  };
  for (const [token, arg = '', control] of output.matchAll(/\x1b\[([\d;?]*)([A-Za-z])|\r|\n|[^\x1b\r\n]+|\x1b/g)) {
    const n = arg === '' ? 1 : Number(arg);
    if (token === '\r') col = 0;
    else if (token === '\n') goTo(row + 1);
    else if (control === 'G') col = n - 1;
    else if (control === 'A') goTo(row - n);
    else if (control === 'B') goTo(row + n);
    else if (control === 'C') col += n;
    else if (control === 'D') col = Math.max(0, col - n);
    else if (control === 'J') {
      rows[row] = rows[row]!.slice(0, col);
      rows.length = row + 1;
    } else if (control === 'K') rows[row] = rows[row]!.slice(0, col);
    else if (control === undefined && token !== '\x1b') {
      const line = rows[row]!.padEnd(col);
      rows[row] = line.slice(0, col) + token + line.slice(col + token.length);
      col += token.length;
    }
  }
  return rows;
}
