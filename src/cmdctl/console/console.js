// The b10 web console: a client of cmdctl's WebSocket protocol, as `b10 ctl`
// is. Plain browser JavaScript, served as is: there is no build step.

import { Dashboard } from './dashboard.js';
import { confirmed, element, tableOf } from './dom.js';
import { asText, editorFor, fieldValue, inputFor, isScalar, isStructured, showValue } from './editors.js';
import { ZonesView } from './zones.js';

const $ = (selector) => document.querySelector(selector);
const MAX_EVENTS = 200;

/** One WebSocket to cmdctl: requests resolve with their [rcode, value]; events go to `onEvent`. */
class Gateway {
  constructor(onEvent, onClose) {
    this.nextId = 0;
    this.pending = new Map();
    this.onEvent = onEvent;
    this.onClose = onClose;
  }

  open() {
    this.close();
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${scheme}://${location.host}/ws`);
      let opened = false;
      ws.onopen = () => {
        opened = true;
        this.ws = ws;
        resolve();
      };
      ws.onerror = () => {
        if (!opened) reject(new Error('not logged in'));
      };
      ws.onclose = (event) => {
        for (const resolveRequest of this.pending.values()) resolveRequest([-3, 'connection to cmdctl closed']);
        this.pending.clear();
        if (opened && ws === this.ws) this.onClose(event.reason);
      };
      ws.onmessage = (message) => this.receive(JSON.parse(message.data));
    });
  }

  receive(message) {
    if (typeof message.event === 'string') return this.onEvent(message);
    const resolve = this.pending.get(message.id);
    if (!resolve) return;
    this.pending.delete(message.id);
    resolve(message.result);
  }

  request(body) {
    if (this.ws?.readyState !== WebSocket.OPEN) return Promise.resolve([-3, 'not connected to cmdctl']);
    const id = ++this.nextId;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.ws.send(JSON.stringify({ ...body, id }));
    });
  }

  get connected() {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** Closes the socket on purpose: that is not reported as a lost connection. */
  close() {
    const ws = this.ws;
    this.ws = undefined;
    ws?.close();
  }
}

/** What leaving an argument's field empty means: refused, or the default the module applies. */
function argumentPlaceholder(arg) {
  if (!arg.item_optional) return 'required';
  return arg.item_default === undefined ? 'optional' : `default: ${asText(arg.item_type, arg.item_default)}`;
}

/**
 * Commands that end more than their button says: the page asks before
 * sending them. Other modules' shutdown is a restart (the boss starts them
 * again) and goes at once.
 */
const ASK_FIRST = {
  'Boss shutdown': [
    'Shut down b10? Every component stops, this console loses its connection, and b10 has to be started again on its host.',
    'Shut down b10',
  ],
  'Cmdctl shutdown': ['Stop cmdctl? Every login ends, this one too: the boss starts cmdctl again, then log in again.', 'Stop cmdctl'],
};
const RESTART_CMDCTL = ['Restart cmdctl? Every login ends, this one too: log in again once it is back.', 'Restart cmdctl'];

class Console {
  constructor() {
    this.specs = {};
    this.fields = new Map();
    this.rows = new Map();
    this.gateway = new Gateway(
      (event) => this.onEvent(event),
      (reason) => this.disconnected(reason),
    );
    this.dashboard = new Dashboard(this.gateway);
    this.zones = new ZonesView(this.gateway);
    setInterval(() => this.tickUptimes(), 1000);
  }

  async start() {
    $('#login').addEventListener('submit', (e) => {
      e.preventDefault();
      void this.login(new FormData(e.target));
    });
    $('#logout').addEventListener('click', () => void this.logout());
    try {
      await this.connect();
    } catch {
      this.showLogin();
    }
  }

  /** The login form, its password field empty; `message` says why it is back when that was not the operator's doing. */
  showLogin(message = '', status = 'not logged in') {
    clearTimeout(this.processesTimer);
    this.dashboard.stop();
    $('#console').hidden = true;
    $('#logout').hidden = true;
    $('#login').hidden = false;
    $('#login input[name=password]').value = '';
    $('#login-error').textContent = message;
    $('#status').textContent = status;
  }

  async login(form) {
    const button = $('#login button[type=submit]');
    // A second submit while the first is under way would open a second socket.
    if (button.disabled) return;
    button.disabled = true;
    try {
      const response = await fetch('/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: form.get('username'), password: form.get('password') }),
      });
      if (response.status !== 200) {
        const { error } = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
        this.showLogin(error);
        return;
      }
      await this.connect();
    } catch (err) {
      this.showLogin(err.message);
    } finally {
      button.disabled = false;
    }
  }

  /** The socket is closed before cmdctl ends the login, so that its "logged out" close is not taken for a lost connection. */
  async logout() {
    this.gateway.close();
    this.showLogin('', 'logged out');
    await fetch('/logout', { method: 'POST' }).catch(() => {});
  }

  /** cmdctl closes the socket with the reason when the login ends (expired, account removed). */
  disconnected(reason) {
    this.showLogin(
      reason ? `cmdctl closed the connection: ${reason}. Log in again.` : 'The connection to cmdctl was lost: log in again.',
      'connection to cmdctl lost',
    );
  }

  async connect() {
    await this.gateway.open();
    $('#login').hidden = true;
    $('#login input[name=password]').value = '';
    $('#console').hidden = false;
    $('#logout').hidden = false;
    $('#status').textContent = 'connected';
    await this.gateway.request({ events: true });
    this.dashboard.start();
    void this.zones.refresh();
    await Promise.all([this.loadProcesses(), this.loadSpecs()]);
  }

  async loadProcesses() {
    const [rcode, rows] = await this.gateway.request({ module: 'Boss', command: 'show_processes' });
    if (rcode !== 0) {
      // Without a connection the status already says why (logged out, or lost).
      if (this.gateway.connected) $('#status').textContent = `the boss does not answer: ${rows}`;
      return;
    }
    const now = Date.now();
    for (const row of rows) this.showComponent({ ...row, since: row.uptime === null ? null : now - row.uptime * 1000 });
  }

  /** `c` is a row of show_processes or a component event; events leave out the kind and address, which stay as last seen. */
  showComponent(c) {
    let row = this.rows.get(c.name);
    if (!row) {
      const restart = element('button', { type: 'button', class: 'restart', onclick: () => void this.restart(c.name) }, 'Restart');
      row = {
        tr: element('tr', { 'data-component': c.name }, element('td', {}, c.name), element('td', { class: 'state' }), element('td', { class: 'pid' }),
          element('td', { class: 'restarts' }), element('td', { class: 'uptime' }), element('td', {}, c.name === 'msgq' ? '' : restart)),
        restart,
        since: null,
        address: null,
      };
      this.rows.set(c.name, row);
      $('#components tbody').append(row.tr);
    }
    if (c.address !== undefined) row.address = c.address;
    // The boss refuses to restart a core component: b10 has to be restarted instead.
    if (c.kind !== undefined) row.restart.hidden = c.kind === 'core';
    const cells = row.tr.children;
    cells[1].textContent = c.state;
    cells[1].className = `state state-${c.state}`;
    cells[2].textContent = c.pid ?? '';
    cells[3].textContent = c.restarts;
    if (c.since !== undefined) row.since = c.since;
    this.tickUptimes();
  }

  tickUptimes() {
    const now = Date.now();
    for (const row of this.rows.values()) {
      row.tr.querySelector('.uptime').textContent = row.since === null ? '' : `${Math.round((now - row.since) / 1000)} s`;
    }
  }

  async restart(name) {
    if (this.rows.get(name)?.address === 'Cmdctl' && !(await confirmed(RESTART_CMDCTL))) return;
    const [rcode, value] = await this.gateway.request({ module: 'Boss', command: 'restart', args: { name } });
    this.logEvent({ event: 'restart', name, result: rcode === 0 ? value : `failed: ${value}` });
  }

  async loadSpecs() {
    const [rcode, specs] = await this.gateway.request({ config: 'spec' });
    if (rcode !== 0) {
      $('#config').textContent = `the config manager does not answer: ${specs}`;
      return;
    }
    this.specs = specs;
    $('#config').replaceChildren();
    $('#commands').replaceChildren();
    this.fields.clear();
    for (const name of Object.keys(specs).sort()) {
      const spec = specs[name];
      if (spec.config_data.length > 0) $('#config').append(this.configForm(spec));
      if (spec.commands.length > 0) $('#commands').append(this.commandForms(spec));
      if (spec.config_data.length > 0) await this.loadConfig(name);
    }
  }

  configForm(spec) {
    const module = spec.module_name;
    const fieldset = element('fieldset', { 'data-module': module }, element('legend', {}, module));
    for (const item of spec.config_data) {
      const target = `${module}/${item.item_name}`;
      // Lists, maps and named sets are edited as rows and fields of their spec's types, not as JSON.
      const editor = isStructured(item.item_type) ? editorFor(item, target) : undefined;
      const input = editor ? editor.el : inputFor(item, target);
      input.id = target;
      input.dataset.target = target;
      const field = {
        module,
        target,
        item,
        input,
        editor,
        error: element('span', { class: 'error', 'data-error-for': target }),
        hint: element('span', { class: 'hint', 'data-hint-for': target }),
        unset: element('button', { type: 'button', hidden: true }, 'Use default'),
      };
      field.unset.addEventListener('click', () => void this.save(field, true));
      field.form = element('form', { class: 'field' },
        element('label', { for: editor ? undefined : target }, item.item_name), input,
        element('span', {}, element('button', { type: 'submit' }, 'Save'), ' ', field.unset), field.error,
        element('span', { class: 'description' }, field.hint, item.item_description ? element('span', {}, item.item_description) : undefined));
      field.form.addEventListener('submit', (e) => {
        e.preventDefault();
        void this.save(field);
      });
      this.fields.set(target, field);
      fieldset.append(field.form);
    }
    return fieldset;
  }

  /** Stores the field's value; an empty field, or Use default, unsets the item so that its default applies again. */
  async save(field, toDefault = false) {
    const { target, item, input, error } = field;
    error.className = 'error';
    let value;
    try {
      value = toDefault ? undefined : field.editor ? field.editor.get() : fieldValue(input, item);
    } catch (err) {
      error.textContent = err.message;
      return;
    }
    error.textContent = 'saving…';
    const [rcode, message] = await this.gateway.request(value === undefined ? { config: 'unset', target } : { config: 'set', target, value });
    if (rcode !== 0) {
      error.textContent = message;
      return;
    }
    error.className = 'saved';
    error.textContent = value === undefined ? 'unset: the default applies' : 'saved';
    await this.loadConfig(field.module, null);
  }

  /** Shows a module's items; the field being typed in (`keep`, or a field of a list's rows) is left as it is. */
  async loadConfig(module, keep = document.activeElement) {
    const [[rcode, effective], [storedRcode, stored]] = await Promise.all([
      this.gateway.request({ config: 'show', target: module }),
      // What is set: the stored values, without the defaults that `show` fills in.
      this.gateway.request({ module: 'ConfigManager', command: 'get_config', args: { module_name: module } }),
    ]);
    if (rcode !== 0 || storedRcode !== 0) return;
    for (const field of this.fields.values()) {
      if (field.module !== module || field.input === keep) continue;
      if (field.editor && keep && keep.tagName !== 'BUTTON' && field.editor.el.contains(keep)) continue;
      const name = field.item.item_name;
      this.showField(field, stored?.[name], effective[name]);
    }
  }

  /** An item that is set shows its value; one that is not shows the value in effect greyed (the placeholder) and says it is the default. */
  showField(field, stored, effective) {
    const { item, input } = field;
    const isSet = stored !== undefined;
    field.form.classList.toggle('unset', !isSet);
    field.unset.hidden = !isSet;
    const type = item.item_type;
    if (field.editor) field.editor.set(isSet ? stored : effective);
    else if (type === 'boolean') input.checked = (isSet ? stored : effective) === true;
    else {
      input.value = isSet ? asText(type, stored) : '';
      input.placeholder = isSet ? '' : asText(type, effective);
    }
    let hint = '';
    if (!isSet && effective === undefined) hint = 'not set, no default';
    else if (!isSet) hint = isScalar(type) || type === 'boolean' ? `not set: default ${JSON.stringify(effective)}` : 'not set: the default, shown greyed, applies';
    field.hint.textContent = hint;
  }

  commandForms(spec) {
    const fieldset = element('fieldset', { 'data-module': spec.module_name }, element('legend', {}, spec.module_name));
    for (const command of spec.commands) {
      const inputs = command.command_args.map((arg) => {
        const input = inputFor(arg, `${spec.module_name}.${command.command_name}.${arg.item_name}`);
        input.placeholder = argumentPlaceholder(arg);
        // A check box cannot be empty: it starts as the default.
        if (!arg.item_optional || arg.item_type === 'boolean') showValue(input, arg.item_type, arg.item_default);
        return [arg, input];
      });
      const result = element('pre', { class: 'result', hidden: true });
      const table = element('div', { class: 'result-table', hidden: true });
      const form = element('form', { class: 'command', 'data-command': `${spec.module_name} ${command.command_name}` },
        element('button', { type: 'submit' }, command.command_name), ' ',
        ...inputs.flatMap(([arg, input]) => [element('label', {}, `${arg.item_name} `, input), ' ']),
        command.command_description ? element('span', { class: 'description' }, ` ${command.command_description}`) : undefined,
        result, table);
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        void this.run(spec.module_name, command.command_name, inputs, result, table);
      });
      fieldset.append(form);
    }
    return fieldset;
  }

  /** An empty field leaves an optional argument out, so the module applies its default. */
  async run(module, command, inputs, result, table) {
    table.hidden = true;
    const args = {};
    try {
      for (const [arg, input] of inputs) {
        const value = fieldValue(input, arg);
        if (value !== undefined) args[arg.item_name] = value;
        else if (!arg.item_optional) throw new Error(`${arg.item_name}: required`);
      }
    } catch (err) {
      result.hidden = false;
      result.textContent = err.message;
      return;
    }
    const ask = ASK_FIRST[`${module} ${command}`];
    if (ask && !(await confirmed(ask))) return;
    result.hidden = false;
    result.textContent = 'sent…';
    const [rcode, value] = await this.gateway.request(inputs.length > 0 ? { module, command, args } : { module, command });
    // A list is easier to read as a table, one row per item.
    if (rcode === 0 && Array.isArray(value) && value.length > 0) {
      result.hidden = true;
      table.replaceChildren(tableOf(value));
      table.hidden = false;
      return;
    }
    result.textContent = rcode === 0 ? JSON.stringify(value ?? null, null, 2) : `error ${rcode}: ${value}`;
  }

  onEvent(event) {
    this.logEvent(event);
    if (event.event === 'component') {
      this.showComponent({ ...event, since: event.state === 'running' || event.state === 'starting' ? undefined : null });
      // Uptime and the rest come from the boss itself once the change has settled.
      clearTimeout(this.processesTimer);
      this.processesTimer = setTimeout(() => void this.loadProcesses(), 300);
    } else if (event.event === 'config_update') void this.loadConfig(event.module);
    else if (event.event === 'module_spec') void this.specChanged(event.module);
  }

  /** A module registered: the forms are rebuilt only when its spec is new or differs, so edits in progress survive restarts. */
  async specChanged(module) {
    const [rcode, spec] = await this.gateway.request({ config: 'spec', module });
    if (rcode === 0 && JSON.stringify(spec) !== JSON.stringify(this.specs[module])) await this.loadSpecs();
  }

  logEvent(event) {
    const list = $('#events');
    list.prepend(element('li', {}, `${new Date().toLocaleTimeString()} ${JSON.stringify(event)}`));
    while (list.children.length > MAX_EVENTS) list.lastElementChild.remove();
  }
}

void new Console().start();
