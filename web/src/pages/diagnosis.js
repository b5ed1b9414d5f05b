// pages/diagnosis.js - #/diagnoses/ID: the results of a diagnosis. The class
// distribution (bar or pie), the confidence histogram and a 2-D PCA scatter
// of the samples coloured by predicted class, from the diagnoses client's
// projection() (max_points=5000, so large results stay fluid: the server samples, the
// scatter uses ECharts' large mode, and the page says when it is sampled);
// then the sortable, paginated results table and the downloads. With
// labels in the input, the evaluation against them is shown too; with 50
// samples or more, whether they drifted from the training data
// (views/drift.js); when the user asked for it, what adapting the
// predictions to the batch's class mix did (views/adapt.js). Last, the rows
// to label and "Retrain with my corrections" (views/feedback.js).
// A drifted batch gets a banner naming its worst KPIs (views/drift.js); a
// results row or a scatter point opens its sample (pages/sample.js). A
// diagnosis of a few samples (views/verdict.js FEW_SAMPLES) shows a verdict
// card per sample instead of the charts and the table. The results can be
// filtered (views/results-filters.js; the filters stay in the hash query).

import { h, clear, esc } from '../dom.js';
import { t } from '../i18n.js';
import { chart, toolbox, axisStyle, emptyOption, rotateFor } from '../charts.js';
import { fmtInt, fmtPct, fmtDate } from '../format.js';
import { pageHeader, card, statTile, statGrid, linkButton, toast, errorAlert } from '../ui.js';
import { deleteButton, trashBanner } from '../views/trash.js';
import { panelLayout } from '../views/panels.js';
import { resultsTable, explainNoteText } from '../views/results.js';
import { perClassTable, confusionChart } from '../views/metrics.js';
import { driftCard, driftBanner, trainingCaveat } from '../views/drift.js';
import { adaptCard } from '../views/adapt.js';
import { feedbackCard } from '../views/feedback.js';
import { verdictCards, FEW_SAMPLES, sampleHref } from '../views/verdict.js';
import { sampleIds } from '../views/sample-ids.js';
import { filterBar, filtersFromQuery, filtersHash } from '../views/results-filters.js';
import { className } from '../classnames.js';

const MAX_POINTS = 5000;
const PAGE = 50;
const BINS = 20;
const LOW_CONFIDENCE = 0.6;

function classCounts(diag) {
  return diag.classes.map((c) => ({ name: className(diag, c), value: diag.class_counts?.[c] || 0 }));
}

function classesOption(c, diag, type) {
  const data = classCounts(diag);
  const total = data.reduce((a, d) => a + d.value, 0);
  if (!total) return emptyOption(c, t('common.noData'));
  const colorOf = (i) => c.colors[i % c.colors.length];
  const fmt = (v) => `${fmtInt(v)} (${fmtPct(v / total)})`;
  if (type === 'pie') {
    return {
      toolbox: toolbox('class-distribution'),
      tooltip: { trigger: 'item', formatter: (p) => `${esc(p.name)}<br>${fmt(p.value)}` },
      legend: { type: 'scroll', bottom: 0, textStyle: { color: c.text } },
      series: [{
        type: 'pie', radius: ['38%', '68%'], center: ['50%', '46%'], avoidLabelOverlap: true,
        itemStyle: { borderColor: c.dark ? '#161b22' : '#fff', borderWidth: 2, borderRadius: 6 },
        label: { color: c.text, formatter: (p) => `${p.name}\n${fmtPct(p.percent / 100)}` },
        data: data.map((d, i) => ({ ...d, itemStyle: { color: colorOf(i) } })),
      }],
    };
  }
  return {
    toolbox: toolbox('class-distribution'),
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: fmt },
    grid: { left: 8, right: 16, top: 48, bottom: 8, containLabel: true },
    xAxis: { type: 'category', data: data.map((d) => d.name), ...axisStyle(c), axisLabel: { color: c.muted, interval: 0, rotate: rotateFor(data.map((d) => d.name)) } },
    yAxis: { type: 'value', name: t('diagnosis.samples'), ...axisStyle(c) },
    series: [{
      type: 'bar', name: t('diagnosis.samples'), barMaxWidth: 48,
      data: data.map((d, i) => ({ value: d.value, itemStyle: { color: colorOf(i), borderRadius: [4, 4, 0, 0] } })),
      label: { show: data.length <= 12, position: 'top', color: c.muted, formatter: ({ value }) => fmtInt(value) },
    }],
  };
}

function histogram(points, classes) {
  const counts = classes.map(() => new Array(BINS).fill(0));
  for (const p of points) {
    const b = Math.min(BINS - 1, Math.floor(p[4] * BINS));
    if (counts[p[3]]) counts[p[3]][b]++;
  }
  return counts;
}

function confidenceOption(c, proj, diag) {
  if (!proj?.points?.length) return emptyOption(c, proj ? t('common.noData') : t('common.loading'));
  const counts = histogram(proj.points, proj.classes);
  const labels = Array.from({ length: BINS }, (_, i) => `${(i / BINS).toFixed(2)}–${((i + 1) / BINS).toFixed(2)}`);
  return {
    toolbox: toolbox('confidence-histogram', { zoom: true }),
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    legend: { type: 'scroll', bottom: 0, left: 'center', textStyle: { color: c.text } },
    grid: { left: 8, right: 16, top: 36, bottom: 56, containLabel: true },
    xAxis: { type: 'category', data: labels, name: t('diagnosis.confidence'), nameLocation: 'middle', nameGap: 26, ...axisStyle(c), axisLabel: { color: c.muted, formatter: (v) => v.split('–')[0] } },
    yAxis: { type: 'value', ...axisStyle(c) },
    dataZoom: [{ type: 'inside' }],
    series: proj.classes.map((name, k) => ({ type: 'bar', name: className(diag, name), stack: 'all', data: counts[k], barCategoryGap: '8%', itemStyle: { color: c.colors[k % c.colors.length] } })),
  };
}

function scatterOption(c, proj, diag, ids) {
  if (!proj?.points?.length) return emptyOption(c, proj ? t('diagnosis.noProjection') : t('common.loading'));
  const byClass = proj.classes.map(() => []);
  for (const p of proj.points) byClass[p[3]]?.push([p[1], p[2], p[0], p[4], p[3]]);
  const ev = proj.explained_variance || [];
  const n = proj.points.length;
  return {
    toolbox: toolbox('pca-scatter', { zoom: true }),
    tooltip: {
      trigger: 'item',
      formatter: (p, ticket, callback) => {
        const row = p.data[2];
        const text = () => {
          const id = ids.get(row);
          const who = id == null ? t('diagnosis.pointRow', { row }) : t('diagnosis.pointSample', { id, row });
          return `${esc(who)}<br>${esc(className(diag, proj.classes[p.data[4]] ?? p.seriesName))} · ${fmtPct(p.data[3])}<br><span style="opacity:.75">${esc(t('diagnosis.pointOpen'))}</span>`;
        };
        if (ids.get(row) === undefined) ids.load(row).then(() => callback(ticket, text()));
        return text();
      },
    },
    legend: { type: 'scroll', bottom: 0, left: 'center', textStyle: { color: c.text } },
    grid: { left: 40, right: 24, top: 36, bottom: 84, containLabel: true },
    xAxis: { type: 'value', name: t('diagnosis.pc', { n: 1, pct: fmtPct(ev[0]) }), nameLocation: 'middle', nameGap: 26, scale: true, ...axisStyle(c) },
    yAxis: { type: 'value', name: t('diagnosis.pc', { n: 2, pct: fmtPct(ev[1]) }), nameLocation: 'middle', nameRotate: 90, nameGap: 36, scale: true, ...axisStyle(c) },
    dataZoom: [
      { type: 'inside', xAxisIndex: 0, filterMode: 'empty' }, { type: 'inside', yAxisIndex: 0, filterMode: 'empty' },
      { type: 'slider', xAxisIndex: 0, height: 14, bottom: 30, filterMode: 'empty' },
    ],
    series: proj.classes.map((name, k) => ({
      type: 'scatter', name: className(diag, name), data: byClass[k], symbolSize: n > 2000 ? 4 : 7,
      large: n > 2000, largeThreshold: 2000, progressive: 4000,
      itemStyle: { color: c.colors[k % c.colors.length], opacity: 0.75 },
      emphasis: { focus: 'series' },
    })),
  };
}

/* Why some rows carry no top KPIs, when not every row was explained. */
function explainNote(diag) {
  const text = explainNoteText(diag);
  return text && h('div.small.text-body-secondary.mb-2', { testid: 'results-explain-skipped', dataset: { reason: diag.explain_skipped.reason } }, text);
}

function summaryTiles(diag, proj) {
  const counts = classCounts(diag).sort((a, b) => b.value - a.value);
  const top = counts[0];
  const conf = proj?.points?.map((p) => p[4]) || [];
  const mean = conf.length ? conf.reduce((a, b) => a + b, 0) / conf.length : null;
  const low = conf.length ? conf.filter((x) => x < LOW_CONFIDENCE).length / conf.length : null;
  const m = diag.metrics;
  return statGrid(
    statTile(t('diagnosis.rows'), fmtInt(diag.rows), { testid: 'diagnosis-rows' }),
    statTile(t('diagnosis.topClass'), top ? top.name : '—', { hint: top && diag.rows ? fmtPct(top.value / diag.rows) : null }),
    statTile(t('diagnosis.meanConfidence'), mean === null ? '…' : fmtPct(mean), { hint: proj?.sampled ? t('diagnosis.fromSample') : null }),
    statTile(t('diagnosis.lowConfidence'), low === null ? '…' : fmtPct(low), { hint: t('diagnosis.lowHint', { pct: fmtPct(LOW_CONFIDENCE, 0) }), tone: low > 0.1 ? 'warning' : '' }),
    m && statTile(t('model.accuracy'), fmtPct(m.accuracy), { tone: 'primary', hint: t('diagnosis.vsLabels', { n: fmtInt(m.samples) }) }),
    m && statTile(t('model.macroF1'), fmtPct(m.macro_f1), { tone: 'primary' }));
}

function chartTypeSwitch(onPick) {
  let current = 'bar';
  const mk = (type) => h('button.btn.btn-sm.btn-outline-secondary', {
    type: 'button', testid: `chart-type-${type}`, 'aria-pressed': String(type === current),
    'aria-label': t(`diagnosis.as.${type}`), title: t(`diagnosis.as.${type}`), class: type === current ? 'active' : '',
    on: { click: () => { current = type; for (const b of [bar, pie]) { const on = b.dataset.testid === `chart-type-${type}`; b.setAttribute('aria-pressed', String(on)); b.classList.toggle('active', on); } onPick(type); } },
  }, h('span', t(`diagnosis.as.${type}`)));
  const bar = mk('bar');
  const pie = mk('pie');
  return h('div.btn-group', { role: 'group', 'aria-label': t('diagnosis.chartType') }, bar, pie);
}

export async function render(view, ctx) {
  const id = ctx.params.id;
  const diag = await ctx.api.diagnoses.page(id, { signal: ctx.signal, offset: 0, limit: PAGE });
  if (!diag.deleted_at) ctx.prefs.set({ last_diagnosis_id: diag.id, ...(diag.model_id && !diag.model_deleted_at ? { last_model_id: diag.model_id } : {}) });
  const few = diag.rows <= FEW_SAMPLES && diag.results.items.length === diag.rows;
  let proj = null;
  let classType = 'bar';
  const restore = () => ctx.api.diagnoses.restore(diag.id);

  const del = !diag.deleted_at && deleteButton({
    testid: 'diagnosis-delete', remove: () => ctx.api.diagnoses.remove(diag.id), restore,
    texts: { deleted: t('diagnosis.trashed', { name: diag.name }), restored: t('diagnosis.restored', { name: diag.name }) },
    onDeleted: () => {
      if (ctx.prefs.get('last_diagnosis_id') === diag.id) ctx.prefs.set({ last_diagnosis_id: null });
      ctx.navigate('#/diagnose');
    },
    onRestored: () => ctx.navigate(`#/diagnoses/${diag.id}`),
  });
  const layout = panelLayout(ctx, 'diagnosis');
  const modelLink = diag.model_id && h('a', { href: `#/models/${diag.model_id}` }, t('diagnosis.model', { id: diag.model_id }));

  view.append(pageHeader(diag.name, {
    eyebrow: t('diagnosis.eyebrow', { id: diag.id }),
    subtitle: [t('diagnosis.subtitle', { count: diag.rows, rows: fmtInt(diag.rows), date: fmtDate(diag.created_at) }), ' · ',
      diag.model_id ? modelLink : t('diagnosis.modelGone'),
      diag.model_deleted_at ? h('span.text-warning-emphasis', { testid: 'diagnosis-model-trashed' }, ' (', t('diagnosis.modelInTrash'), ')') : null],
    actions: [
      linkButton(t('diagnosis.downloadCsv'), ctx.api.diagnoses.downloadUrl(diag.id, 'csv'), { iconName: 'download', testid: 'download-csv', download: `diagnosis-${diag.id}.csv` }),
      linkButton(t('diagnosis.downloadJson'), ctx.api.diagnoses.downloadUrl(diag.id, 'json'), { iconName: 'download', testid: 'download-json', download: `diagnosis-${diag.id}.json` }),
      diag.model_id && !diag.model_deleted_at && linkButton(t('diagnosis.again'), `#/diagnose?model=${diag.model_id}`, { iconName: 'diagnose' }),
      !few && layout.control, // a few samples show their verdicts, not the panels
      del,
    ],
  }));

  const tilesHost = h('div');
  const warnings = (diag.warnings || []).length ? h('div.alert.alert-warning.mb-0', h('div.fw-semibold', t('diagnosis.warnings')),
    h('ul.mb-0.small', diag.warnings.map((w) => h('li', w)))) : null;
  const unknown = diag.unknown_labels ? h('div.alert.alert-info.mb-0', t('diagnosis.unknownLabels', { count: diag.unknown_labels })) : null;
  const feedback = feedbackCard(diag, { api: ctx.api, signal: ctx.signal, navigate: ctx.navigate });
  const banner = trashBanner(diag, { text: t('diagnosis.inTrash'), restore, onRestored: () => { toast(t('diagnosis.restored', { name: diag.name })); ctx.rerender(); } });
  if (banner) view.append(banner);
  if (few) {
    view.append(h('div.d-flex.flex-column.gap-4', warnings, unknown, driftBanner(diag), trainingCaveat(diag), diag.drift && driftCard(diag), adaptCard(diag),
      verdictCards(diag, { sample: ctx.api.diagnoses.sample, signal: ctx.signal }),
      h('p.small.text-body-secondary.mb-0', { testid: 'csv-columns-hint' }, t('diagnosis.csvColumns')), feedback));
    return;
  }
  const classesEl = h('div.chart', { testid: 'chart-classes', role: 'img', 'aria-label': t('diagnosis.classes') });
  const confEl = h('div.chart', { testid: 'chart-confidence', role: 'img', 'aria-label': t('diagnosis.confidenceChart') });
  const scatterEl = h('div.chart.chart-xl', { testid: 'chart-scatter', role: 'img', 'aria-label': t('diagnosis.scatter') });
  const sampledNote = h('div.alert.alert-info.py-2.px-3.small.mb-3', { testid: 'scatter-sampled-note', hidden: true });
  const confNote = h('span.small.text-body-secondary');
  const projError = h('div');
  const tableHost = h('div.results-host');
  const filtersHost = h('div');

  const classes = chart(classesEl, (c) => classesOption(c, diag, classType));
  const typeSwitch = chartTypeSwitch((type) => { classType = type; classes.rebuild(); });

  // what to know before reading the batch: above the panels, not one of them
  const notes = [driftBanner(diag), trainingCaveat(diag)].filter(Boolean);
  if (notes.length) view.append(h('div.d-flex.flex-column.gap-3.mb-4', notes));
  // The panels, in their default order; each line one panel (views/panels.js).
  layout.add('summary', t('layout.panel.summary'), tilesHost);
  layout.add('warnings', t('diagnosis.warnings'), warnings);
  layout.add('unknown-labels', t('layout.panel.unknownLabels'), unknown);
  layout.add('drift', t('drift.title'), driftCard(diag));
  layout.add('adapt', t('adapt.title'), adaptCard(diag));
  layout.add('classes', t('diagnosis.classes'), card(t('diagnosis.classes'), classesEl, { cls: 'h-100', actions: typeSwitch }), { half: true });
  layout.add('confidence', t('diagnosis.confidenceChart'), card(t('diagnosis.confidenceChart'), confEl, { cls: 'h-100', actions: confNote }), { half: true });
  layout.add('scatter', t('diagnosis.scatter'), card(t('diagnosis.scatter'), [sampledNote, projError, scatterEl], { actions: h('span.small.text-body-secondary.d-none.d-md-inline', t('diagnosis.scatterHint')) }));
  layout.add('evaluation', t('diagnosis.evaluation'), diag.metrics && card(t('diagnosis.evaluation'), perClassTable(diag.metrics, 'diagnosis-per-class', diag), { bodyCls: 'p-0', cls: 'h-100' }), { half: true });
  layout.add('evaluation-confusion', t('layout.panel.evaluationConfusion'), diag.metrics && card(t('model.confusion'), h('div.chart.chart-square', { testid: 'diagnosis-confusion', role: 'img', 'aria-label': t('model.confusion') }), { cls: 'h-100' }), { half: true });
  layout.add('results', t('results.title'), card(t('results.title'), [filtersHost, explainNote(diag),
    h('p.small.text-body-secondary', { testid: 'csv-columns-hint' }, t('diagnosis.csvColumns')), tableHost], { actions: h('span.small.text-body-secondary', t('results.sortHint')) }));
  layout.add('feedback', t('feedback.title'), feedback);
  view.append(layout.finish());

  clear(tilesHost, summaryTiles(diag, null));
  const conf = chart(confEl, (c) => confidenceOption(c, proj, diag));
  const ids = sampleIds(diag, ctx.api.diagnoses.page, { signal: ctx.signal });
  let table = null;
  const openRow = (row) => ctx.navigate(`${sampleHref(diag.id, row)}${filtersHash(table?.filters)}`);
  const scatter = chart(scatterEl, (c) => scatterOption(c, proj, diag, ids), {
    onInit: (inst) => inst.on('click', (p) => { if (p.componentType === 'series' && p.data) openRow(p.data[2]); }),
  });
  if (diag.metrics) confusionChart(view.querySelector('[data-testid="diagnosis-confusion"]'), diag.metrics, diag);
  const bar = filterBar(diag, {
    filters: filtersFromQuery(ctx.query),
    kpis: diag.model_id ? ctx.api.models.get(diag.model_id, { signal: ctx.signal }).then((m) => m.summary?.features) : Promise.resolve([]),
    exportUrl: (format, f, explain) => ctx.api.diagnoses.downloadUrl(diag.id, format, f, explain),
    onApply: async (f) => {
      await table.setFilters(f);
      history.replaceState(null, '', `#/diagnoses/${diag.id}${filtersHash(f)}`);
    },
  });
  clear(filtersHost, bar.el);
  table = resultsTable(tableHost, diag, {
    signal: ctx.signal, diagnoses: ctx.api.diagnoses, filters: filtersFromQuery(ctx.query), openRow,
    rowHref: (row, f) => `${sampleHref(diag.id, row)}${filtersHash(f)}`,
    onLoaded: (d) => bar.setCount(d.results.total, d.rows, !!(d.filtered ?? d.results.filtered)),
  });

  const loadProjection = async () => {
    clear(projError);
    try {
      proj = await ctx.api.diagnoses.projection(diag.id, { signal: ctx.signal, maxPoints: MAX_POINTS, label: t('diagnosis.loadingProjection') });
    } catch (e) {
      if (ctx.signal.aborted) return;
      proj = { points: [], classes: diag.classes };
      clear(projError, errorAlert(e, { retry: loadProjection }));
    }
    sampledNote.hidden = !proj.sampled;
    sampledNote.textContent = proj.sampled ? t('diagnosis.sampled', { shown: fmtInt(proj.shown), total: fmtInt(proj.total) }) : '';
    confNote.textContent = proj.sampled ? t('diagnosis.confSampled', { n: fmtInt(proj.shown) }) : t('diagnosis.confAll', { n: fmtInt(proj.total ?? 0) });
    clear(tilesHost, summaryTiles(diag, proj));
    conf.rebuild();
    scatter.rebuild();
  };
  loadProjection();
}
