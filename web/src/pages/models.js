// pages/models.js - #/models: the trained models, newest first, with their
// headline scores, so that the right one can be picked for diagnosis or
// downloaded without opening it; a link to the leaderboard of them all on
// one dataset; and the recently deleted ones, which can be restored for 7
// days (views/trash.js).

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { fmtPct, fmtBytes, fmtAgo, fmtInt } from '../format.js';
import { pageHeader, card, emptyState, linkButton, badge, toast } from '../ui.js';
import { trashCard } from '../views/trash.js';
import { icon } from '../icons.js';

function modelRow(m, datasets, ctx) {
  const ds = datasets.get(m.dataset_id);
  const last = ctx.prefs.get('last_model_id') === m.id;
  return h(`tr.model-row${last ? '.table-active-soft' : ''}`, { testid: 'model-row', dataset: { id: m.id } },
    h('td.min-w-0',
      h('a.fw-semibold.text-break', { href: `#/models/${m.id}`, testid: 'model-open' }, m.name),
      last && h('span.ms-2', badge(t('models.lastUsed'), 'primary')),
      h('div.small.text-body-secondary', m.algo.toUpperCase(), ' · ', t('models.classesCount', { count: m.classes }), ' · ', t('models.kpisCount', { count: m.features }))),
    h('td.d-none.d-md-table-cell', ds ? h('a', { href: `#/datasets/${ds.id}` }, ds.name) : h('span.text-body-tertiary', m.dataset_id ? `#${m.dataset_id}` : '—')),
    h('td.text-end.num.d-none.d-sm-table-cell', fmtPct(m.accuracy)),
    h('td.text-end.num', fmtPct(m.macro_f1)),
    h('td.text-end.d-none.d-lg-table-cell.num', fmtBytes(m.size_bytes)),
    h('td.d-none.d-lg-table-cell.text-nowrap', fmtAgo(m.created_at)),
    h('td.text-end.text-nowrap',
      h('a.btn.btn-sm.btn-icon.btn-ghost', { href: `#/diagnose?model=${m.id}`, 'aria-label': t('models.diagnoseWith', { name: m.name }), title: t('nav.diagnose') }, icon('diagnose')),
      h('a.btn.btn-sm.btn-icon.btn-ghost', { href: ctx.api.models.downloadUrl(m.id), download: '', 'aria-label': t('models.downloadNamed', { name: m.name }), title: t('model.downloadModel') }, icon('download'))));
}

export async function render(view, ctx) {
  const [all, datasets] = await Promise.all([
    ctx.api.models.list({ signal: ctx.signal, includeDeleted: true }),
    ctx.api.datasets.list({ signal: ctx.signal, includeDeleted: true }),
  ]);
  const models = all.filter((m) => !m.deleted_at);
  const trash = trashCard(all, {
    kind: 'model',
    restore: (m) => ctx.api.models.restore(m.id),
    onRestored: (m) => { toast(t('model.restored', { name: m.name })); ctx.rerender(); },
    href: (m) => `#/models/${m.id}`,
  });
  const byId = new Map(datasets.map((d) => [d.id, d]));
  view.append(pageHeader(t('models.title'), {
    subtitle: t('models.subtitle'),
    actions: [
      linkButton(t('models.leaderboard'), '#/models/leaderboard', { iconName: 'bars', testid: 'models-leaderboard-link' }),
      linkButton(t('models.trainNew'), '#/train', { variant: 'primary', iconName: 'train' }),
    ],
  }));
  if (!models.length) {
    view.append(card(null, emptyState('model', t('models.empty'), t('models.emptyText'), linkButton(t('models.trainNew'), '#/train', { variant: 'primary', iconName: 'train' }))));
    if (trash) view.append(h('div.mt-4', trash));
    return;
  }
  view.append(card(null, h('div.table-responsive', h('table.table.table-hover.align-middle.mb-0.models-table',
    h('caption.visually-hidden', t('models.title')),
    h('thead', h('tr',
      h('th', { scope: 'col' }, t('models.col.name')),
      h('th.d-none.d-md-table-cell', { scope: 'col' }, t('models.col.dataset')),
      h('th.text-end.d-none.d-sm-table-cell', { scope: 'col' }, t('models.col.accuracy')),
      h('th.text-end', { scope: 'col' }, t('models.col.macroF1')),
      h('th.text-end.d-none.d-lg-table-cell', { scope: 'col' }, t('models.col.size')),
      h('th.d-none.d-lg-table-cell', { scope: 'col' }, t('models.col.created')),
      h('th.text-end', { scope: 'col' }, h('span.visually-hidden', t('models.col.actions'))))),
    h('tbody', models.map((m) => modelRow(m, byId, ctx))))), { bodyCls: 'p-0' }),
  h('p.small.text-body-secondary.mt-3', t('models.count', { count: models.length, n: fmtInt(models.length) })),
  trash && h('div.mt-4', trash));
}
