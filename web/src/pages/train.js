// pages/train.js - #/train[?dataset=ID]: choose a dataset and an algorithm,
// adjust the parameters, start a training job and go to its live page. The
// algorithms and their parameters (defaults, ranges, help) come from the
// server (ctx.api.algorithms); switching the algorithm re-renders its
// parameters. Types and ranges are checked before sending, and the server's
// invalid_params field is mapped back onto the input it names. An optional
// class-names CSV (csv.js) names the model's classes (params.class_names).
// A side panel lists recent jobs so that running ones are one click away.

import { h, clear } from '../dom.js';
import { t, has } from '../i18n.js';
import { fmtInt, fmtAgo, fmtPct } from '../format.js';
import { pageHeader, card, field, setInvalid, select, errorAlert, emptyState, linkButton, stateBadge, button, errorDetail } from '../ui.js';
import { isFinished } from '../jobwatch.js';
import { paramCards, collectParams, readParam, reveal } from '../views/param-fields.js';
import { classNamesFromCsv, PasteError } from '../csv.js';
import { isReady, ingestReason } from '../views/profile.js';

// The algorithm last chosen here, so that a re-render (a change of
// language) keeps it along with the typed values.
let chosenAlgo = null;

const algoLabel = (name) => (has(`train.algo.${name}`) ? t(`train.algo.${name}`) : name);
const algoHelp = (name) => (has(`train.algoHelp.${name}`) ? t(`train.algoHelp.${name}`) : null);

function datasetLabel(d) {
  const text = t('train.datasetOption', { name: d.name, rows: fmtInt(d.rows), features: fmtInt(d.features) });
  if (!isReady(d)) return `${d.name} · ${ingestReason(d)}`;
  if (d.kind === 'incidents') return `${text} · ${t('train.incidentTag')}`;
  return d.trainable === false ? `${text} · ${t(d.classes ? 'train.oneClassTag' : 'train.noLabelTag')}` : text;
}

/* Why the chosen dataset cannot be trained on (docs/api.md: a dataset's
 * "trainable" and "classes"), or null. */
function untrainableNote(d) {
  if (d && !isReady(d)) { // being ingested, or its ingestion failed
    return h('div.alert.alert-warning.mb-0', { role: 'status', testid: 'train-unlabelled', dataset: { reason: d.state } },
      h('div.fw-semibold', ingestReason(d)),
      h('a.small', { href: `#/datasets/${d.id}` }, t('train.seeDataset')));
  }
  if (d?.kind === 'incidents') { // the server refuses to train on one (docs/api.md)
    return h('div.alert.alert-warning.mb-0', { role: 'status', testid: 'train-unlabelled', dataset: { reason: 'incidents' } },
      h('div.fw-semibold', t('train.incidentTitle', { name: d.name })),
      h('div.small', t('train.incidentText')),
      h('a.small', { href: '#/rca' }, t('dataset.analyse')));
  }
  if (!d || d.trainable !== false) return null;
  return h('div.alert.alert-warning.mb-0', { role: 'status', testid: 'train-unlabelled' },
    h('div.fw-semibold', t(d.classes ? 'train.oneClassTitle' : 'train.noLabelTitle', { name: d.name })),
    h('div.small', t(d.classes ? 'train.oneClassText' : 'train.noLabelText')),
    h('a.small', { href: `#/datasets/${d.id}` }, t('train.seeDataset')));
}

function jobsCard(jobs) {
  if (!jobs.length) return card(t('train.recent'), emptyState('train', t('train.noJobs'), t('train.noJobsText')));
  return card(t('train.recent'), h('div.list-group.list-group-flush', jobs.map((j) => h('a.list-group-item.list-group-item-action.job-item', { href: `#/jobs/${j.id}` },
    h('div.d-flex.align-items-center.gap-2', h('span.fw-semibold.text-truncate.flex-grow-1', j.name), stateBadge(j.state, { class: 'state-badge' })),
    h('div.small.text-body-secondary.d-flex.gap-2', h('span', t(`job.type.${j.type}`)), h('span', '·'), h('span', fmtAgo(j.created_at)),
      !isFinished(j) && h('span.ms-auto', fmtPct(j.progress, 0)))))), { bodyCls: 'p-0' });
}

export async function render(view, ctx) {
  // A failed algorithms request is shown in the form's place, with Retry.
  const [datasets, jobs, algorithms] = await Promise.all([
    ctx.api.datasets.list({ signal: ctx.signal }),
    ctx.api.jobs.recent({ signal: ctx.signal, limit: 8 }),
    ctx.api.algorithms.list({ signal: ctx.signal }).catch((e) => { if (ctx.signal.aborted) throw e; return e; }),
  ]);
  view.append(pageHeader(t('train.title'), { subtitle: t('train.subtitle') }));
  const side = h('div.col-lg-4', jobsCard(jobs));
  const emptyCard = (...args) => view.append(h('div.row.g-4', h('div.col-lg-8', card(null, emptyState(...args))), side));
  if (!Array.isArray(algorithms)) {
    view.append(h('div.row.g-4', h('div.col-lg-8', errorAlert(algorithms, { testid: 'train-error', retry: ctx.rerender })), side));
    return;
  }
  if (!datasets.length) {
    emptyCard('database', t('train.noDatasets'), t('train.noDatasetsText'),
      linkButton(t('train.goUpload'), '#/datasets', { variant: 'primary', iconName: 'upload' }));
    return;
  }
  if (!algorithms.length) {
    emptyCard('train', t('train.noAlgorithms'), t('train.noAlgorithmsText'));
    return;
  }
  const wanted = Number(ctx.query.dataset) || ctx.prefs.get('last_dataset_id');
  const dsSelect = select(datasets.map((d) => ({ value: d.id, label: datasetLabel(d) })), {
    value: datasets.some((d) => d.id === wanted) ? wanted : datasets[0].id, testid: 'train-dataset',
  });
  const algoOf = (name) => algorithms.find((a) => a.name === name);
  const algo = select(algorithms.map((a) => ({ value: a.name, label: algoLabel(a.name) })), {
    value: algoOf(chosenAlgo) ? chosenAlgo : algorithms[0].name, testid: 'train-algo',
  });
  const algoHelpText = h('span');
  const name = h('input.form-control', { type: 'text', testid: 'train-name', name: 'train-name', maxlength: '255', autocomplete: 'off' });
  const setNamePlaceholder = () => {
    const d = datasets.find((x) => String(x.id) === dsSelect.value);
    name.placeholder = d ? `${d.name} (${algo.value})` : '';
  };
  dsSelect.addEventListener('change', setNamePlaceholder);
  const trainableHost = h('div');

  // The parameters of the chosen algorithm. What was typed is remembered
  // by name across switches, and comes back in a parameter of the same
  // name and type.
  const paramsHost = h('div');
  const typed = new Map(); // name -> {type, value}
  let current = null;
  const showParams = () => {
    for (const p of current?.params || []) {
      const r = readParam(p, current.controls.get(p.name));
      if (r.error || r.value === p.default) typed.delete(p.name);
      else typed.set(p.name, { type: p.type, value: r.value });
    }
    const carry = (p) => (typed.get(p.name)?.type === p.type ? typed.get(p.name).value : undefined);
    current = paramCards(algoOf(algo.value), carry);
    clear(paramsHost, current.el);
    clear(algoHelpText, algoHelp(algo.value));
    chosenAlgo = algo.value;
    setNamePlaceholder();
  };
  algo.addEventListener('change', () => { setInvalid(algo, null); showParams(); });
  showParams();

  // The classes' names, descriptions and first actions, from a CSV file
  // (optional): read here into params.class_names, its errors shown on it.
  const namesInput = h('input.form-control', { type: 'file', accept: '.csv,text/csv', testid: 'train-class-names' });
  const namesNote = h('div.small.text-body-secondary.mt-1', { testid: 'train-class-names-summary', 'aria-live': 'polite' });
  let classNames = null;
  let namesBad = false;
  namesInput.addEventListener('change', async () => {
    classNames = null;
    namesBad = false;
    setInvalid(namesInput, null);
    namesNote.textContent = '';
    const file = namesInput.files?.[0];
    if (!file) return;
    try {
      classNames = classNamesFromCsv(await file.text());
      namesNote.textContent = t('train.classNamesRead', { count: Object.keys(classNames).length });
    } catch (e) {
      namesBad = true;
      setInvalid(namesInput, e instanceof PasteError ? t(e.key, e.params) : String(e.message || e));
    }
  });

  const errorBox = h('div', { testid: 'train-error' });
  const submit = button(t('train.start'), { iconName: 'play', type: 'submit', testid: 'train-start', attrs: { class: 'btn-lg' } });
  const form = h('form.train-form', { novalidate: true },
    card(t('train.data'), h('div.row.g-3',
      h('div.col-md-7', field(t('train.dataset'), dsSelect, { help: t('train.datasetHelp'), cls: 'mb-0' })),
      h('div.col-md-5', field(t('train.algorithm'), algo, { help: algoHelpText, cls: 'mb-0' })),
      h('div.col-12', field(t('train.name'), name, { help: t('train.nameHelp'), cls: 'mb-0' })),
      h('div.col-12', field(t('train.classNames'), namesInput, { help: t('train.classNamesHelp'), cls: 'mb-0', after: namesNote })),
      h('div.col-12', trainableHost))),
    paramsHost,
    h('div.mt-4', errorBox),
    h('div.d-flex.flex-wrap.align-items-center.gap-3.mt-3', submit, h('span.small.text-body-secondary', t('train.startHint'))));

  /* An unlabelled dataset cannot be trained on: say why, and the form
   * cannot be sent (the server refuses it too). */
  const showTrainable = () => {
    const d = datasets.find((x) => String(x.id) === dsSelect.value);
    const note = untrainableNote(d);
    clear(trainableHost, note);
    submit.disabled = Boolean(note);
  };
  dsSelect.addEventListener('change', showTrainable);
  showTrainable();

  /* The parameters to send, or null with the first bad input focused. */
  const collect = () => collectParams(current);

  // The inputs a 422's details.field can name.
  const fieldControl = (f) => {
    if (f === 'params.class_names' || f.startsWith('params.class_names.')) return namesInput;
    if (f.startsWith('params.')) return current.controls.get(f.slice('params.'.length));
    return { algo, dataset_id: dsSelect, name }[f];
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(errorBox);
    for (const c of [algo, dsSelect, name]) setInvalid(c, null);
    const params = collect();
    if (!params) return;
    if (namesBad) {
      reveal(namesInput);
      return;
    }
    if (classNames) params.class_names = classNames;
    const datasetId = Number(dsSelect.value);
    submit.disabled = true;
    try {
      const job = await ctx.api.jobs.train({ datasetId, algo: algo.value, params, name: name.value.trim() }, { label: t('train.starting') });
      ctx.prefs.set({ last_dataset_id: datasetId });
      ctx.navigate(`#/jobs/${job.id}`);
    } catch (e) {
      const control = fieldControl(String(e.details?.field || ''));
      if (control) {
        setInvalid(control, errorDetail(e));
        reveal(control);
      }
      clear(errorBox, errorAlert(e, { retry: e.kind === 'network' ? () => form.requestSubmit() : null }));
    } finally {
      showTrainable();
    }
  });

  view.append(h('div.row.g-4', h('div.col-lg-8', form), side));
}
