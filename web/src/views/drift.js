// views/drift.js - whether a diagnosis's samples have drifted away from the
// model's training data (docs/api.md, DRIFT): the verdict as a badge, what it
// means and what to do, and the KPIs that moved most with their PSI and KS,
// the significant ones highlighted. The rules' numbers come with the report
// (its thresholds), so this file repeats none of them; a report that could
// not be made says why (drift_skipped).

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { fmtInt, fmtNum, fmtFixed, fmtPct } from '../format.js';
import { card } from '../ui.js';

const TONE = { none: 'success', moderate: 'warning', severe: 'danger' };
const ROW_TONE = { moderate: 'table-warning', severe: 'table-danger' };

function verdictBadge(verdict) {
  const tone = TONE[verdict] || 'secondary';
  return h(`span.badge.rounded-pill.badge-soft-${tone}.drift-badge`, {
    testid: 'drift-verdict', dataset: { verdict: verdict || 'skipped' },
  }, t(`drift.verdict.${verdict || 'skipped'}`));
}

/* Worst first, as the report lists them; the level next to the name so
 * that a phone shows it without scrolling the table sideways. */
function kpiTable(d) {
  const th = (key, cls = 'th.text-end') => h(cls, { scope: 'col' }, t(`drift.col.${key}`));
  const num = (text, strong) => h(`td.text-end${strong ? '.fw-semibold' : ''}`, text);
  return h('div.table-responsive', { tabindex: '0', role: 'region', 'aria-label': t('drift.caption') },
    h('table.table.table-sm.align-middle.mb-0.num-table', { testid: 'drift-table' },
      h('caption.visually-hidden', t('drift.caption')),
      h('thead', h('tr', th('kpi', 'th'), th('level', 'th'), th('psi'), th('ks'), th('ksLimit'), th('missing'))),
      h('tbody', d.kpis.map((k) => h(`tr${ROW_TONE[k.level] ? `.${ROW_TONE[k.level]}` : ''}`, {
        testid: 'drift-row', dataset: { kpi: k.kpi, significant: String(k.significant) },
      },
      h('th.fw-medium.text-nowrap', { scope: 'row' }, k.kpi),
      h('td.text-nowrap', k.significant ? h(`span.badge.badge-soft-${TONE[k.level]}`, t(`drift.level.${k.level}`)) : t('drift.level.none')),
      num(fmtNum(k.psi, 3), k.significant),
      num(fmtFixed(k.ks), k.significant),
      h('td.text-end.text-body-secondary', fmtFixed(k.ks_critical)),
      h('td.text-end.text-nowrap', t('drift.missingChange', { before: fmtPct(k.missing_reference), after: fmtPct(k.missing_batch) })))))));
}

function classMix(d, diag) {
  const total = diag.rows || 0;
  const items = Object.entries(d.reference_class_mix || {}).map(([name, share]) =>
    h('li.list-inline-item.me-3', h('span.fw-medium', name), ' ',
      t('drift.mixItem', { training: fmtPct(share), now: total ? fmtPct((diag.class_counts?.[name] || 0) / total) : '—' })));
  return items.length ? h('div.small.mt-3',
    h('div.text-body-secondary', t('drift.classMix')),
    h('ul.list-inline.mb-0', items)) : null;
}

function report(d, diag) {
  const th = d.thresholds;
  return [
    h('p.mb-2', { testid: 'drift-summary' }, t('drift.summary', {
      count: d.significant, total: fmtInt(d.kpis_total), rows: fmtInt(d.rows), reference: fmtInt(d.reference_rows),
    })),
    h(`div.alert.alert-${TONE[d.verdict]}.small.py-2.px-3`, { testid: 'drift-advice' },
      t(`drift.advice.${d.verdict}`)),
    kpiTable(d),
    d.kpis.length < d.kpis_total && h('div.small.text-body-secondary.mt-2', t('drift.shown', { shown: fmtInt(d.kpis.length), total: fmtInt(d.kpis_total) })),
    h('p.small.text-body-secondary.mt-2.mb-0', t('drift.legend', {
      psiModerate: fmtNum(th.psi_moderate), psiSevere: fmtNum(th.psi_severe), ksMaterial: fmtNum(th.ks_material), alpha: fmtPct(th.alpha, 0),
    })),
    classMix(d, diag),
  ];
}

/* The drift card of a diagnosis, or null for one made before drift checks
 * (it has neither drift nor drift_skipped). */
export function driftCard(diag) {
  const d = diag.drift;
  const skipped = diag.drift_skipped;
  if (!d && !skipped) return null;
  const body = d ? report(d, diag)
    : h('p.mb-0.text-body-secondary', { testid: 'drift-skipped', dataset: { reason: skipped.reason } },
      t(`drift.skipped.${skipped.reason}`, { min: fmtInt(skipped.min_rows), message: skipped.message || '' }));
  return card(t('drift.title'), body, { testid: 'drift-card', actions: verdictBadge(d ? d.verdict : null) });
}

const BANNER_KPIS = 3;

/* A banner above a drifted diagnosis's results (moderate or severe drift):
 * the verdict, the KPIs that moved most (significant ones, worst first)
 * and a button to the full report (driftCard, testid drift-card); null
 * when the batch did not drift or was not checked. */
export function driftBanner(diag) {
  const d = diag.drift;
  if (!d || d.verdict === 'none' || !TONE[d.verdict]) return null;
  const worst = d.kpis.filter((k) => k.significant);
  const names = worst.slice(0, BANNER_KPIS).map((k) => k.kpi);
  const more = worst.length - names.length;
  const show = () => {
    const target = document.querySelector('[data-testid="drift-card"]');
    if (!target) return;
    target.scrollIntoView({ behavior: 'smooth', block: 'start' });
    target.setAttribute('tabindex', '-1');
    target.focus({ preventScroll: true });
  };
  return h(`div.alert.alert-${TONE[d.verdict]}.d-flex.flex-wrap.align-items-center.gap-2.mb-0`, {
    role: 'status', testid: 'drift-banner', dataset: { verdict: d.verdict, kpis: names.join(',') },
  },
  h('div.flex-grow-1',
    h('span.fw-semibold', t(`drift.banner.${d.verdict}`)), ' ',
    t('drift.banner.kpis', { kpis: names.join(', ') }),
    more > 0 && ` ${t('drift.banner.more', { count: more })}`),
  h('button.alert-link.border-0.bg-transparent.p-0.text-decoration-underline', { type: 'button', testid: 'drift-banner-show', on: { click: show } }, t('drift.banner.show')));
}

/* A caveat when the batch is (partly) the model's training data
 * (DIAGNOSIS.training_overlap: verdict some | training_data): the
 * confidence and any scores against labels are optimistic there. Null
 * when none of it is, or for a diagnosis made before the check. */
export function trainingCaveat(diag) {
  const o = diag.training_overlap;
  if (!o || (o.verdict !== 'some' && o.verdict !== 'training_data')) return null;
  return h(`div.alert.alert-${o.verdict === 'training_data' ? 'warning' : 'info'}.mb-0`, {
    role: 'status', testid: 'training-caveat', dataset: { verdict: o.verdict },
  }, t(`drift.training.${o.verdict}`, { share: fmtPct(o.share), checked: fmtInt(o.rows_checked), found: fmtInt(o.rows_in_training) }));
}
