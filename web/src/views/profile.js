// views/profile.js - the profile of one dataset, shown in the detail pane
// of #/datasets/ID (pages/datasets.js): the counts (rows, KPIs, skipped
// rows, duplicates), the label distribution, the missing rate per KPI,
// statistics per KPI and the first rows; an incident file (kind
// "incidents") says how many incidents and nodes it holds and leads to
// root-cause analysis instead of training. Everything comes from the
// profile the server computed at upload; nothing is recomputed here. A
// large upload has no profile while its ingest job runs: its progress or
// its failure instead (with "Try again" when the server kept the file),
// and the actions that need the rows disabled with the reason.

import { h } from '../dom.js';
import { icon } from '../icons.js';
import { t } from '../i18n.js';
import { chart, toolbox, axisStyle, emptyOption, categoryZoom, rotateFor } from '../charts.js';
import { fmtCount, fmtPct, fmtNum, fmtInt } from '../format.js';
import { card, statTile, statGrid, button, linkButton, scrollRegion, progressBar } from '../ui.js';

/* The page actions of a dataset: train it (an incident file: analyse its
 * root causes instead), download it (downloadUrl, from the datasets
 * client), delete it (onDelete). */
export function profileActions(ds, { downloadUrl, onDelete }) {
  if (!isReady(ds)) { // nothing to train on or analyse yet: the buttons say why
    const why = `ingest-why-${ds.id}`;
    const off = (label, iconName, testid) => button(label, {
      iconName, variant: 'primary', testid, attrs: { disabled: true, 'aria-describedby': why, title: ingestReason(ds) },
    });
    return [
      h('span.visually-hidden', { id: why }, ingestReason(ds)),
      ds.kind === 'incidents' ? off(t('dataset.analyse'), 'network', 'rca-this') : off(t('dataset.train'), 'train', 'train-this'),
      ds.state === 'failed' && !keptFile(ds) ? null : linkButton(t('dataset.download'), downloadUrl, { iconName: 'download', download: '' }),
      button(t('common.delete'), { iconName: 'trash', variant: 'outline-danger', onClick: onDelete }),
    ].filter(Boolean);
  }
  return [
    ds.kind === 'incidents'
      ? linkButton(t('dataset.analyse'), '#/rca', { iconName: 'network', variant: 'primary', testid: 'rca-this' })
      : linkButton(t('dataset.train'), `#/train?dataset=${ds.id}`, { iconName: 'train', variant: 'primary', testid: 'train-this' }),
    linkButton(t('dataset.download'), downloadUrl, { iconName: 'download', download: '' }),
    button(t('common.delete'), { iconName: 'trash', variant: 'outline-danger', onClick: onDelete }),
  ];
}

/* ---- a large upload's ingestion (docs/api.md: DATASET's state, ingest_progress, ingest_error) ---- */

/* Ready to train on or analyse: every dataset but one being ingested or
 * whose ingestion failed (a server before ingest jobs sends no state). */
export const isReady = (ds) => !ds?.state || ds.state === 'ready';

export const ingestPct = (ds) => Math.round((ds.ingest_progress || 0) * 100);

/* A failed ingestion whose file the server kept (not the file's fault):
 * it can be tried again, and the file downloaded. */
export const keptFile = (ds) => ds.state === 'failed' && ds.file_kept === true;

/* Why a dataset cannot be used yet, in a sentence. */
export function ingestReason(ds) {
  return ds.state === 'failed'
    ? t('dataset.ingestFailedReason', { error: ds.ingest_error || '' })
    : t('dataset.ingestingReason', { pct: ingestPct(ds) });
}

/* The short tag of a list row: "ingesting 40 %" or "ingestion failed";
 * null when ready. */
export function ingestTag(ds) {
  if (isReady(ds)) return null;
  return ds.state === 'failed'
    ? h('span.badge.text-bg-danger', { testid: 'dataset-ingest-failed' }, t('dataset.ingestFailedTag'))
    : h('span.badge.text-bg-info', { testid: 'dataset-ingesting' }, t('dataset.ingestingTag', { pct: ingestPct(ds) }));
}

/* What the page shows instead of the profile while there is none: the
 * ingestion's progress (announced politely as it moves) or its failure
 * with the reason; a file the server kept offers onRetry(ds, button). */
export function renderIngest(host, ds, { onRetry } = {}) {
  if (ds.state === 'failed') {
    const kept = keptFile(ds);
    host.append(h('div.alert.alert-danger', { role: 'alert', testid: 'dataset-ingest-error' },
      h('div.fw-semibold', t('dataset.ingestFailedTitle')),
      h('div.small.text-break', ds.ingest_error || ''),
      h('div.small.mt-1', t(kept ? 'dataset.ingestKeptText' : 'dataset.ingestFailedText')),
      kept && onRetry && h('div.mt-2', button(t('dataset.ingestRetry'), {
        iconName: 'refresh', variant: 'primary', size: 'sm', testid: 'dataset-ingest-retry',
        onClick: (ev) => onRetry(ds, ev.currentTarget),
      }))));
    return;
  }
  const pct = ingestPct(ds);
  const bar = progressBar({ testid: 'dataset-ingest-progress', label: t('dataset.ingestingTitle'), striped: true });
  bar.set(ds.ingest_progress || 0, t('dataset.ingestingTag', { pct }));
  host.append(card(t('dataset.ingestingTitle'), [
    h('p.mb-2', { role: 'status', 'aria-live': 'polite', tabindex: '-1', testid: 'dataset-ingesting-status' }, t('dataset.ingestingTag', { pct })),
    bar.el,
    h('p.small.text-body-secondary.mt-2.mb-0', t('dataset.ingestingText')),
  ]));
}

/* Rows that training leaves out: dropped at reading, or kept with an empty
 * label (uploads keep those, see unlabelled_rows). */
export const skippedRows = (p) => (p.rows_skipped_no_label || 0) + (p.has_labels ? p.unlabelled_rows || 0 : 0);

function tiles(p) {
  const skipped = skippedRows(p);
  return statGrid(
    statTile(t('dataset.rows'), fmtCount(p.rows), { testid: 'profile-rows', hint: t('dataset.rowsRead', { n: fmtInt(p.rows_read) }) }),
    statTile(t('dataset.kpis'), fmtCount(p.features), { testid: 'profile-features', hint: p.constant_features ? t('dataset.constant', { count: p.constant_features }) : t('dataset.noConstant') }),
    statTile(t('dataset.skipped'), fmtCount(skipped), { testid: 'profile-skipped', hint: t('dataset.skippedHint'), tone: skipped ? 'warning' : '' }),
    statTile(t('dataset.duplicates'), fmtCount(p.duplicate_rows), { testid: 'profile-duplicates', hint: t('dataset.conflicting', { count: p.conflicting_rows || 0 }), tone: p.conflicting_rows ? 'warning' : '' }),
    statTile(t('dataset.missing'), fmtPct(p.missing_rate, 2), { hint: t('dataset.missingCells', { n: fmtInt(p.missing_cells) }) }),
    statTile(t('dataset.classes'), p.class_counts ? fmtCount(Object.keys(p.class_counts).length) : '—', { hint: p.has_labels ? t('dataset.labelled') : t('dataset.unlabelled') }));
}

function labelsChart(el, p) {
  const entries = Object.entries(p.class_counts || {});
  chart(el, (c) => {
    if (!entries.length) return emptyOption(c, t('dataset.noLabels'));
    const total = entries.reduce((a, [, n]) => a + n, 0);
    return {
      toolbox: toolbox('labels'),
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v) => `${fmtInt(v)} (${fmtPct(v / total)})` },
      grid: { left: 8, right: 16, top: 48, bottom: 8, containLabel: true },
      xAxis: { type: 'category', data: entries.map(([k]) => k), ...axisStyle(c), axisLabel: { color: c.muted, interval: 0, rotate: rotateFor(entries.map(([k]) => k)) } },
      yAxis: { type: 'value', name: t('dataset.rowsAxis'), ...axisStyle(c) },
      dataZoom: categoryZoom(entries.length, 20),
      series: [{
        type: 'bar', name: t('dataset.rowsAxis'), barMaxWidth: 48,
        data: entries.map(([, n], i) => ({ value: n, itemStyle: { color: c.colors[i % c.colors.length], borderRadius: [4, 4, 0, 0] } })),
        label: { show: entries.length <= 12, position: 'top', color: c.muted, formatter: ({ value }) => fmtInt(value) },
      }],
    };
  });
}

function missingChart(el, p) {
  const kpis = [...(p.kpis || [])].sort((a, b) => b.missing_rate - a.missing_rate);
  chart(el, (c) => {
    if (!kpis.length) return emptyOption(c, t('common.noData'));
    return {
      toolbox: toolbox('missing-rate', { zoom: kpis.length > 30 }),
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v) => fmtPct(v, 2) },
      grid: { left: 8, right: 16, top: 48, bottom: kpis.length > 30 ? 36 : 8, containLabel: true },
      xAxis: { type: 'category', data: kpis.map((k) => k.name), ...axisStyle(c), axisLabel: { color: c.muted, rotate: 45 } },
      yAxis: { type: 'value', name: t('dataset.missingAxis'), max: (v) => Math.max(0.05, v.max), ...axisStyle(c), axisLabel: { color: c.muted, formatter: (v) => fmtPct(v, 0) } },
      dataZoom: categoryZoom(kpis.length, 30),
      series: [{
        type: 'bar', name: t('dataset.missingAxis'), barMaxWidth: 28,
        data: kpis.map((k) => k.missing_rate),
        itemStyle: { color: c.colors[3 % c.colors.length], borderRadius: [3, 3, 0, 0] },
      }],
    };
  });
}

function kpiTable(p) {
  const cols = ['name', 'missing_rate', 'min', 'p05', 'median', 'p95', 'max', 'mean', 'std'];
  return scrollRegion(t('dataset.kpiStats'),
    h('table.table.table-sm.table-hover.align-middle.mb-0.num-table',
      h('caption.visually-hidden', t('dataset.kpiStats')),
      h('thead', h('tr', cols.map((c) => h('th', { scope: 'col' }, t(`dataset.col.${c}`))))),
      h('tbody', (p.kpis || []).map((k) => h('tr',
        h('th.fw-medium', { scope: 'row' }, k.name),
        h('td', fmtPct(k.missing_rate, 1)),
        cols.slice(2).map((c) => h('td', fmtNum(k[c]))))))));
}

function previewTable(p) {
  const { columns = [], rows = [] } = p.preview || {};
  return scrollRegion(t('dataset.preview'),
    h('table.table.table-sm.table-striped.mb-0.preview-table', { testid: 'preview-table' },
      h('caption.visually-hidden', t('dataset.preview')),
      h('thead', h('tr', columns.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', rows.map((r) => h('tr', r.map((v) => (v === null ? h('td.text-body-tertiary', '—') : h('td', typeof v === 'number' ? fmtNum(v, 6) : v))))))));
}

function notes(p, ds) {
  const note = (tone, iconName, text, testid) => h(`li.profile-note.tone-${tone}`, { testid }, icon(iconName), h('span', text));
  const out = [];
  const inc = ds.kind === 'incidents' ? ds.incidents || {} : null;
  if (inc) {
    out.push(note('info', 'network', t('dataset.incidentNote', { incidents: fmtInt(inc.incidents), nodes: fmtInt(inc.nodes), rows: fmtInt(inc.rows) }), 'dataset-incidents'));
  } else if (!p.has_labels) out.push(note('info', 'alert', t('dataset.noLabelNote')));
  if (p.has_labels && p.unlabelled_rows) out.push(note('warning', 'alert', t('dataset.unlabelledNote', { count: p.unlabelled_rows })));
  if (p.constant_features) out.push(note('muted', 'layers', t('dataset.constantNote', { count: p.constant_features })));
  return out.length ? [h('ul.profile-notes', out)] : [];
}

/* Fills host with the profile of dataset ds (which has .profile). */
export function renderProfile(host, ds) {
  const p = ds.profile || {};
  const labels = h('div.chart', { testid: 'chart-labels', role: 'img', 'aria-label': t('dataset.labelsChart') });
  const missing = h('div.chart', { testid: 'chart-missing', role: 'img', 'aria-label': t('dataset.missingChart') });
  host.append(
    tiles(p),
    ...notes(p, ds),
    h('div.row.g-4',
      h('div.col-xl-5', card(t('dataset.labelsChart'), labels, { cls: 'h-100' })),
      h('div.col-xl-7', card(t('dataset.missingChart'), missing, { cls: 'h-100' }))),
    card(t('dataset.kpiStats'), kpiTable(p), { bodyCls: 'p-0' }),
    card(t('dataset.preview'), previewTable(p), { bodyCls: 'p-0', actions: h('span.small.text-body-secondary', t('dataset.previewNote', { count: (p.preview?.rows || []).length })) }));
  labelsChart(labels, p);
  missingChart(missing, p);
}
