// pages/model.js - #/models/ID: what a model is worth before anyone downloads
// it. Scores come from summary.cv.metrics when cross-validation ran, else
// from the hold-out (summary.validation); then the per-class table, the
// confusion matrix as a heat map, per-class F1 bars, the top KPIs by
// importance and the training curve, plus the parameters it was trained with.
// A model that took its training more than one attempt says so first
// (views/attempts.js): which learner made it, and why the others did not.
// An ensemble (summary.members) lists its members: each one's share of the
// combination and its own out-of-fold macro-F1 next to the ensemble's; its
// own estimate (summary.oob) is out-of-fold, a forest's out-of-bag. A model
// trained with KPI screening (summary.screening) shows which KPIs it reads:
// the kept ones and the strongest left out, by class signal, sortable. A
// model trained with KPI families (summary.families) lists them: each an
// extra input averaging KPIs that move together across the classes.
// A model retrained with people's labels (model.feedback) says from which
// model and how many rows, and links its comparison with that model.
// Its classes' names, descriptions and first actions have their own card
// (views/class-names.js), editable by the owner; every class shown on the
// page reads by its name.

import { h, esc, clear } from '../dom.js';
import { t, has } from '../i18n.js';
import { chart, toolbox, axisStyle, emptyOption } from '../charts.js';
import { fmtPct, fmtFixed, fmtInt, fmtBytes, fmtDate, fmtDuration, fmtNum } from '../format.js';
import { lossSeries, lossOption } from '../views/loss.js';
import { modelMetrics, perClassTable, confusionChart, f1Chart, trainingFacts, algoLabel } from '../views/metrics.js';
import { attemptsCard, worthShowing } from '../views/attempts.js';
import { classNamesCard } from '../views/class-names.js';
import { pageHeader, card, statTile, statGrid, linkButton, button, toast, sortHeader } from '../ui.js';
import { deleteButton, trashBanner } from '../views/trash.js';
import { panelLayout } from '../views/panels.js';

const TOP_KPIS = 20;
// KPIs left out by the screening shown before "show all": the strongest.
const LEFT_OUT_SHOWN = 10;

const choiceLabel = (param, value) => (has(`param.${param}.${value}`) ? t(`param.${param}.${value}`) : String(value));

function tiles(m) {
  const v = (x) => (typeof x === 'number' ? String(x) : '');
  return statGrid(
    statTile(t('model.accuracy'), fmtPct(m?.accuracy), { testid: 'metric-accuracy', tone: 'primary', valueAttrs: { 'data-value': v(m?.accuracy) } }),
    statTile(t('model.macroF1'), fmtPct(m?.macro_f1), { testid: 'metric-macro-f1', tone: 'primary', valueAttrs: { 'data-value': v(m?.macro_f1) } }),
    statTile(t('model.weightedF1'), fmtPct(m?.weighted_f1)),
    statTile(t('model.macroPrecision'), fmtPct(m?.macro_precision)),
    statTile(t('model.macroRecall'), fmtPct(m?.macro_recall)),
    statTile(t('model.logLoss'), fmtFixed(m?.log_loss, 4), { hint: m ? t('model.samples', { n: fmtInt(m.samples) }) : null }));
}

function importanceChart(el, summary) {
  const top = (summary.feature_importance || []).slice(0, TOP_KPIS).reverse();
  chart(el, (c) => {
    if (!top.length) return emptyOption(c, t('common.noData'));
    return {
      toolbox: toolbox('feature-importance'),
      tooltip: {
        trigger: 'axis', axisPointer: { type: 'shadow' },
        formatter: (ps) => { const f = top[ps[0].dataIndex]; return `<b>${esc(f.feature)}</b><br>${esc(t('model.share'))}: ${fmtPct(f.share)}<br>${esc(t('model.gain'))}: ${fmtNum(f.gain)}<br>${esc(t('model.splits'))}: ${fmtInt(f.splits)}`; },
      },
      grid: { left: 8, right: 40, top: 30, bottom: 8, containLabel: true },
      xAxis: { type: 'value', ...axisStyle(c), axisLabel: { color: c.muted, formatter: (v) => fmtPct(v, 0) } },
      yAxis: { type: 'category', data: top.map((f) => f.feature), ...axisStyle(c), axisLabel: { color: c.muted, interval: 0 } },
      series: [{
        type: 'bar', data: top.map((f) => f.share), barMaxWidth: 16,
        itemStyle: { color: c.colors[1], borderRadius: [0, 4, 4, 0] },
        label: { show: true, position: 'right', color: c.muted, formatter: ({ value }) => fmtPct(value) },
      }],
    };
  });
}

function curveChart(el, summary) {
  const series = lossSeries(summary.curve?.train_loss, summary.curve?.valid_loss);
  chart(el, (c) => lossOption(c, series, { name: 'training-curve', empty: t('common.noData'), markRound: summary.training?.best_round }));
}

function kv(rows) {
  return h('dl.kv-list.mb-0', rows.filter(Boolean).map(([k, v]) => [h('dt', k), h('dd', v)]));
}

function detailsCard(model, summary) {
  const d = summary.data || {};
  const tr = summary.training || {};
  const params = summary.params || {};
  return card(t('model.details'), h('div.row.g-4',
    h('div.col-md-6', h('h3.h6.text-body-secondary', t('model.training')), kv([
      ...trainingFacts(model, summary),
      summary.oob && [t(summary.members ? 'model.oofF1' : 'model.oobF1'), fmtNum(summary.oob.macro_f1, 4)],
      summary.oob && [t(summary.members ? 'model.oofAccuracy' : 'model.oobAccuracy'), fmtNum(summary.oob.accuracy, 4)],
      [t('model.trainTime'), fmtDuration(tr.train_seconds)],
      [t('model.rowsTrain'), fmtInt(d.rows_train)],
      [t('model.rowsValidation'), fmtInt(d.rows_validation)],
      [t('model.duplicates'), fmtInt(d.duplicate_rows)],
      [t('model.size'), fmtBytes(model.size_bytes)],
      [t('model.version'), summary.healer_version || '—'],
    ])),
    h('div.col-md-6', h('h3.h6.text-body-secondary', t('model.params')),
      h('div.param-chips', Object.entries(params).filter(([k]) => k !== 'algo').map(([k, v]) => h('span.param-chip', h('span.param-k', k), h('span.param-v', String(v))))))));
}

/* A share (0..1) as a bar, with a tick at `mark` when given; the number
 * is in the cell next to it, so the bar is hidden from screen readers. */
function shareBar(share, { mark = null, muted = false } = {}) {
  const pct = (x) => `${Math.max(0, Math.min(100, (x || 0) * 100)).toFixed(1)}%`;
  return h('div.mix-bar', { 'aria-hidden': 'true' },
    h(`div.mix-bar-fill${muted ? '.is-muted' : ''}`, { style: { width: pct(share) } }),
    mark !== null && h('div.mix-bar-mark', { style: { left: pct(mark) } }));
}

/* An ensemble's members in the order they are combined, and the whole
 * ensemble's out-of-fold score below them for comparison. */
function membersCard(summary) {
  const members = summary.members;
  if (!Array.isArray(members) || !members.length) return null;
  const combiner = summary.params?.combiner;
  const th = (key, cls = 'th.text-end') => h(cls, { scope: 'col' }, t(`model.members.col.${key}`));
  const table = h('div.table-responsive', { tabindex: '0', role: 'region', 'aria-label': t('model.members.caption') },
    h('table.table.table-sm.align-middle.mb-0.num-table.share-table', { testid: 'members-table' },
      h('caption.visually-hidden', t('model.members.caption')),
      h('thead', h('tr', th('learner', 'th'), th('share'),
        h('th.d-none.d-sm-table-cell.mix-bar-col', { scope: 'col' }, h('span.visually-hidden', t('model.members.col.bar'))),
        th('oof'))),
      h('tbody', members.map((m) => h('tr', { testid: 'member-row', dataset: { algo: m.algo } },
        h('th.fw-medium', { scope: 'row' }, algoLabel(m.algo)),
        h('td.text-end', { testid: 'member-share' }, fmtPct(m.weight)),
        h('td.d-none.d-sm-table-cell.mix-bar-col', shareBar(m.weight)),
        h('td.text-end', fmtFixed(m.oof_macro_f1, 4))))),
      summary.oob && h('tfoot', h('tr', { testid: 'members-ensemble' },
        h('th.text-nowrap', { scope: 'row' }, t('model.members.ensemble')),
        h('td.text-end', fmtPct(1, 0)),
        h('td.d-none.d-sm-table-cell'),
        h('td.text-end.fw-semibold', fmtFixed(summary.oob.macro_f1, 4))))));
  return card(t('model.members.title'), [table, h('p.small.text-body-secondary.mt-2.mb-0', t('model.members.legend'))], {
    testid: 'members-card',
    actions: combiner && h('span.badge.rounded-pill.badge-soft-secondary', { testid: 'members-combiner' }, choiceLabel('combiner', combiner)),
  });
}

/* `--algo auto`'s leaderboard: every candidate in the order tried, its
 * cross-validated macro-F1 and time, the chosen one marked. */
function leaderboardCard(summary) {
  const board = summary.leaderboard;
  if (!Array.isArray(board) || !board.length) return null;
  const th = (key, cls = 'th.text-end') => h(cls, { scope: 'col' }, t(`model.leaderboard.col.${key}`));
  const table = h('div.table-responsive', { tabindex: '0', role: 'region', 'aria-label': t('model.leaderboard.caption') },
    h('table.table.table-sm.align-middle.mb-0.num-table', { testid: 'leaderboard-table' },
      h('caption.visually-hidden', t('model.leaderboard.caption')),
      h('thead', h('tr', th('learner', 'th'), th('status', 'th'), th('f1'), th('seconds'))),
      h('tbody', board.map((c) => h(c.status === 'chosen' ? 'tr.table-active' : 'tr', { testid: 'leaderboard-row', dataset: { algo: c.algo, status: c.status } },
        h('th.fw-medium', { scope: 'row' }, algoLabel(c.algo)),
        h('td', t(`model.leaderboard.status.${c.status}`)),
        h('td.text-end', c.macro_f1 == null ? '—' : fmtFixed(c.macro_f1, 4)),
        h('td.text-end', c.seconds == null ? '—' : fmtFixed(c.seconds, 1)))))));
  return card(t('model.leaderboard.title'), [table, h('p.small.text-body-secondary.mt-2.mb-0', t('model.leaderboard.legend'))], { testid: 'leaderboard-card' });
}

/* The KPI screening: every kept KPI and the strongest left out (all on
 * request), strongest first or sorted by the user; the threshold is the
 * tick on each signal's bar. */
function screeningCard(summary) {
  const sc = summary.screening;
  if (!sc || !Array.isArray(sc.kpis)) return null;
  const kpis = sc.kpis;
  const bySignal = (a, b) => (b.signal ?? -1) - (a.signal ?? -1);
  const leftOut = kpis.filter((k) => !k.kept).sort(bySignal);
  // Signals span 1e-4..0.5: the bars are on a log scale from a tenth of
  // the threshold (or the weakest signal) to the strongest, so that the
  // threshold's tick sits where the eye can compare with it.
  const positive = kpis.map((k) => k.signal).filter((x) => x > 0);
  const hi = Math.log10(Math.max(sc.threshold || 0, ...positive) || 1);
  const lo = Math.min(Math.log10((sc.threshold || 1e-3) / 10), ...positive.map(Math.log10));
  const scale = (x) => (x > 0 && hi > lo ? Math.max(0, (Math.log10(x) - lo) / (hi - lo)) : 0);
  const cols = [
    { key: 'name', label: t('model.screening.col.kpi'), cmp: (a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }) },
    { key: 'signal', label: t('model.screening.col.signal'), num: true, cmp: (a, b) => -bySignal(a, b) },
    { key: 'kept', label: t('model.screening.col.status'), cmp: (a, b) => (a.kept - b.kept) || -bySignal(a, b) },
  ];
  let sort = 'signal';
  let dir = -1;
  let all = leftOut.length <= LEFT_OUT_SHOWN;
  const headRow = h('tr');
  const body = h('tbody');
  const shownNote = h('div.small.text-body-secondary', { testid: 'screening-shown' });
  const toggle = leftOut.length > LEFT_OUT_SHOWN ? button('', {
    variant: 'link', size: 'sm', testid: 'screening-show-all', attrs: { class: 'p-0' },
    onClick: () => { all = !all; draw(); },
  }) : null;
  const draw = () => {
    const rows = all ? kpis : [...kpis.filter((k) => k.kept), ...leftOut.slice(0, LEFT_OUT_SHOWN)];
    const col = cols.find((c) => c.key === sort);
    const sorted = [...rows].sort((a, b) => dir * col.cmp(a, b));
    clear(headRow, [...cols.map((c) => sortHeader(c, sort, dir, (key) => {
      if (sort === key) dir = -dir;
      else { sort = key; dir = key === 'name' ? 1 : -1; }
      draw();
    })), h('th.d-none.d-sm-table-cell.mix-bar-col', { scope: 'col' }, h('span.visually-hidden', t('model.screening.col.bar')))]);
    clear(body, sorted.map((k) => h(`tr${k.kept ? '' : '.text-body-secondary'}`, { testid: 'screening-row', dataset: { kpi: k.name, kept: String(k.kept) } },
      h('th.fw-medium.text-nowrap', { scope: 'row' }, k.name),
      h('td.text-end', fmtNum(k.signal, 3)),
      h('td', h(`span.badge.badge-soft-${k.kept ? 'success' : 'secondary'}`, t(k.kept ? 'model.screening.kept' : 'model.screening.left'))),
      h('td.d-none.d-sm-table-cell.mix-bar-col', shareBar(scale(k.signal), { mark: scale(sc.threshold), muted: !k.kept })))));
    shownNote.textContent = all
      ? t('model.screening.shownAll', { total: fmtInt(kpis.length) })
      : t('model.screening.shown', { kept: fmtInt(sc.kept), left: fmtInt(Math.min(LEFT_OUT_SHOWN, leftOut.length)), total: fmtInt(kpis.length) });
    if (toggle) {
      toggle.textContent = all ? t('model.screening.showLess') : t('model.screening.showAll', { total: fmtInt(kpis.length) });
      toggle.setAttribute('aria-expanded', String(all));
    }
  };
  draw();
  return card(t('model.screening.title'), [
    h('p.mb-2', { testid: 'screening-summary', dataset: { kept: String(sc.kept), total: String(kpis.length) } },
      t('model.screening.summary', { kept: fmtInt(sc.kept), total: fmtInt(kpis.length), threshold: fmtNum(sc.threshold, 3) })),
    h('div.table-responsive.table-scroll', { tabindex: '0', role: 'region', 'aria-label': t('model.screening.caption') },
      h('table.table.table-sm.align-middle.mb-0.num-table.share-table', { testid: 'screening-table' },
        h('caption.visually-hidden', t('model.screening.caption')),
        h('thead', headRow), body)),
    h('div.d-flex.flex-wrap.align-items-center.column-gap-2.mt-2', shownNote, toggle),
    h('p.small.text-body-secondary.mt-2.mb-0', t('model.screening.legend')),
  ], { testid: 'screening-card', actions: h('span.badge.rounded-pill.badge-soft-secondary', { testid: 'screening-badge' }, t('model.screening.badge', { kept: fmtInt(sc.kept), total: fmtInt(kpis.length) })) });
}

/* The KPI families: each family's KPIs; said when none was found. */
function familiesCard(summary) {
  const fam = summary.families;
  if (!fam || !Array.isArray(fam.families)) return null;
  const list = fam.families;
  const body = list.length
    ? h('ol.mb-2.ps-3', { testid: 'families-list' }, list.map((f, i) => h('li.mb-1', { testid: 'family-row', dataset: { kpis: f.kpis.join(' ') } },
      h('span.visually-hidden', t('model.families.family', { n: fmtInt(i + 1) })),
      f.kpis.map((k) => h('span.badge.badge-soft-secondary.me-1', k)))))
    : h('p.mb-2', { testid: 'families-none' }, t('model.families.none', { threshold: fmtNum(fam.threshold, 3) }));
  return card(t('model.families.title'), [
    list.length ? h('p.mb-2', { testid: 'families-summary' }, t('model.families.summary', { n: fmtInt(list.length), threshold: fmtNum(fam.threshold, 3) })) : null,
    body,
    h('p.small.text-body-secondary.mb-0', t('model.families.legend')),
  ], { testid: 'families-card', actions: h('span.badge.rounded-pill.badge-soft-secondary', { testid: 'families-badge' }, fmtInt(list.length)) });
}

/* Where a retrained model came from, and the way to its comparison. */
function lineageCard(model) {
  const fb = model.feedback;
  if (!fb) return null;
  const parent = model.parent_id
    ? h('a', { href: `#/models/${model.parent_id}` }, t('comparison.oldModel', { id: model.parent_id }))
    : t('comparison.parentGone');
  return card(t('model.lineage.title'), h('div.d-flex.flex-wrap.gap-3.align-items-center',
    h('p.mb-0.flex-grow-1', t('model.lineage.from'), ' ', parent, ' · ',
      t('model.lineage.rows', { rows: fmtInt(fb.rows), count: fb.diagnosis_ids.length, weight: fb.weight })),
    linkButton(t('model.lineage.compare'), `#/models/${model.id}/comparison`, { variant: 'primary', iconName: 'bars', testid: 'model-comparison-link' })),
  { testid: 'model-lineage' });
}

export async function render(view, ctx) {
  const model = await ctx.api.models.get(ctx.params.id, { signal: ctx.signal });
  if (!model.deleted_at) ctx.prefs.set({ last_model_id: model.id });
  const summary = model.summary || {};
  const { m, source } = modelMetrics(summary);
  const restore = () => ctx.api.models.restore(model.id);

  const del = !model.deleted_at && deleteButton({
    testid: 'model-delete', remove: () => ctx.api.models.remove(model.id), restore,
    texts: { deleted: t('model.trashed', { name: model.name }), restored: t('model.restored', { name: model.name }) },
    onDeleted: () => {
      if (ctx.prefs.get('last_model_id') === model.id) ctx.prefs.set({ last_model_id: null });
      ctx.navigate('#/models');
    },
    onRestored: () => ctx.navigate(`#/models/${model.id}`),
  });
  const layout = panelLayout(ctx, 'model');

  view.append(pageHeader(model.name, {
    eyebrow: t('model.eyebrow', { id: model.id }),
    subtitle: [t('model.subtitle', { classes: model.classes, features: model.features, date: fmtDate(model.created_at) }), ' · ',
      model.dataset_id ? h('a', { href: `#/datasets/${model.dataset_id}` }, t('model.fromDataset', { id: model.dataset_id })) : t('model.datasetGone')],
    actions: [
      !model.deleted_at && linkButton(t('model.diagnoseWith'), `#/diagnose?model=${model.id}`, { variant: 'primary', iconName: 'diagnose' }),
      linkButton(t('model.downloadModel'), ctx.api.models.downloadUrl(model.id), { iconName: 'download', testid: 'download-model', download: `model-${model.id}.model` }),
      linkButton(t('report.open'), `#/models/${model.id}/report`, { iconName: 'file', testid: 'model-report-link' }),
      linkButton(t('model.downloadReport'), ctx.api.models.reportUrl(model.id), { iconName: 'file', testid: 'download-report', download: `model-${model.id}-report.json` }),
      layout.control,
      del,
    ],
  }));
  const banner = trashBanner(model, { text: t('model.inTrash'), restore, onRestored: () => { toast(t('model.restored', { name: model.name })); ctx.rerender(); } });
  if (banner) view.append(banner);

  const el = (testid, label, cls = 'chart') => h(`div.${cls}`, { testid, role: 'img', 'aria-label': label });
  const confusion = el('chart-confusion', t('model.confusion'), 'chart.chart-square');
  const f1 = el('chart-f1', t('model.f1Chart'));
  const importance = el('chart-importance', t('model.importance'), 'chart.chart-tall');
  const curve = el('chart-curve', t('model.curve'), 'chart.chart-tall');

  // The panels, in their default order; each line one panel (views/panels.js).
  layout.add('lineage', t('model.lineage.title'), lineageCard(model));
  layout.add('attempts', t('attempts.title'), worthShowing(model.attempts) && attemptsCard(model.attempts));
  layout.add('scores', t('layout.panel.scores'), h('div', h('div.metric-source.small.text-body-secondary.mb-2', { testid: 'metric-source' }, source), tiles(m)));
  layout.add('class-names', t('classNames.title'), classNamesCard(model, {
    canEdit: ctx.session.user?.id === model.owner_id,
    save: (names) => ctx.api.models.setClassNames(model.id, names, { signal: ctx.signal }),
    onSaved: () => ctx.rerender(),
  }));
  layout.add('members', t('model.members.title'), membersCard(summary));
  layout.add('leaderboard', t('model.leaderboard.title'), leaderboardCard(summary));
  layout.add('per-class', t('model.perClass'), card(t('model.perClass'), perClassTable(m, 'per-class-table', model), { bodyCls: 'p-0', cls: 'h-100' }), { half: true });
  layout.add('f1', t('model.f1Chart'), card(t('model.f1Chart'), f1, { cls: 'h-100' }), { half: true });
  layout.add('confusion', t('model.confusion'), card(t('model.confusion'), confusion, { cls: 'h-100', actions: h('span.small.text-body-secondary', t('model.confusionHint')) }), { half: true });
  layout.add('importance', t('model.importance'), card(t('model.importance'), importance, { cls: 'h-100', actions: h('span.small.text-body-secondary', t('model.importanceHint', { n: Math.min(TOP_KPIS, (summary.feature_importance || []).length) })) }), { half: true });
  layout.add('screening', t('model.screening.title'), screeningCard(summary));
  layout.add('families', t('model.families.title'), familiesCard(summary));
  layout.add('curve', t('model.curve'), card(t('model.curve'), curve));
  layout.add('details', t('model.details'), detailsCard(model, summary));
  view.append(layout.finish());
  confusionChart(confusion, m, model);
  f1Chart(f1, m, model);
  importanceChart(importance, summary);
  curveChart(curve, summary);
}
