// pages/train.js - #/train[?dataset=ID]: choose a dataset and an algorithm,
// adjust the parameters (defaults and help text from params.js), start a
// training job and go to its live page. Checks ranges before sending, and
// maps the server's invalid_params field back onto the input it names.
// A side panel lists recent jobs so that running ones are one click away.

import { h, clear } from '../dom.js';
import { t } from '../i18n.js';
import { PARAMS, readParam } from '../params.js';
import { fmtInt, fmtAgo, fmtPct } from '../format.js';
import { pageHeader, card, field, setInvalid, select, errorAlert, emptyState, linkButton, stateBadge, button } from '../ui.js';
import { isFinished } from '../jobwatch.js';

function paramControl(p) {
  const testid = `param-${p.name}`;
  if (p.kind === 'bool') return h('input.form-check-input', { type: 'checkbox', checked: p.def, testid, name: testid });
  if (p.kind === 'choice') return select(p.choices.map((c) => ({ value: c, label: t(`param.${p.name}.${c}`) })), { value: p.def, testid });
  return h('input.form-control', {
    type: 'number', testid, name: testid, value: String(p.def), inputmode: p.kind === 'int' ? 'numeric' : 'decimal',
    step: p.kind === 'int' ? '1' : String(p.step || 'any'), min: p.min !== undefined && !p.minExclusive ? String(p.min) : null,
    max: p.max !== undefined ? String(p.max) : null,
  });
}

function paramField(p, controls) {
  const control = paramControl(p);
  controls.set(p.name, control);
  const help = t(`param.${p.name}.help`, { def: p.kind === 'bool' ? t(p.def ? 'common.yes' : 'common.no') : p.def });
  return h(p.kind === 'bool' ? 'div.col-12' : 'div.col-sm-6.col-xl-4',
    field(t(`param.${p.name}.label`), control, { help, cls: 'mb-0' }));
}

function datasetLabel(d) {
  return t('train.datasetOption', { name: d.name, rows: fmtInt(d.rows), features: fmtInt(d.features) });
}

function jobsCard(jobs) {
  if (!jobs.length) return card(t('train.recent'), emptyState('train', t('train.noJobs'), t('train.noJobsText')));
  return card(t('train.recent'), h('div.list-group.list-group-flush', jobs.map((j) => h('a.list-group-item.list-group-item-action.job-item', { href: `#/jobs/${j.id}` },
    h('div.d-flex.align-items-center.gap-2', h('span.fw-semibold.text-truncate.flex-grow-1', j.name), stateBadge(j.state, { class: 'state-badge' })),
    h('div.small.text-body-secondary.d-flex.gap-2', h('span', t(`job.type.${j.type}`)), h('span', '·'), h('span', fmtAgo(j.created_at)),
      !isFinished(j) && h('span.ms-auto', fmtPct(j.progress, 0)))))), { bodyCls: 'p-0' });
}

export async function render(view, ctx) {
  const [datasets, jobs] = await Promise.all([
    ctx.api.datasets.list({ signal: ctx.signal }),
    ctx.api.jobs.recent({ signal: ctx.signal, limit: 8 }),
  ]);
  view.append(pageHeader(t('train.title'), { subtitle: t('train.subtitle') }));
  const side = h('div.col-lg-4', jobsCard(jobs));
  if (!datasets.length) {
    view.append(h('div.row.g-4', h('div.col-lg-8', card(null, emptyState('database', t('train.noDatasets'), t('train.noDatasetsText'),
      linkButton(t('train.goUpload'), '#/datasets', { variant: 'primary', iconName: 'upload' })))), side));
    return;
  }
  const wanted = Number(ctx.query.dataset) || ctx.prefs.get('last_dataset_id');
  const dsSelect = select(datasets.map((d) => ({ value: d.id, label: datasetLabel(d) })), {
    value: datasets.some((d) => d.id === wanted) ? wanted : datasets[0].id, testid: 'train-dataset',
  });
  const algo = select([{ value: 'gbdt', label: t('train.algo.gbdt') }], { value: 'gbdt', testid: 'train-algo' });
  const name = h('input.form-control', { type: 'text', testid: 'train-name', name: 'train-name', maxlength: '255', autocomplete: 'off' });
  const setNamePlaceholder = () => {
    const d = datasets.find((x) => String(x.id) === dsSelect.value);
    name.placeholder = d ? `${d.name} (gbdt)` : '';
  };
  setNamePlaceholder();
  dsSelect.addEventListener('change', setNamePlaceholder);

  const controls = new Map();
  const main = PARAMS.filter((p) => p.main);
  const advanced = PARAMS.filter((p) => !p.main);
  const errorBox = h('div', { testid: 'train-error' });
  const submit = button(t('train.start'), { iconName: 'play', type: 'submit', testid: 'train-start', attrs: { class: 'btn-lg' } });
  const reset = button(t('train.reset'), {
    variant: 'link', onClick: () => {
      for (const p of PARAMS) {
        const c = controls.get(p.name);
        if (p.kind === 'bool') c.checked = p.def; else c.value = String(p.def);
        setInvalid(c, null);
      }
    },
  });

  const form = h('form.train-form', { novalidate: true },
    card(t('train.data'), h('div.row.g-3',
      h('div.col-md-7', field(t('train.dataset'), dsSelect, { help: t('train.datasetHelp'), cls: 'mb-0' })),
      h('div.col-md-5', field(t('train.algorithm'), algo, { help: t('train.algoHelp'), cls: 'mb-0' })),
      h('div.col-12', field(t('train.name'), name, { help: t('train.nameHelp'), cls: 'mb-0' })))),
    card(t('train.params'), h('div.row.g-3', main.map((p) => paramField(p, controls))), { actions: reset, cls: 'mt-4' }),
    h('details.card.app-card.mt-4.advanced',
      h('summary.card-header', h('span.h6.mb-0', t('train.advanced')), h('span.small.text-body-secondary.ms-2', t('train.advancedHint'))),
      h('div.card-body', h('div.row.g-3', advanced.map((p) => paramField(p, controls))))),
    h('div.mt-4', errorBox),
    h('div.d-flex.flex-wrap.align-items-center.gap-3.mt-3', submit, h('span.small.text-body-secondary', t('train.startHint'))));

  const collect = () => {
    const params = {};
    let firstBad = null;
    for (const p of PARAMS) {
      const c = controls.get(p.name);
      const r = readParam(p, c);
      setInvalid(c, r.error ? t(r.error, r.args) : null);
      if (r.error) { firstBad = firstBad || c; continue; }
      if (p.main || r.value !== p.def) params[p.name] = r.value;
    }
    if (firstBad) {
      const det = firstBad.closest('details');
      if (det) det.open = true;
      firstBad.focus();
      return null;
    }
    return params;
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(errorBox);
    const params = collect();
    if (!params) return;
    const datasetId = Number(dsSelect.value);
    submit.disabled = true;
    try {
      const job = await ctx.api.jobs.train({ datasetId, algo: algo.value, params, name: name.value.trim() }, { label: t('train.starting') });
      ctx.prefs.set({ last_dataset_id: datasetId });
      ctx.navigate(`#/jobs/${job.id}`);
    } catch (e) {
      const fieldName = String(e.details?.field || '').replace(/^params\./, '');
      const control = controls.get(fieldName);
      if (control) {
        setInvalid(control, e.message);
        const det = control.closest('details');
        if (det) det.open = true;
        control.focus();
      }
      clear(errorBox, errorAlert(e, { retry: e.kind === 'network' ? () => form.requestSubmit() : null }));
    } finally {
      submit.disabled = false;
    }
  });

  view.append(h('div.row.g-4', h('div.col-lg-8', form), side));
}
