// charts.js - the ECharts helpers every page uses. A chart is made from a
// build(ctx) function rather than a fixed option, so that a change of theme,
// palette or language rebuilds every live chart with the right colours and
// words. Charts start once their box has a size (a ResizeObserver also keeps
// them sized to their box), and the router disposes all of them on a page
// change. window.echarts comes from the vendored UMD script in index.html.
//
// Every chart also has a data-table alternative (a canvas says nothing to a
// screen reader, and a reader may want the numbers): a "Show as table"
// button right after the chart opens a table derived from the chart's own
// option (bar and line series by category or x value, pie slices with
// their shares, heat-map cells, scatter points), so no page writes its
// tables twice; a chart whose option does not say what it means (a
// confusion matrix drawn as shares but read as counts) may give its own
// with chart(el, build, {table}).

import { h, clear, uid } from './dom.js';
import { t, language, onLanguageChange } from './i18n.js';
import { fmtNum, fmtPct, fmtInt } from './format.js';
import { scrollRegion } from './ui.js';

export const PALETTES = {
  default: ['#4e79e6', '#3dbb8f', '#f2b138', '#e8615a', '#5ec4e5', '#9b6fd6', '#f08a4b', '#7b8ca8', '#e878b8'],
  vivid: ['#4361ee', '#f72585', '#06d6a0', '#ffb703', '#7209b7', '#4cc9f0', '#fb8500', '#ef476f', '#3a0ca3'],
  colorblind: ['#0072b2', '#e69f00', '#009e73', '#d55e00', '#56b4e9', '#cc79a7', '#f0e442', '#999999'],
  pastel: ['#7eb6d9', '#f4a6a0', '#a7d49b', '#c5a8da', '#f6cf71', '#9ec5f8', '#f3a76b', '#b6c2cf'],
  earth: ['#8c510a', '#35978f', '#bf812d', '#01665e', '#dfc27d', '#80cdc1', '#a6611a', '#5e8c31'],
};

let paletteName = 'default';
const live = new Set();

export const paletteColors = (name = paletteName) => PALETTES[name] || PALETTES.default;
export const isDark = () => document.documentElement.getAttribute('data-bs-theme') === 'dark';

export function setPalette(name) {
  const next = PALETTES[name] ? name : 'default';
  if (next === paletteName) return;
  paletteName = next;
  refreshCharts();
}

function ctx() {
  const dark = isDark();
  return {
    colors: paletteColors(),
    dark,
    text: dark ? '#c9d1d9' : '#3b4252',
    muted: dark ? '#8b949e' : '#6c757d',
    grid: dark ? 'rgba(255,255,255,0.08)' : 'rgba(0,0,0,0.07)',
    t,
  };
}

function base(c) {
  return {
    backgroundColor: 'transparent',
    color: c.colors,
    textStyle: { fontFamily: getComputedStyle(document.body).fontFamily },
    animationDuration: 400,
  };
}

function start(entry) {
  const { el } = entry;
  if (entry.inst || !el.isConnected || !el.clientWidth || !el.clientHeight) return;
  entry.inst = window.echarts.init(el, isDark() ? 'dark' : null, {
    renderer: 'canvas',
    locale: language() === 'zh-CN' ? 'ZH' : 'EN',
  });
  const c = ctx();
  entry.inst.setOption({ ...base(c), ...entry.build(c) });
  entry.onInit?.(entry.inst);
  drawTable(entry);
}

/* chart(el, build, {onInit, table}) -> handle {instance(), update(partial),
 * rebuild()}. build(ctx) returns the whole ECharts option; ctx has colors,
 * dark, text, muted, grid and t. table(option), when given, returns the
 * chart's data table ({columns, rows}, or null: no data) instead of the
 * one derived from the option. */
export function chart(el, build, { onInit, table } = {}) {
  const entry = { el, build, onInit, table, inst: null, ro: null, tableUi: null };
  entry.ro = new ResizeObserver(() => {
    if (!entry.inst) start(entry);
    else entry.inst.resize();
  });
  entry.ro.observe(el);
  live.add(entry);
  attachTable(entry);
  start(entry);
  return {
    instance: () => entry.inst,
    update(partial) { entry.inst?.setOption(partial); drawTable(entry); },
    rebuild(nextBuild) {
      if (nextBuild) entry.build = nextBuild;
      if (!entry.inst) { start(entry); drawTable(entry); return; }
      const c = ctx();
      entry.inst.setOption({ ...base(c), ...entry.build(c) }, { notMerge: true });
      drawTable(entry);
    },
    dispose() { dispose(entry); },
  };
}

function dispose(entry) {
  entry.ro?.disconnect();
  entry.inst?.dispose();
  entry.inst = null;
  entry.tableUi?.host.remove();
  entry.tableUi = null;
  live.delete(entry);
}

/* ---- the data table of a chart ------------------------------------------------ */

// Past this many rows (a scatter of a big batch) the table shows the first
// ones and says how many there are.
export const TABLE_MAX_ROWS = 500;

const list = (x) => (Array.isArray(x) ? x : x ? [x] : []);
const valueOf = (d) => (d !== null && typeof d === 'object' && !Array.isArray(d) ? d.value : d);
const cellText = (v) => (typeof v === 'number' ? (Number.isInteger(v) ? fmtInt(v) : fmtNum(v)) : v === null || v === undefined || v === '-' ? '—' : String(v));

/* Bars and lines: a row per category (or per x value when the x axis is a
 * value axis and the data are [x, y] pairs), a column per series. */
function seriesTable(xa, ya, series) {
  const names = series.map((s) => s.name || t('chart.table.value'));
  const cat = xa.type === 'category' ? xa : ya.type === 'category' ? ya : null;
  if (cat) {
    return {
      columns: [cat.name || t('chart.table.category'), ...names],
      rows: list(cat.data).map((c, i) => [valueOf(c), ...series.map((s) => valueOf(list(s.data)[i]))]),
    };
  }
  const byX = new Map();
  series.forEach((s, k) => {
    for (const d of list(s.data)) {
      const v = valueOf(d);
      if (!Array.isArray(v)) continue;
      if (!byX.has(v[0])) byX.set(v[0], new Array(series.length).fill(null));
      byX.get(v[0])[k] = v[1];
    }
  });
  return { columns: [xa.name || t('chart.table.x'), ...names], rows: [...byX].map(([x, ys]) => [x, ...ys]) };
}

function pieTable(s) {
  const data = list(s.data);
  const total = data.reduce((a, d) => a + (Number(valueOf(d)) || 0), 0) || 1;
  return {
    columns: [t('chart.table.category'), s.name || t('chart.table.value'), t('chart.table.share')],
    rows: data.map((d) => [d.name, valueOf(d), fmtPct((Number(valueOf(d)) || 0) / total)]),
  };
}

/* A heat map: the y categories down, the x categories across. */
function heatmapTable(xa, ya, s) {
  const xs = list(xa.data).map(valueOf);
  const ys = list(ya.data).map(valueOf);
  const at = s.encode?.value ?? 2;
  const grid = ys.map(() => xs.map(() => null));
  for (const d of list(s.data)) {
    const v = valueOf(d);
    if (Array.isArray(v) && grid[v[1]]) grid[v[1]][v[0]] = v[at];
  }
  return { columns: [ya.name || '', ...xs], rows: ys.map((y, i) => [y, ...grid[i]]) };
}

function scatterTable(xa, ya, series) {
  const rows = [];
  for (const s of series) for (const d of list(s.data)) { const v = valueOf(d); if (Array.isArray(v)) rows.push([s.name || '', v[0], v[1]]); }
  return { columns: [t('chart.table.series'), xa.name || t('chart.table.x'), ya.name || t('chart.table.y')], rows };
}

/* The table of an ECharts option: {columns, rows} or null (nothing drawn). */
export function optionTable(option) {
  const series = list(option?.series).filter((s) => s && list(s.data).length);
  if (!series.length) return null;
  const xa = list(option.xAxis)[0] || {};
  const ya = list(option.yAxis)[0] || {};
  const pie = series.find((s) => s.type === 'pie');
  if (pie) return pieTable(pie);
  const heat = series.find((s) => s.type === 'heatmap');
  if (heat) return heatmapTable(xa, ya, heat);
  if (series.some((s) => s.type === 'scatter')) return scatterTable(xa, ya, series.filter((s) => s.type === 'scatter'));
  return seriesTable(xa, ya, series.filter((s) => s.type === 'bar' || s.type === 'line'));
}

/* The option as drawn (with the live updates), else as built. */
function currentOption(entry) {
  return entry.inst ? entry.inst.getOption() : entry.build(ctx());
}

/* The toggle and the table's region, right after the chart box (once the
 * box is in a parent). */
function attachTable(entry) {
  const { el } = entry;
  if (entry.tableUi || !el.parentNode) return;
  const id = uid('chart-table');
  const base = el.dataset.testid;
  const region = scrollRegion(t('chart.table.title'), null, {
    cls: 'table-responsive.table-scroll.chart-table-region', id, hidden: true, testid: base && `${base}-table`,
  });
  const toggle = h('button.btn.btn-link.btn-sm.chart-table-toggle', {
    type: 'button', 'aria-expanded': 'false', 'aria-controls': id, testid: base && `${base}-table-toggle`,
    on: { click: () => { entry.tableUi.open = !entry.tableUi.open; drawTable(entry); } },
  });
  const host = h('div.chart-table', toggle, region);
  el.after(host);
  entry.tableUi = { host, toggle, region, open: false };
  drawTable(entry);
}

function drawTable(entry) {
  attachTable(entry);
  const ui = entry.tableUi;
  if (!ui) return;
  const name = entry.el.getAttribute('aria-label') || t('chart.table.title');
  ui.toggle.textContent = t(ui.open ? 'chart.table.hide' : 'chart.table.show');
  ui.toggle.setAttribute('aria-expanded', String(ui.open));
  ui.region.setAttribute('aria-label', name);
  ui.region.hidden = !ui.open;
  if (!ui.open) { clear(ui.region); return; }
  let data = null;
  try {
    const option = currentOption(entry);
    data = entry.table ? entry.table(option) : optionTable(option);
  } catch (e) { console.error(e); data = null; } // a chart the derivation does not know: said, not thrown into the chart
  if (!data || !data.rows.length) { clear(ui.region, h('p.small.text-body-secondary.mb-0', t('common.noData'))); return; }
  const shown = data.rows.slice(0, TABLE_MAX_ROWS);
  const { scrollTop, scrollLeft } = ui.region; // a live chart redraws it: the reader keeps their place
  clear(ui.region,
    h('table.table.table-sm.mb-0.num-table',
      h('caption.visually-hidden', name),
      h('thead', h('tr', data.columns.map((c, i) => h(i ? 'th.text-end' : 'th', { scope: 'col' }, cellText(c))))),
      h('tbody', shown.map((r) => h('tr', r.map((v, i) => (i ? h('td.text-end', cellText(v)) : h('th.fw-medium', { scope: 'row' }, cellText(v)))))))),
    data.rows.length > shown.length && h('p.small.text-body-secondary.mt-1.mb-0', t('chart.table.more', { shown: fmtInt(shown.length), total: fmtInt(data.rows.length) })));
  ui.region.scrollTop = scrollTop;
  ui.region.scrollLeft = scrollLeft;
}

onLanguageChange(() => { for (const entry of live) drawTable(entry); });

/* Re-creates every live chart (theme, palette or language changed). */
export function refreshCharts() {
  for (const entry of live) {
    entry.inst?.dispose();
    entry.inst = null;
    start(entry);
  }
}

/* Disposes the charts that are no longer in the document (page change). */
export function disposeDetached() {
  for (const entry of Array.from(live)) if (!entry.el.isConnected) dispose(entry);
}

export function disposeAll() {
  for (const entry of Array.from(live)) dispose(entry);
}

/* ---- option pieces shared by the pages ---------------------------------------- */

export function toolbox(name, { zoom = false, restore = zoom } = {}) {
  const feature = {};
  if (zoom) feature.dataZoom = { title: { zoom: t('chart.zoom'), back: t('chart.zoomBack') } };
  if (restore) feature.restore = { title: t('chart.restore') };
  feature.saveAsImage = { title: t('chart.save'), name, pixelRatio: 2 };
  return { right: 8, top: 0, itemSize: 14, feature };
}

export function axisStyle(c) {
  return {
    axisLine: { lineStyle: { color: c.grid } },
    axisLabel: { color: c.muted },
    splitLine: { lineStyle: { color: c.grid } },
    nameTextStyle: { color: c.muted },
  };
}

/* What a chart shows when it has nothing to draw: a centred message. */
export function emptyOption(c, message) {
  return {
    graphic: [{
      type: 'text',
      left: 'center',
      top: 'middle',
      style: { text: message, fill: c.muted, fontSize: 14 },
    }],
  };
}

/* Horizontal-scroll and mouse-wheel zoom for long category axes. */
export function categoryZoom(count, visible = 30, axis = 'x') {
  if (count <= visible) return [];
  const end = Math.max(1, Math.round((visible / count) * 100));
  const key = axis === 'x' ? 'xAxisIndex' : 'yAxisIndex';
  const slider = axis === 'x' ? { type: 'slider', height: 16, bottom: 4, [key]: 0, start: 0, end }
    : { type: 'slider', width: 14, right: 4, [key]: 0, start: 0, end };
  return [{ type: 'inside', [key]: 0, start: 0, end }, slider];
}

/* Category labels are turned when they would not fit side by side. */
export const rotateFor = (names) => (names.length * Math.max(0, ...names.map((n) => String(n).length)) > 36 ? 30 : 0);
