// The Zones view: auth's zone store through its commands (zones,
// zone_records, zone_load, zone_drop; docs/dns.md).

import { confirmed, element } from './dom.js';

/** Waits this long after the last key before asking auth for the records that match. */
const SEARCH_DELAY_MS = 250;
/** Records shown at once: a search narrows them. */
const RECORDS_SHOWN = 200;
const RECORD_COLUMNS = ['name', 'ttl', 'class', 'type', 'data'];

export class ZonesView {
  constructor(gateway) {
    this.gateway = gateway;
    this.root = document.querySelector('#zones');
    this.list = this.root.querySelector('.zone-list');
    this.status = this.root.querySelector('.zones-status');
    this.records = this.root.querySelector('.zone-records');
    this.searchInput = this.records.querySelector('input[type=search]');
    this.loadForm = this.root.querySelector('form.zone-load');
    this.root.querySelector('button.refresh').addEventListener('click', () => void this.refresh());
    this.loadForm.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.load();
    });
    this.searchInput.addEventListener('input', () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => void this.showRecords(), SEARCH_DELAY_MS);
    });
    this.shown = undefined;
  }

  async ask(command, args) {
    return this.gateway.request(args ? { module: 'Auth', command, args } : { module: 'Auth', command });
  }

  async refresh() {
    const [rcode, zones] = await this.ask('zones');
    if (rcode !== 0) {
      this.status.textContent = rcode === -1 ? 'auth is not running: its zones cannot be read' : `auth does not answer: ${zones}`;
      return;
    }
    this.status.textContent = zones.length === 0 ? 'no zones in the store: load a master file below' : '';
    this.list.replaceChildren(...zones.map((z) => this.zoneRow(z)));
    if (this.shown && !zones.some((z) => z.origin === this.shown)) this.closeRecords();
  }

  zoneRow(z) {
    return element('tr', { 'data-zone': z.origin },
      element('td', { 'data-column': 'origin' }, z.origin),
      element('td', { 'data-column': 'serial' }, String(z.serial)),
      element('td', { 'data-column': 'records' }, String(z.records)),
      element('td', { 'data-column': 'loaded_at' }, new Date(z.loaded_at).toLocaleString()),
      element('td', { 'data-column': 'served' }, z.served ? 'yes' : 'no'),
      element('td', {},
        element('button', { type: 'button', onclick: () => void this.openRecords(z.origin) }, 'Records'), ' ',
        element('button', { type: 'button', class: 'danger', onclick: () => void this.drop(z.origin) }, 'Drop')));
  }

  async openRecords(origin) {
    this.shown = origin;
    this.records.hidden = false;
    this.records.querySelector('.zone-name').textContent = origin;
    this.searchInput.value = '';
    await this.showRecords();
  }

  closeRecords() {
    this.shown = undefined;
    this.records.hidden = true;
  }

  async showRecords() {
    const origin = this.shown;
    if (!origin) return;
    const search = this.searchInput.value.trim();
    const [rcode, answer] = await this.ask('zone_records', { origin, search, limit: RECORDS_SHOWN });
    // A later search, or another zone, may have been asked for meanwhile.
    if (origin !== this.shown || search !== this.searchInput.value.trim()) return;
    const note = this.records.querySelector('.records-note');
    const body = this.records.querySelector('tbody');
    if (rcode !== 0) {
      note.textContent = String(answer);
      body.replaceChildren();
      return;
    }
    body.replaceChildren(...answer.records.map((line) => {
      // A master-file line: name, TTL, class, type, then the data (which may hold tabs of its own).
      const [name, ttl, klass, type, ...data] = line.split('\t');
      return element('tr', {}, ...[name, ttl, klass, type, data.join('\t')].map((text, i) => element('td', { 'data-column': RECORD_COLUMNS[i] }, text)));
    }));
    note.textContent = answer.more
      ? `the first ${answer.records.length} records${search ? ' that match' : ''}: search to narrow them`
      : `${answer.records.length} record${answer.records.length === 1 ? '' : 's'}${search ? ' match' : ''}`;
  }

  /** Reads the chosen file in the browser and sends its text: auth parses and stores it, or says which line is wrong. */
  async load() {
    const form = this.loadForm;
    const result = form.querySelector('.load-result');
    const origin = form.elements.origin.value.trim();
    const file = form.elements.file.files[0];
    result.className = 'load-result error';
    if (!origin) return void (result.textContent = 'origin: required');
    if (!file) return void (result.textContent = 'choose a master file');
    result.textContent = 'loading…';
    const [rcode, answer] = await this.ask('zone_load', { origin, text: await file.text() });
    if (rcode !== 0) {
      result.textContent = `${file.name}: ${String(answer).replace(/^\(sent\)/, 'line')}`;
      return;
    }
    result.className = 'load-result saved';
    result.textContent = [`${answer.origin}: ${answer.records} records loaded and served`, ...answer.warnings.map((w) => `warning: ${w.replace(/^\(sent\)/, 'line')}`)].join('\n');
    await this.refresh();
    if (this.shown === answer.origin) await this.showRecords();
  }

  async drop(origin) {
    if (!(await confirmed([`Drop ${origin}? It is removed from the zone store with its journal, and auth answers REFUSED for its names from then on.`, `Drop ${origin}`]))) return;
    const [rcode, answer] = await this.ask('zone_drop', { origin });
    await this.refresh();
    const said = rcode === 0 ? `${origin} dropped` : `${origin} not dropped: ${answer}`;
    this.status.textContent = [said, this.status.textContent].filter(Boolean).join('; ');
  }
}
