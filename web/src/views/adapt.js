// views/adapt.js - what adapting a diagnosis to its batch's class mix did
// (docs/api.md, ADAPT): applied or not as a badge; when applied, how many
// predictions changed and the class mix the model assumes next to the one
// estimated for this batch, as a table whose bars only repeat its numbers
// (hidden from screen readers and on narrow screens); when not, why, from
// the report's reason_code (its message when the code is new to this UI).
// The numbers of the rule (50 rows) come with the report. A class reads by
// its name (classnames.js), as on every other view of the diagnosis.

import { h } from '../dom.js';
import { t, has } from '../i18n.js';
import { fmtInt, fmtPct } from '../format.js';
import { card } from '../ui.js';
import { className } from '../classnames.js';

function statusBadge(a) {
  return h(`span.badge.rounded-pill.badge-soft-${a.applied ? 'success' : 'secondary'}`, {
    testid: 'adapt-status', dataset: { applied: String(a.applied) },
  }, t(a.applied ? 'adapt.applied' : 'adapt.notApplied'));
}

/* A bar of `share` with a tick at `mark` (both 0..1), purely visual. */
function mixBar(share, mark) {
  const pct = (x) => `${Math.max(0, Math.min(100, (x || 0) * 100)).toFixed(1)}%`;
  return h('div.mix-bar', { 'aria-hidden': 'true' },
    h('div.mix-bar-fill', { style: { width: pct(share) } }),
    h('div.mix-bar-mark', { style: { left: pct(mark) } }));
}

/* Largest estimated share first: the class the batch is made of on top. */
function mixTable(a, diag) {
  const rows = Object.keys(a.training_mix || {}).map((name) => ({
    name, training: a.training_mix[name], batch: a.class_mix?.[name] ?? null,
  })).sort((x, y) => (y.batch ?? 0) - (x.batch ?? 0));
  const th = (key, cls = 'th.text-end') => h(cls, { scope: 'col' }, t(`adapt.col.${key}`));
  return h('div.table-responsive', { tabindex: '0', role: 'region', 'aria-label': t('adapt.caption') },
    h('table.table.table-sm.align-middle.mb-0.num-table.share-table', { testid: 'adapt-mix-table' },
      h('caption.visually-hidden', t('adapt.caption')),
      h('thead', h('tr', th('class', 'th'), th('training'), th('batch'),
        h('th.d-none.d-sm-table-cell.mix-bar-col', { scope: 'col' }, h('span.visually-hidden', t('adapt.col.bar'))))),
      h('tbody', rows.map((r) => h('tr', { testid: 'adapt-mix-row', dataset: { class: r.name } },
        h('th.fw-medium.text-break', { scope: 'row', testid: 'adapt-mix-class' }, className(diag, r.name)),
        h('td.text-end.text-body-secondary', fmtPct(r.training)),
        h(`td.text-end${r.batch > r.training ? '.fw-semibold' : ''}`, fmtPct(r.batch)),
        h('td.d-none.d-sm-table-cell.mix-bar-col', mixBar(r.batch, r.training)))))));
}

function applied(a, diag) {
  const rows = diag.rows || 0;
  const drifted = diag.drift && diag.drift.verdict !== 'none';
  return [
    h('p.mb-2', { testid: 'adapt-summary', dataset: { changed: String(a.changed) } }, t('adapt.summary', {
      count: a.changed, rows: fmtInt(rows), pct: rows ? fmtPct(a.changed / rows) : '—', iterations: fmtInt(a.iterations),
    })),
    !a.converged && h('div.alert.alert-warning.small.py-2.px-3', { testid: 'adapt-not-converged' },
      t('adapt.notConverged', { iterations: fmtInt(a.iterations) })),
    drifted && h('div.alert.alert-warning.small.py-2.px-3', { testid: 'adapt-drift-warning' }, t('adapt.driftWarning')),
    mixTable(a, diag),
    h('p.small.text-body-secondary.mt-2.mb-0', t('adapt.legend')),
  ];
}

function reason(a) {
  const code = a.reason_code && has(`adapt.reason.${a.reason_code}`) ? a.reason_code : 'other';
  return h('p.mb-0.text-body-secondary', { testid: 'adapt-reason', dataset: { reason: a.reason_code || 'other' } },
    t(`adapt.reason.${code}`, { min: fmtInt(a.min_rows), message: a.reason || '' }));
}

/* The adapt card of a diagnosis, or null when adapting was not asked for. */
export function adaptCard(diag) {
  const a = diag.adapt;
  if (!a) return null;
  return card(t('adapt.title'), a.applied ? applied(a, diag) : reason(a), { testid: 'adapt-card', actions: statusBadge(a) });
}
