// charts.js - the ECharts helpers every page uses. A chart is made from a
// build(ctx) function rather than a fixed option, so that a change of theme,
// palette or language rebuilds every live chart with the right colours and
// words. Charts start once their box has a size (a ResizeObserver also keeps
// them sized to their box), and the router disposes all of them on a page
// change. window.echarts comes from the vendored UMD script in index.html.

import { t, language } from './i18n.js';

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
}

/* chart(el, build, {onInit}) -> handle {instance(), update(partial), rebuild()}.
 * build(ctx) returns the whole ECharts option; ctx has colors, dark, text,
 * muted, grid and t. */
export function chart(el, build, { onInit } = {}) {
  const entry = { el, build, onInit, inst: null, ro: null };
  entry.ro = new ResizeObserver(() => {
    if (!entry.inst) start(entry);
    else entry.inst.resize();
  });
  entry.ro.observe(el);
  live.add(entry);
  start(entry);
  return {
    instance: () => entry.inst,
    update(partial) { entry.inst?.setOption(partial); },
    rebuild(nextBuild) {
      if (nextBuild) entry.build = nextBuild;
      if (!entry.inst) { start(entry); return; }
      const c = ctx();
      entry.inst.setOption({ ...base(c), ...entry.build(c) }, { notMerge: true });
    },
    dispose() { dispose(entry); },
  };
}

function dispose(entry) {
  entry.ro?.disconnect();
  entry.inst?.dispose();
  entry.inst = null;
  live.delete(entry);
}

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
