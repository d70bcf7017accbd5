// Building the console's page: elements and tables.

export function element(tag, attributes = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === 'class') el.className = value;
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== false) el.setAttribute(key, value === true ? '' : value);
  }
  el.append(...children.filter((c) => c !== undefined && c !== null));
  return el;
}

export function isMap(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A cell's text: scalars as they are, anything else as JSON. */
function cellText(value) {
  if (value === undefined || value === null) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** A list as a table: maps one column per key any row has, in the order they first appear; anything else in one column. */
export function tableOf(list) {
  const rows = list.map((item) => (isMap(item) ? item : { value: item }));
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  return element('table', { class: 'list' },
    element('thead', {}, element('tr', {}, ...columns.map((c) => element('th', {}, c)))),
    element('tbody', {}, ...rows.map((row) => element('tr', {}, ...columns.map((c) => element('td', { 'data-column': c }, cellText(row[c])))))));
}

/** Asks in the page; resolves true only when the operator presses the action's button (Cancel and Escape say no). */
export function confirmed([question, action]) {
  const dialog = document.querySelector('#confirm');
  dialog.querySelector('.question').textContent = question;
  dialog.querySelector('button[value=yes]').textContent = action;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'yes'), { once: true }));
}
