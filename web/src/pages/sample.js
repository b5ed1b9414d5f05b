// pages/sample.js - #/diagnoses/ID/rows/ROW: one sample of a diagnosis
// opened, the drill-down of a results row or a scatter point. The verdict
// card (views/verdict.js) first, then the contribution waterfall toward the
// class of the user's choice and the class probabilities, then every KPI
// against its normal range (views/sample.js). Previous and next open the
// neighbouring rows; "back" returns to the results with the filters the
// user came with (the hash's query is carried along). The stored row is
// read with the explanation, so a sample that cannot be explained still
// shows its verdict and says why the rest is missing.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { fmtInt } from '../format.js';
import { pageHeader, card, linkButton, button, emptyState } from '../ui.js';
import { className } from '../classnames.js';
import { verdictCard, sampleName, sampleHref } from '../views/verdict.js';
import { waterfallCard, probabilitiesTable, kpiTable } from '../views/sample.js';
import { filtersHash, filtersFromQuery } from '../views/results-filters.js';

/* The hash query again (?predicted=...), to keep the results' filters. */
const queryString = (query) => filtersHash(filtersFromQuery(query));

function pager(diag, row, query) {
  const qs = queryString(query);
  const step = (to, key, iconName) => (to >= 1 && to <= diag.rows
    ? linkButton(t(`sample.${key}`), `${sampleHref(diag.id, to)}${qs}`, { iconName, testid: `sample-${key}`, attrs: { 'aria-label': t(`sample.${key}Row`, { row: to }) } })
    : button(t(`sample.${key}`), { iconName, variant: 'outline-secondary', testid: `sample-${key}`, attrs: { disabled: true } }));
  return [
    linkButton(t('sample.back'), `#/diagnoses/${diag.id}${qs}`, { iconName: 'left', testid: 'sample-back' }),
    h('div.btn-group', { role: 'group', 'aria-label': t('sample.pager') }, step(row - 1, 'prev', 'left'), step(row + 1, 'next', 'right')),
  ];
}

export async function render(view, ctx) {
  const { id, row } = ctx.params;
  const [diag, explained] = await Promise.all([
    ctx.api.diagnoses.page(id, { signal: ctx.signal, offset: Math.max(0, row - 1), limit: 1 }),
    ctx.api.diagnoses.sample(id, row, { signal: ctx.signal }).then((s) => ({ sample: s }), (error) => ({ error })),
  ]);
  if (ctx.signal.aborted) return;
  const item = explained.sample?.result || diag.results.items.find((r) => r.row === row);
  const back = linkButton(t('sample.back'), `#/diagnoses/${diag.id}${queryString(ctx.query)}`, { iconName: 'left', testid: 'sample-back' });
  if (!item || row < 1 || row > diag.rows) {
    view.append(pageHeader(t('sample.missingTitle'), { eyebrow: t('diagnosis.eyebrow', { id: diag.id }) }),
      card(null, emptyState('alert', t('sample.missing', { row: fmtInt(row), rows: fmtInt(diag.rows) }), null, back), { testid: 'sample-missing' }));
    return;
  }
  const { sample, error } = explained;

  view.append(pageHeader(t('sample.title', { name: sampleName(item) }), {
    eyebrow: h('a', { href: `#/diagnoses/${diag.id}${queryString(ctx.query)}` }, t('sample.of', { id: diag.id, name: diag.name })),
    subtitle: h('span', { testid: 'sample-position' }, t('sample.position', { row: fmtInt(row), rows: fmtInt(diag.rows) })),
    actions: pager(diag, row, ctx.query),
  }));

  const parts = [verdictCard(diag, item, sample || null, { error })];
  if (sample?.classes) {
    const cls = sample.classes[item.predicted] ? item.predicted : sample.predicted;
    const wf = waterfallCard(diag, sample, cls);
    parts.push(h('div.row.g-4',
      h('div.col-xl-7', card(t('sample.waterfall'), wf.body, { cls: 'h-100', actions: wf.picker, testid: 'sample-waterfall-card' })),
      h('div.col-xl-5', card(t('sample.probabilities'), probabilitiesTable(diag, item), { cls: 'h-100', testid: 'sample-probabilities-card' }))));
    parts.push(card(t('sample.kpis'), kpiTable(sample), { testid: 'sample-kpis-card' }));
  } else {
    parts.push(card(t('sample.probabilities'), probabilitiesTable(diag, item), { testid: 'sample-probabilities-card' }));
  }
  view.append(h('div.d-flex.flex-column.gap-4', { testid: 'sample-view', dataset: { row: String(row), class: item.predicted, className: className(diag, item.predicted) } }, parts));
}
