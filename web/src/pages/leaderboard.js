// pages/leaderboard.js - #/models/leaderboard[?dataset=ID]: the user's
// models side by side on one labelled dataset they pick (POST
// /models/leaderboard, docs/api.md): accuracy, macro-F1 and per-class F1 of
// each on exactly those rows, its own out-of-sample estimate beside it, the
// best first; a model trained on that very dataset is marked in-sample (its
// score there flatters it), and the models that cannot read the dataset are
// listed apart with why. The server bounds the work (models, rows) and says
// so; the page shows what it answers.

import { h, clear } from '../dom.js';
import { t } from '../i18n.js';
import { fmtPct, fmtInt } from '../format.js';
import { className } from '../classnames.js';
import { pageHeader, card, field, select, button, errorAlert, emptyState, linkButton, spinner, badge } from '../ui.js';

/* The name a label reads by: the first of the user's models that names it. */
function labelName(models, label) {
  const named = models.find((m) => m.class_names?.[label]);
  return className(named || null, label);
}

function scoreTable(board, models) {
  const rows = board.models.filter((m) => m.applicable);
  if (!rows.length) return h('p.mb-0', { testid: 'leaderboard-none' }, t('leaderboard.noneApplicable'));
  const head = [
    h('th', { scope: 'col' }, t('leaderboard.col.rank')),
    h('th', { scope: 'col' }, t('leaderboard.col.model')),
    h('th.text-end', { scope: 'col' }, t('leaderboard.col.accuracy')),
    h('th.text-end', { scope: 'col' }, t('leaderboard.col.macroF1')),
    h('th.text-end', { scope: 'col' }, t('leaderboard.col.estimate')),
    ...board.labels.map((l) => h('th.text-end', { scope: 'col', dataset: { label: l } }, t('leaderboard.col.f1Of', { name: labelName(models, l) }))),
  ];
  return h('div.table-responsive.table-scroll', { tabindex: '0', role: 'region', 'aria-label': t('leaderboard.caption') },
    h('table.table.table-sm.align-middle.mb-0.num-table', { testid: 'leaderboard-table' },
      h('caption.visually-hidden', t('leaderboard.caption')),
      h('thead', h('tr', head)),
      h('tbody', rows.map((m, i) => h('tr', { testid: 'leaderboard-row', dataset: { modelId: String(m.model_id), inSample: String(m.in_sample) } },
        h('td.num', String(i + 1)),
        h('th.fw-medium', { scope: 'row' },
          h('a', { href: `#/models/${m.model_id}` }, m.name),
          h('div.small.text-body-secondary', m.algo.toUpperCase(), m.in_sample ? [' · ', badge(t('leaderboard.inSample'), 'warning', { testid: 'leaderboard-in-sample-badge' })] : null)),
        h('td.text-end', { dataset: { value: String(m.accuracy) } }, fmtPct(m.accuracy)),
        h('td.text-end.fw-semibold', { testid: 'leaderboard-macro-f1', dataset: { value: String(m.macro_f1) } }, fmtPct(m.macro_f1)),
        h('td.text-end.text-body-secondary', m.estimate?.macro_f1 == null ? '—' : [fmtPct(m.estimate.macro_f1), h('div.small', t(`leaderboard.source.${m.estimate.source}`))]),
        ...board.labels.map((l) => h('td.text-end', m.per_class_f1?.[l] == null ? '—' : fmtPct(m.per_class_f1[l]))))))));
}

function notApplicable(board) {
  const rows = board.models.filter((m) => !m.applicable);
  if (!rows.length) return null;
  return card(t('leaderboard.notApplicable'), h('ul.mb-0.ps-3', { testid: 'leaderboard-na' },
    rows.map((m) => h('li.mb-1', { testid: 'leaderboard-na-row', dataset: { modelId: String(m.model_id) } },
      h('a', { href: `#/models/${m.model_id}` }, m.name), ' — ', h('span.text-break', m.reason)))));
}

function boardView(board, models) {
  const inSample = board.models.some((m) => m.applicable && m.in_sample);
  return h('div.d-flex.flex-column.gap-4', { testid: 'leaderboard-body' },
    h('p.mb-0', { testid: 'leaderboard-summary' }, t('leaderboard.summary', {
      name: board.dataset.name, rows: fmtInt(board.dataset.rows), models: fmtInt(board.models.length),
    })),
    inSample && h('div.alert.alert-warning.mb-0', { role: 'note', testid: 'leaderboard-in-sample' },
      h('div.fw-semibold', t('leaderboard.inSampleTitle')), t('leaderboard.inSampleText')),
    board.truncated && h('div.alert.alert-info.mb-0', { role: 'note', testid: 'leaderboard-truncated' },
      t('leaderboard.truncated', { max: fmtInt(board.limits.max_models) })),
    card(t('leaderboard.caption'), scoreTable(board, models), { bodyCls: 'p-0' }),
    notApplicable(board),
    h('p.small.text-body-secondary.mb-0', t('leaderboard.legend')));
}

export async function render(view, ctx) {
  const [datasets, models] = await Promise.all([
    ctx.api.datasets.list({ signal: ctx.signal }),
    ctx.api.models.list({ signal: ctx.signal }),
  ]);
  view.append(pageHeader(t('leaderboard.title'), {
    subtitle: t('leaderboard.subtitle'),
    actions: linkButton(t('leaderboard.back'), '#/models', { iconName: 'left' }),
  }));
  if (!datasets.length) {
    view.append(card(null, emptyState('database', t('leaderboard.noData'), t('leaderboard.noDataText'), linkButton(t('train.goUpload'), '#/datasets', { variant: 'primary', iconName: 'upload' }))));
    return;
  }
  const wanted = Number(ctx.query.dataset) || ctx.prefs.get('last_dataset_id');
  const dsSelect = select(datasets.map((d) => ({ value: d.id, label: t('leaderboard.datasetOption', { name: d.name, rows: fmtInt(d.rows) }) })), {
    value: datasets.some((d) => d.id === wanted) ? wanted : datasets[0].id, testid: 'leaderboard-dataset',
  });
  const result = h('div', { 'aria-live': 'polite' });
  const score = async () => {
    const datasetId = Number(dsSelect.value);
    clear(result, spinner(t('leaderboard.scoring')));
    go.disabled = true;
    try {
      const board = await ctx.api.models.leaderboard(datasetId, null, { signal: ctx.signal, label: t('leaderboard.scoring') });
      clear(result, boardView(board, models));
    } catch (e) {
      if (!ctx.signal.aborted) clear(result, errorAlert(e, { testid: 'leaderboard-error', retry: score }));
    } finally {
      go.disabled = false;
    }
  };
  const go = button(t('leaderboard.score'), { iconName: 'bars', testid: 'leaderboard-score', onClick: score });
  view.append(h('div.d-flex.flex-column.gap-4',
    card(null, h('div.row.g-3.align-items-end',
      h('div.col-md-8', field(t('leaderboard.dataset'), dsSelect, { help: t('leaderboard.datasetHelp'), cls: 'mb-0' })),
      h('div.col-md-4', go))),
    result));
  if (ctx.query.dataset) score();
}
