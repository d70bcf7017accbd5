// The b10 web console: a client of cmdctl's WebSocket protocol, as `b10 ctl`
// is. Plain browser JavaScript, served as is: there is no build step.

const $ = (selector) => document.querySelector(selector);
const MAX_EVENTS = 200;

function element(tag, attributes = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === 'class') el.className = value;
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== false) el.setAttribute(key, value === true ? '' : value);
  }
  el.append(...children.filter((c) => c !== undefined && c !== null));
  return el;
}

/** One WebSocket to cmdctl: requests resolve with their [rcode, value]; events go to `onEvent`. */
class Gateway {
  constructor(onEvent, onClose) {
    this.nextId = 0;
    this.pending = new Map();
    this.onEvent = onEvent;
    this.onClose = onClose;
  }

  open() {
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

  /** Closes the socket on purpose: that is not reported as a lost connection. */
  close() {
    const ws = this.ws;
    this.ws = undefined;
    ws?.close();
  }
}

/** Reads an input built by `inputFor` back into a value of the item's type; throws with a message for the field. */
function valueOf(input, type) {
  const text = input.value.trim();
  switch (type) {
    case 'boolean':
      return input.checked;
    case 'integer':
      if (!/^-?\d+$/.test(text)) throw new Error('must be a whole number');
      return Number(text);
    case 'real':
      if (text === '' || Number.isNaN(Number(text))) throw new Error('must be a number');
      return Number(text);
    case 'string':
      return input.value;
    default:
      try {
        return JSON.parse(text);
      } catch {
        throw new Error('must be JSON');
      }
  }
}

function showValue(input, type, value) {
  if (type === 'boolean') input.checked = value === true;
  else if (type === 'integer' || type === 'real' || type === 'string') input.value = value ?? '';
  else input.value = value === undefined ? '' : JSON.stringify(value, null, 1);
}

function inputFor(item, name) {
  const type = item.item_type;
  const input =
    type === 'boolean'
      ? element('input', { type: 'checkbox', name })
      : type === 'integer' || type === 'real' || type === 'string'
        ? element('input', { type: type === 'string' ? 'text' : 'number', step: type === 'real' ? 'any' : undefined, name })
        : element('textarea', { name, rows: 2 });
  showValue(input, type, item.item_default);
  return input;
}

class Console {
  constructor() {
    this.specs = {};
    this.fields = new Map();
    this.rows = new Map();
    this.gateway = new Gateway(
      (event) => this.onEvent(event),
      (reason) => this.disconnected(reason),
    );
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

  showLogin(message = '') {
    $('#console').hidden = true;
    $('#logout').hidden = true;
    $('#login').hidden = false;
    $('#login-error').textContent = message;
    $('#status').textContent = 'not logged in';
  }

  async login(form) {
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
    try {
      await this.connect();
    } catch (err) {
      this.showLogin(err.message);
    }
  }

  async logout() {
    this.gateway.close();
    await fetch('/logout', { method: 'POST' });
    this.showLogin();
  }

  /** cmdctl closes the socket with the reason when the login ends (expired, account removed). */
  disconnected(reason) {
    $('#status').textContent = 'connection to cmdctl lost';
    this.showLogin(reason ? `cmdctl closed the connection: ${reason}. Log in again.` : 'The connection to cmdctl was lost: log in again.');
  }

  async connect() {
    await this.gateway.open();
    $('#login').hidden = true;
    $('#console').hidden = false;
    $('#logout').hidden = false;
    $('#status').textContent = 'connected';
    await this.gateway.request({ events: true });
    await Promise.all([this.loadProcesses(), this.loadSpecs()]);
  }

  async loadProcesses() {
    const [rcode, rows] = await this.gateway.request({ module: 'Boss', command: 'show_processes' });
    if (rcode !== 0) {
      $('#status').textContent = `the boss does not answer: ${rows}`;
      return;
    }
    const now = Date.now();
    for (const row of rows) this.showComponent({ ...row, since: row.uptime === null ? null : now - row.uptime * 1000 });
  }

  showComponent(c) {
    let row = this.rows.get(c.name);
    if (!row) {
      const restart = element('button', { type: 'button', onclick: () => void this.restart(c.name) }, 'Restart');
      row = {
        tr: element('tr', { 'data-component': c.name }, element('td', {}, c.name), element('td', { class: 'state' }), element('td', { class: 'pid' }),
          element('td', { class: 'restarts' }), element('td', { class: 'uptime' }), element('td', {}, c.name === 'msgq' ? '' : restart)),
        since: null,
      };
      this.rows.set(c.name, row);
      $('#components tbody').append(row.tr);
    }
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
    const fieldset = element('fieldset', { 'data-module': spec.module_name }, element('legend', {}, spec.module_name));
    for (const item of spec.config_data) {
      const target = `${spec.module_name}/${item.item_name}`;
      const input = inputFor(item, target);
      input.dataset.target = target;
      const error = element('span', { class: 'error', 'data-error-for': target });
      const form = element('form', { class: 'field' },
        element('label', { for: target }, item.item_name), input,
        element('button', { type: 'submit' }, 'Save'), error,
        item.item_description ? element('span', { class: 'description' }, item.item_description) : undefined);
      input.id = target;
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        void this.save(target, item, input, error);
      });
      this.fields.set(target, { item, input, error });
      fieldset.append(form);
    }
    return fieldset;
  }

  async save(target, item, input, error) {
    error.className = 'error';
    let value;
    try {
      value = valueOf(input, item.item_type);
    } catch (err) {
      error.textContent = err.message;
      return;
    }
    error.textContent = 'saving…';
    const [rcode, message] = await this.gateway.request({ config: 'set', target, value });
    if (rcode === 0) {
      error.className = 'saved';
      error.textContent = 'saved';
    } else {
      error.textContent = message;
    }
  }

  async loadConfig(module) {
    const [rcode, config] = await this.gateway.request({ config: 'show', target: module });
    if (rcode !== 0) return;
    for (const [target, field] of this.fields) {
      if (!target.startsWith(`${module}/`) || document.activeElement === field.input) continue;
      showValue(field.input, field.item.item_type, config[target.slice(module.length + 1)]);
    }
  }

  commandForms(spec) {
    const fieldset = element('fieldset', { 'data-module': spec.module_name }, element('legend', {}, spec.module_name));
    for (const command of spec.commands) {
      const inputs = command.command_args.map((arg) => [arg, inputFor(arg, `${spec.module_name}.${command.command_name}.${arg.item_name}`)]);
      const result = element('pre', { class: 'result', hidden: true });
      const form = element('form', { class: 'command', 'data-command': `${spec.module_name} ${command.command_name}` },
        element('button', { type: 'submit' }, command.command_name), ' ',
        ...inputs.flatMap(([arg, input]) => [element('label', {}, `${arg.item_name} `, input), ' ']),
        command.command_description ? element('span', { class: 'description' }, ` ${command.command_description}`) : undefined,
        result);
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        void this.run(spec.module_name, command.command_name, inputs, result);
      });
      fieldset.append(form);
    }
    return fieldset;
  }

  async run(module, command, inputs, result) {
    result.hidden = false;
    const args = {};
    try {
      for (const [arg, input] of inputs) args[arg.item_name] = valueOf(input, arg.item_type);
    } catch (err) {
      result.textContent = err.message;
      return;
    }
    const [rcode, value] = await this.gateway.request(inputs.length > 0 ? { module, command, args } : { module, command });
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
