// Fields for values of a spec's types: an input for a number, text or a
// check box; rows for a list or a named set; a field per member for a map.
// JSON text only for `any`, which has no spec to build fields from.

import { element } from './dom.js';

/** The item's type as the operator reads it in an error. */
const TYPE_WANTED = { integer: 'a whole number', real: 'a number' };

export function isScalar(type) {
  return type === 'integer' || type === 'real' || type === 'string';
}

export function isStructured(type) {
  return type === 'list' || type === 'map' || type === 'named_set';
}

/**
 * Reads a field built by `inputFor` back into a value of its item's type.
 * An empty field is undefined, "not given": an argument left out, an item
 * back to its default. Text that is not of the type throws, naming the item.
 */
export function fieldValue(input, item) {
  const type = item.item_type;
  if (type === 'boolean') return input.checked;
  const text = input.value.trim();
  if (text === '') return undefined;
  switch (type) {
    case 'integer':
    case 'real': {
      const number = Number(text);
      if (type === 'integer' ? !/^-?\d+$/.test(text) : !Number.isFinite(number)) {
        throw new Error(`${item.item_name}: must be ${TYPE_WANTED[type]}, not ${JSON.stringify(text)}`);
      }
      return number;
    }
    case 'string':
      return input.value;
    default:
      try {
        return JSON.parse(text);
      } catch (err) {
        throw new Error(`${item.item_name}: must be JSON (${err.message})`);
      }
  }
}

/** A value as its field shows it: as typed for numbers and text, JSON for the rest. */
export function asText(type, value) {
  if (value === undefined || value === null) return '';
  return isScalar(type) ? String(value) : JSON.stringify(value, null, 1);
}

export function showValue(input, type, value) {
  if (type === 'boolean') input.checked = value === true;
  else input.value = asText(type, value);
}

export function inputFor(item, name) {
  const type = item.item_type;
  if (type === 'boolean') return element('input', { type: 'checkbox', name });
  if (!isScalar(type)) return element('textarea', { name, rows: 2 });
  // Numbers are typed as text: a number input shows what is not a number but reads it as empty, and empty means "not given".
  return element('input', { type: 'text', name, inputmode: type === 'integer' ? 'numeric' : type === 'real' ? 'decimal' : undefined });
}

/**
 * An editor for a value of `item`'s type: `{el, get, set}`. `get` reads the
 * value (undefined for an empty scalar field) or throws an error that names
 * the row and the field; `set` shows a value. `name` names the inputs, so
 * that the page and its tests can find them (`Auth/listen_on/port`).
 */
export function editorFor(item, name) {
  switch (item.item_type) {
    case 'list':
      return rowsEditor(item, name, false);
    case 'named_set':
      return rowsEditor(item, name, true);
    case 'map':
      return mapEditor(item, name);
    default: {
      const input = inputFor(item, name);
      return { el: input, get: () => fieldValue(input, item), set: (value) => showValue(input, item.item_type, value) };
    }
  }
}

/** What a new row starts with: the spec's default (a map's members then take theirs). */
function startValue(item) {
  if (item.item_default !== undefined) return item.item_default;
  return item.item_type === 'list' ? [] : isStructured(item.item_type) ? {} : undefined;
}

function mapEditor(item, name) {
  const members = item.map_item_spec.map((member) => [member, editorFor(member, `${name}/${member.item_name}`)]);
  return {
    el: element('div', { class: 'map' }, ...members.map(([member, editor]) =>
      element('label', { class: 'member' }, element('span', {}, member.item_name), editor.el))),
    get: () => {
      const value = {};
      for (const [member, editor] of members) {
        const v = editor.get() ?? (member.item_optional ? undefined : member.item_default);
        if (v !== undefined) value[member.item_name] = v;
        else if (!member.item_optional) throw new Error(`${member.item_name}: required`);
      }
      return value;
    },
    set: (value) => {
      for (const [member, editor] of members) editor.set(value?.[member.item_name] ?? startValue(member));
    },
  };
}

/** A list's items, or a named set's names and values, one row each, with Add and Remove. */
function rowsEditor(item, name, named) {
  const spec = named ? item.named_set_item_spec : item.list_item_spec;
  const rows = [];
  const body = element('div', { class: 'rows' });
  const add = (key, value) => {
    const editor = editorFor(spec, `${name}/${spec.item_name}`);
    editor.set(value);
    const keyInput = named ? element('input', { type: 'text', class: 'key', name: `${name}/name`, 'aria-label': 'name', value: key }) : undefined;
    const row = { editor, keyInput };
    row.el = element('div', { class: 'row' }, keyInput, editor.el,
      element('button', { type: 'button', class: 'remove', onclick: () => {
        rows.splice(rows.indexOf(row), 1);
        row.el.remove();
      } }, 'Remove'));
    rows.push(row);
    body.append(row.el);
  };
  return {
    el: element('div', { class: named ? 'named-set' : 'list' }, body,
      element('button', { type: 'button', class: 'add', onclick: () => add('', startValue(spec)) }, 'Add')),
    get: () => {
      const read = (row, i) => {
        try {
          const value = row.editor.get();
          if (value === undefined) throw new Error(`${spec.item_name}: required`);
          return value;
        } catch (err) {
          throw new Error(`${item.item_name} row ${i + 1}: ${err.message}`);
        }
      };
      if (!named) return rows.map(read);
      const value = {};
      rows.forEach((row, i) => {
        const key = row.keyInput.value.trim();
        if (key === '') throw new Error(`${item.item_name} row ${i + 1}: a name is required`);
        if (Object.hasOwn(value, key)) throw new Error(`${item.item_name} row ${i + 1}: the name ${JSON.stringify(key)} is given twice`);
        value[key] = read(row, i);
      });
      return value;
    },
    set: (value) => {
      rows.length = 0;
      body.replaceChildren();
      if (named) for (const [key, v] of Object.entries(value ?? {})) add(key, v);
      else for (const v of Array.isArray(value) ? value : []) add('', v);
    },
  };
}
