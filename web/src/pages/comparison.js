// pages/comparison.js - #/models/ID/comparison: a model retrained with people's
// labels (docs/api.md: a model's "feedback") next to the model it retrained,
// on exactly the rows that were labelled: accuracy and macro-F1 of each,
// how many rows the new one fixed or broke, per class, and row by row,
// linking both models and the diagnoses the rows came from.
//
// Honest about what that is: the new model learnt from these rows, so its
// score on them is in-sample and flatters it. Each model's own
// out-of-sample estimate (cross-validation, hold-out or out-of-bag, as the
// training had) is shown beside it, which is the figure to trust for data
// the model has not seen.

import { h, clear } from '../dom.js';
import { t } from '../i18n.js';
import { fmtInt, fmtPct } from '../format.js';
import { pageHeader, card, statTile, statGrid, linkButton, button, emptyState } from '../ui.js';
import { className } from '../classnames.js';

const ROWS_SHOWN = 200;

function scoreTiles(cmp) {
  const delta = (a, b) => (typeof a === 'number' && typeof b === 'number' ? `${b >= a ? '+' : ''}${fmtPct(b - a)}` : null);
  return statGrid(
    statTile(t('comparison.oldAccuracy'), fmtPct(cmp.old.accuracy), { testid: 'comparison-old-accuracy', valueAttrs: { 'data-value': String(cmp.old.accuracy) } }),
    statTile(t('comparison.newAccuracy'), fmtPct(cmp.new.accuracy), { testid: 'comparison-new-accuracy', tone: 'primary', hint: delta(cmp.old.accuracy, cmp.new.accuracy), valueAttrs: { 'data-value': String(cmp.new.accuracy) } }),
    statTile(t('comparison.oldF1'), fmtPct(cmp.old.macro_f1), { testid: 'comparison-old-f1' }),
    statTile(t('comparison.newF1'), fmtPct(cmp.new.macro_f1), { testid: 'comparison-new-f1', tone: 'primary', hint: delta(cmp.old.macro_f1, cmp.new.macro_f1) }),
    statTile(t('comparison.fixed'), fmtInt(cmp.fixed), { testid: 'comparison-fixed', tone: cmp.fixed ? 'success' : '' }),
    statTile(t('comparison.broken'), fmtInt(cmp.broken), { testid: 'comparison-broken', tone: cmp.broken ? 'warning' : '' }));
}

function estimatesCard(est) {
  const src = (e) => (e?.source ? t(`comparison.source.${e.source}`) : t('comparison.source.none'));
  const row = (name, e, testid) => h('tr', { testid },
    h('th', { scope: 'row' }, name),
    h('td', src(e)),
    h('td.num', fmtPct(e?.macro_f1)),
    h('td.num', fmtPct(e?.accuracy)));
  return card(t('comparison.estimates'), [
    h('p.small.text-body-secondary', t('comparison.estimatesHint')),
    h('div.table-responsive', { tabindex: '0', role: 'region', 'aria-label': t('comparison.estimates') },
      h('table.table.table-sm.align-middle.mb-0.num-table', { testid: 'comparison-estimates' },
        h('thead', h('tr', h('th', { scope: 'col' }, t('comparison.col.model')), h('th', { scope: 'col' }, t('comparison.col.source')),
          h('th.num', { scope: 'col' }, t('model.macroF1')), h('th.num', { scope: 'col' }, t('model.accuracy')))),
        h('tbody', row(t('comparison.old'), est?.old, 'estimate-old'), row(t('comparison.new'), est?.new, 'estimate-new')))),
  ]);
}

function perClassCard(cmp, model) {
  return card(t('comparison.perClass'), h('div.table-responsive', { tabindex: '0', role: 'region', 'aria-label': t('comparison.perClass') },
    h('table.table.table-sm.align-middle.mb-0.num-table', { testid: 'comparison-per-class' },
      h('thead', h('tr', h('th', { scope: 'col' }, t('comparison.col.class')), h('th.num', { scope: 'col' }, t('comparison.col.labelled')),
        h('th.num', { scope: 'col' }, t('comparison.col.oldF1')), h('th.num', { scope: 'col' }, t('comparison.col.newF1')))),
      h('tbody', (cmp.per_class || []).map((c) => h('tr',
        h('th', { scope: 'row', dataset: { label: c.class } }, className(model, c.class)), h('td.num', fmtInt(c.labelled)), h('td.num', fmtPct(c.old_f1)), h('td.num', fmtPct(c.new_f1))))))),
  { bodyCls: 'p-0' });
}

function rowsCard(cmp, model) {
  const col = Object.fromEntries(cmp.columns.map((name, i) => [name, i]));
  const all = cmp.rows.map((r) => ({
    diagnosis: r[col.diagnosis_id], row: r[col.row], sample: r[col.sample_id], label: r[col.label], old: r[col.old], new: r[col.new],
  }));
  let onlyChanged = false;
  let showAll = false;
  const body = h('tbody');
  const note = h('span.small.text-body-secondary', { 'aria-live': 'polite' });
  const more = button(t('comparison.showLess'), { variant: 'link', size: 'sm', testid: 'comparison-show-all', onClick: () => { showAll = !showAll; draw(); } });
  const filter = h('input.form-check-input', { type: 'checkbox', id: 'comparison-only-changed', testid: 'comparison-only-changed', on: { change: () => { onlyChanged = filter.checked; draw(); } } });
  const mark = (r) => {
    const okOld = r.old === r.label;
    const okNew = r.new === r.label;
    if (!okOld && okNew) return h('span.badge.badge-soft-success', t('comparison.mark.fixed'));
    if (okOld && !okNew) return h('span.badge.badge-soft-warning', t('comparison.mark.broken'));
    return h('span.badge.badge-soft-secondary', t(okNew ? 'comparison.mark.right' : 'comparison.mark.wrong'));
  };
  const draw = () => {
    const list = onlyChanged ? all.filter((r) => r.old !== r.new) : all;
    const shown = showAll ? list : list.slice(0, ROWS_SHOWN);
    clear(body, shown.map((r) => h('tr', { testid: 'comparison-row', dataset: { row: String(r.row), label: r.label, old: r.old, new: r.new } },
      h('td', h('a', { href: `#/diagnoses/${r.diagnosis}` }, `#${r.diagnosis}`)),
      h('th.num', { scope: 'row' }, String(r.row)),
      h('td.d-none.d-md-table-cell.text-break', r.sample),
      h('td', className(model, r.label)),
      h(`td${r.old === r.label ? '' : '.text-danger'}`, className(model, r.old)),
      h(`td${r.new === r.label ? '' : '.text-danger'}`, className(model, r.new)),
      h('td', mark(r)))));
    note.textContent = t('comparison.shown', { shown: fmtInt(shown.length), total: fmtInt(list.length) });
    more.hidden = list.length <= ROWS_SHOWN;
    more.lastChild.textContent = showAll ? t('comparison.showLess') : t('comparison.showAll', { total: fmtInt(list.length) });
  };
  draw();
  return card(t('comparison.rows'), [
    h('div.d-flex.flex-wrap.gap-3.align-items-center.mb-2',
      h('div.form-check.mb-0', filter, h('label.form-check-label', { for: 'comparison-only-changed' }, t('comparison.onlyChanged'))),
      note, more),
    h('div.table-responsive.table-scroll', { tabindex: '0', role: 'region', 'aria-label': t('comparison.rows') },
      h('table.table.table-sm.align-middle.mb-0', { testid: 'comparison-rows' },
        h('caption.visually-hidden', t('comparison.rows')),
        h('thead', h('tr',
          h('th', { scope: 'col' }, t('comparison.col.diagnosis')), h('th.num', { scope: 'col' }, t('results.col.row')),
          h('th.d-none.d-md-table-cell', { scope: 'col' }, t('results.col.sample')), h('th', { scope: 'col' }, t('comparison.col.label')),
          h('th', { scope: 'col' }, t('comparison.col.old')), h('th', { scope: 'col' }, t('comparison.col.new')),
          h('th', { scope: 'col' }, h('span.visually-hidden', t('comparison.col.outcome'))))),
        body))]);
}

export async function render(view, ctx) {
  const model = await ctx.api.models.get(ctx.params.id, { signal: ctx.signal });
  const fb = model.feedback;
  const parentLink = model.parent_id
    ? h('a', { href: `#/models/${model.parent_id}`, testid: 'comparison-old-link' }, t('comparison.oldModel', { id: model.parent_id }))
    : t('comparison.parentGone');
  view.append(pageHeader(t('comparison.title'), {
    eyebrow: t('model.eyebrow', { id: model.id }),
    subtitle: [h('a', { href: `#/models/${model.id}`, testid: 'comparison-new-link' }, model.name), ' · ', t('comparison.retrainedFrom'), ' ', parentLink],
    actions: [
      linkButton(t('comparison.openNew'), `#/models/${model.id}`, { variant: 'primary', iconName: 'model' }),
      linkButton(t('model.diagnoseWith'), `#/diagnose?model=${model.id}`, { iconName: 'diagnose' }),
    ],
  }));
  if (!fb?.comparison) {
    view.append(emptyState('model', t('comparison.none'), t('comparison.noneText'), linkButton(t('comparison.openNew'), `#/models/${model.id}`)));
    return;
  }
  const cmp = fb.comparison;
  view.append(h('div.d-flex.flex-column.gap-4', { testid: 'comparison-body' },
    h('div.alert.alert-warning.mb-0', { role: 'note', testid: 'comparison-in-sample' },
      h('div.fw-semibold', t('comparison.inSampleTitle')), t('comparison.inSample', { rows: fmtInt(fb.rows) })),
    h('p.mb-0', { testid: 'comparison-summary' }, t('comparison.summary', {
      rows: fmtInt(fb.rows), count: fb.diagnosis_ids.length, weight: fb.weight,
    }), fb.new_classes?.length ? ` ${t('comparison.newClasses', { names: fb.new_classes.map((c) => className(model, c)).join(', ') })}` : ''),
    scoreTiles(cmp),
    h('div.row.g-4',
      h('div.col-xl-6', estimatesCard(cmp.estimates)),
      h('div.col-xl-6', perClassCard(cmp, model))),
    rowsCard(cmp, model)));
}
