// The console's dashboard: auth's rates by rcode and per zone, drawn with
// uPlot, and the transfers and restarts, all from Stats' `show`.

import uPlot from './uPlot.esm.js';
import { element, tableOf } from './dom.js';
import { byRcode, byZone, RateHistory } from './rates.js';

const $ = (selector) => document.querySelector(selector);

/**
 * How often the dashboard asks Stats for its figures. Stats polls the
 * modules every poll_interval (5 s by default); an answer no newer than the
 * last adds no point, so asking more often only makes points come sooner.
 */
const DASHBOARD_POLL_MS = 2000;
const CHART_HEIGHT = 180;
const PALETTE = ['#1d3557', '#b3261e', '#1b7f3b', '#b36b00', '#6a4c93', '#00838f', '#8d6e63', '#c2185b'];

/**
 * One live chart of rates: each Stats reading of Auth adds a point per line.
 * The uPlot instance (`plot`) is made again when a line appears, since its
 * series are fixed at creation.
 */
class RateChart {
  constructor(container, pick) {
    this.container = container;
    this.pick = pick;
    this.history = new RateHistory();
    this.plot = undefined;
    this.drawn = '';
    this.waiting();
    new ResizeObserver(() => this.plot?.setSize({ width: this.width(), height: CHART_HEIGHT })).observe(container);
  }

  /** A rate needs two readings: until then the chart says so rather than stay blank. */
  waiting() {
    this.container.replaceChildren(element('p', { class: 'hint' }, 'waiting for two readings from Stats'));
  }

  width() {
    return Math.max(200, this.container.clientWidth);
  }

  /** Auth's figures as Stats shows them: {statistics, updated}. */
  add(figures) {
    if (!this.history.add(figures.updated, this.pick(figures.statistics))) return;
    const names = this.history.names;
    if (this.plot && names.join('\n') === this.drawn) {
      this.plot.setData(this.history.data);
      return;
    }
    this.plot?.destroy();
    this.container.replaceChildren();
    this.drawn = names.join('\n');
    this.plot = new uPlot({
      width: this.width(),
      height: CHART_HEIGHT,
      series: [{}, ...names.map((label, i) => ({ label, stroke: PALETTE[i % PALETTE.length], width: 2, value: (u, v) => (v === null ? '–' : v.toFixed(1)) }))],
      scales: { y: { range: (u, min, max) => [0, Math.max(1, max)] } },
      axes: [{}, { size: 50 }],
    }, this.history.data, this.container);
  }

  clear() {
    this.plot?.destroy();
    this.plot = undefined;
    this.drawn = '';
    this.history = new RateHistory();
    this.waiting();
  }
}

/** The dashboard: rates by rcode and per zone, transfers and restarts, from Stats' `show`, asked every DASHBOARD_POLL_MS. */
export class Dashboard {
  constructor(gateway) {
    this.gateway = gateway;
    this.rcode = new RateChart($('#chart-rcode'), byRcode);
    this.zones = new RateChart($('#chart-zones'), byZone);
    // The tests read the plotted points here.
    window.b10Dashboard = this;
  }

  start() {
    this.stop();
    void this.poll(this.run);
  }

  /** Ends the polling: a poll of an earlier run that is still waiting for its answer then does nothing. */
  stop() {
    this.run = (this.run ?? 0) + 1;
    clearTimeout(this.timer);
    this.rcode.clear();
    this.zones.clear();
  }

  async poll(run) {
    const [rcode, figures] = await this.gateway.request({ module: 'Stats', command: 'show' });
    if (run !== this.run) return;
    if (rcode === 0) this.show(figures);
    else $('#stats-status').textContent = `Stats does not answer: ${figures}`;
    this.timer = setTimeout(() => void this.poll(run), DASHBOARD_POLL_MS);
  }

  show(figures) {
    const auth = figures.Auth;
    $('#stats-status').textContent = !auth ? 'no figures from Auth yet' : auth.stale ? `Auth's figures are old: ${auth.reason}` : '';
    if (auth) {
      this.rcode.add(auth);
      this.zones.add(auth);
    }
    const transfers = [
      ...rowsOf(figures.Xfrin).map((row) => ({ direction: 'in', ...row })),
      ...rowsOf(figures.Xfrout).map((row) => ({ direction: 'out', ...row })),
    ];
    $('#transfers').replaceChildren(transfers.length > 0 ? tableOf(transfers) : element('p', { class: 'hint' }, 'no transfers yet'));
    const components = figures.Boss?.statistics?.components ?? {};
    const restarts = Object.entries(components).map(([component, c]) => ({ component, state: c.state, restarts: c.restarts }));
    $('#restarts').replaceChildren(restarts.length > 0 ? tableOf(restarts) : element('p', { class: 'hint' }, 'no figures from the boss yet'));
  }
}

function rowsOf(figures) {
  const rows = figures?.statistics?.transfers;
  return Array.isArray(rows) ? rows : [];
}
