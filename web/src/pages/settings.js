// pages/settings.js - #/settings: the look of the UI for this user -
// language, theme, chart palette and density. Each change applies at once
// and is saved to the user's preferences on the server (ctx.prefs).

import { h } from '../dom.js';
import { t, LANGUAGES } from '../i18n.js';
import { PALETTES, chart, axisStyle } from '../charts.js';
import { pageHeader, card, field, select, toast } from '../ui.js';

function swatches(name) {
  return h('span.swatches', { 'aria-hidden': 'true' }, PALETTES[name].slice(0, 6).map((c) => h('span.swatch', { style: { background: c } })));
}

function bind(prefs, control, key, after) {
  control.addEventListener('change', () => {
    prefs.set({ [key]: control.value });
    after?.(control.value);
    toast(t('settings.saved'), { timeout: 2500 });
  });
  return control;
}

function markPalette(list, name) {
  for (const b of list.children) {
    const on = b.dataset.palette === name;
    b.classList.toggle('active', on);
    b.setAttribute('aria-pressed', String(on));
  }
}

export async function render(view, ctx) {
  const { prefs } = ctx;
  const previewEl = h('div.chart.chart-small', { testid: 'chart-palette-preview', role: 'img', 'aria-label': t('settings.preview') });
  const language = bind(prefs, select(LANGUAGES.map((l) => ({ value: l.code, label: l.name })), { value: prefs.get('language'), testid: 'settings-language' }), 'language');
  const theme = bind(prefs, select(['light', 'dark', 'auto'].map((v) => ({ value: v, label: t(`settings.theme.${v}`) })), { value: prefs.get('theme'), testid: 'theme-select' }), 'theme');
  const density = bind(prefs, select(['comfortable', 'compact'].map((v) => ({ value: v, label: t(`settings.density.${v}`) })), { value: prefs.get('density'), testid: 'density-select' }), 'density');

  const preview = h('div.palette-list', Object.keys(PALETTES).map((name) => h(`button.palette-option${prefs.get('palette') === name ? '.active' : ''}`, {
    type: 'button', 'aria-pressed': String(prefs.get('palette') === name), 'aria-label': t(`settings.palette.${name}`), dataset: { palette: name },
    on: { click: () => { palette.value = name; palette.dispatchEvent(new Event('change')); } },
  }, swatches(name), h('span', t(`settings.palette.${name}`)))));

  const palette = bind(prefs, select(Object.keys(PALETTES).map((v) => ({ value: v, label: t(`settings.palette.${v}`) })), { value: prefs.get('palette'), testid: 'palette-select' }), 'palette',
    (name) => markPalette(preview, name));

  view.append(pageHeader(t('settings.title'), { subtitle: t('settings.subtitle') }),
    h('div.row.g-4',
      h('div.col-lg-7.d-flex.flex-column.gap-4',
        card(t('settings.languageCard'), field(t('settings.language'), language, { help: t('settings.languageHelp'), cls: 'mb-0' })),
        card(t('settings.appearance'), [
          field(t('settings.themeLabel'), theme, { help: t('settings.themeHelp') }),
          field(t('settings.densityLabel'), density, { help: t('settings.densityHelp'), cls: 'mb-0' }),
        ]),
        card(t('settings.charts'), [field(t('settings.paletteLabel'), palette, { help: t('settings.paletteHelp') }), preview])),
      h('div.col-lg-5.d-flex.flex-column.gap-4',
        card(t('settings.preview'), previewEl),
        card(t('settings.aboutCard'), h('p.mb-0.small.text-body-secondary', t('settings.about'))))));
  previewChart(previewEl);
}

/* A small chart in the current theme and palette, redrawn by charts.js
 * whenever either changes. */
function previewChart(el) {
  const values = [42, 31, 24, 18, 12, 7];
  chart(el, (c) => ({
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    grid: { left: 8, right: 8, top: 16, bottom: 8, containLabel: true },
    xAxis: { type: 'category', data: values.map((_, i) => t('settings.previewClass', { n: i + 1 })), ...axisStyle(c) },
    yAxis: { type: 'value', ...axisStyle(c) },
    series: [{ type: 'bar', data: values.map((v, i) => ({ value: v, itemStyle: { color: c.colors[i % c.colors.length], borderRadius: [4, 4, 0, 0] } })) }],
  }));
}
