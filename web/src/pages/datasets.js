// pages/datasets.js - #/datasets and #/datasets/ID. A master-detail page:
// the upload card and the list of datasets on one side, and on the other the
// profile of the chosen dataset (views/profile.js) or, with none chosen, a
// "continue where you left off" panel. An upload keeps running when the user
// goes elsewhere (its state lives in this module, and the busy indicator
// can cancel it); deleting offers Undo, and the recently deleted ones can
// be restored for 7 days (views/trash.js). A large upload is ingested by a
// job after its answer: the page shows its progress and reads itself again
// until it is ready or failed; a failure that kept the file can be tried
// again from here, and is then followed the same way.

import { h, clear } from '../dom.js';
import { icon } from '../icons.js';
import { t } from '../i18n.js';
import { fmtInt, fmtBytes, fmtAgo, fmtDate } from '../format.js';
import { dropZone } from '../dropzone.js';
import { pageHeader, card, errorAlert, progressBar, toast, showError, emptyState, button, linkButton, badge } from '../ui.js';
import { renderProfile, profileActions, isReady, ingestTag, renderIngest } from '../views/profile.js';
import { undoToast, trashCard } from '../views/trash.js';

/* ---- the upload, which outlives the page ----------------------------------------------- */

// {file, progress, phase: 'uploading'|'processing'|'done'|'error'|'cancelled', error, abort, dataset}
let upload = null;
const uploadListeners = new Set();
const setUpload = (patch) => {
  upload = patch === null ? null : { ...(upload || {}), ...patch };
  for (const fn of uploadListeners) fn(upload);
};

function startUpload(file, name, ctx) {
  if (upload?.phase === 'uploading' || upload?.phase === 'processing') upload.abort?.();
  const job = ctx.api.datasets.upload(file, name, {
    label: t('datasets.uploading', { name: file.name }),
    onProgress: (p) => setUpload({ progress: p, phase: p >= 1 ? 'processing' : 'uploading' }),
  });
  setUpload({ file, progress: 0, phase: 'uploading', error: null, abort: job.abort, dataset: null });
  job.promise.then((ds) => {
    setUpload({ progress: 1, phase: 'done', dataset: ds });
    ctx.prefs.set({ last_dataset_id: ds.id });
    const here = location.hash.startsWith('#/datasets');
    const said = ds.state === 'ingesting' ? t('datasets.uploadedIngesting', { name: ds.name })
      : t('datasets.uploaded', { name: ds.name, rows: fmtInt(ds.rows), features: fmtInt(ds.features) });
    toast(said, {
      action: here ? null : { label: t('common.open'), href: `#/datasets/${ds.id}` },
    });
    if (here) ctx.navigate(`#/datasets/${ds.id}`);
  }, (e) => {
    setUpload({ phase: e.kind === 'abort' ? 'cancelled' : 'error', error: e });
  });
}

function uploadStatus(state) {
  if (!state) return null;
  const bar = progressBar({ testid: 'upload-progress', label: t('datasets.uploadProgress') });
  const pct = Math.round((state.progress || 0) * 100);
  bar.set(state.progress || 0, `${pct}%`);
  const busy = state.phase === 'uploading' || state.phase === 'processing';
  if (busy) bar.bar.classList.add('progress-bar-striped', 'progress-bar-animated');
  if (state.phase === 'done') bar.state('success');
  if (state.phase === 'error' || state.phase === 'cancelled') bar.state('secondary');
  const phaseText = {
    uploading: t('datasets.phase.uploading', { pct }),
    processing: t('datasets.phase.processing'),
    done: t('datasets.phase.done'),
    error: t('datasets.phase.error'),
    cancelled: t('datasets.phase.cancelled'),
  }[state.phase];
  return h('div.upload-status',
    h('div.d-flex.align-items-center.gap-2.mb-1',
      h('span.upload-file.text-truncate.flex-grow-1', icon('file'), ' ', state.file.name, h('span.text-body-secondary.ms-2.small', fmtBytes(state.file.size))),
      h('span.small.text-body-secondary', phaseText),
      busy && button(t('common.cancel'), { variant: 'outline-secondary', size: 'sm', testid: 'upload-cancel', onClick: () => state.abort?.() })),
    bar.el,
    state.phase === 'error' && h('div.mt-3', errorAlert(state.error, { testid: 'upload-error' })));
}

function uploadCard(ctx) {
  const name = h('input.form-control.form-control-sm', { type: 'text', name: 'dataset-name', id: 'dataset-name', maxlength: '255', placeholder: t('datasets.namePlaceholder'), autocomplete: 'off' });
  const zone = dropZone({
    title: t('datasets.dropTitle'),
    hint: t('datasets.dropHint'),
    zoneTestid: 'upload-drop',
    inputTestid: 'upload-input',
    inputLabel: t('datasets.chooseFile'),
    onFile: (file) => {
      startUpload(file, name.value.trim(), ctx);
      zone.reset();
    },
  });
  const status = h('div.upload-status-host');
  const draw = (state) => clear(status, uploadStatus(state));
  draw(upload);
  uploadListeners.add(draw);
  ctx.signal.addEventListener('abort', () => uploadListeners.delete(draw));
  return card(t('datasets.uploadTitle'), [
    zone.el,
    h('div.mt-3', h('label.form-label.small', { for: 'dataset-name' }, t('datasets.nameLabel')), name),
    h('div.mt-3', status),
  ], { cls: 'upload-card' });
}

/* ---- the list ------------------------------------------------------------------------------ */

function datasetRow(ds, activeId, onDelete) {
  const active = ds.id === activeId;
  return h(`div.list-group-item.dataset-row${active ? '.active-row' : ''}`, {
    testid: 'dataset-row', dataset: { id: ds.id }, 'aria-current': active ? 'true' : null,
  },
  h('div.d-flex.align-items-center.gap-2',
    h('span.row-icon', icon('database')),
    h('div.flex-grow-1.min-w-0',
      h('a.dataset-open.stretched-link-ish.fw-semibold.text-truncate.d-block', { href: `#/datasets/${ds.id}`, testid: 'dataset-open' }, ds.name),
      h('div.small.text-body-secondary.text-truncate',
        isReady(ds) ? t('datasets.meta', { count: ds.rows, rows: fmtInt(ds.rows), features: fmtInt(ds.features), size: fmtBytes(ds.size_bytes) }) : fmtBytes(ds.size_bytes),
        ' · ', fmtAgo(ds.created_at),
        ds.kind === 'incidents' && [' · ', h('span', { testid: 'dataset-kind-incidents' }, t('datasets.incidentFile'))]),
      ingestTag(ds)),
    h('button.btn.btn-sm.btn-icon.btn-ghost-danger', {
      type: 'button', testid: 'dataset-delete', 'aria-label': t('datasets.deleteNamed', { name: ds.name }), title: t('common.delete'),
      on: { click: (ev) => { ev.preventDefault(); onDelete(ds, ev.currentTarget); } },
    }, icon('trash'))));
}

function listCard(items, activeId, onDelete) {
  const host = h('div.list-group.list-group-flush.dataset-list', { 'aria-label': t('datasets.listTitle') });
  const filter = h('input.form-control.form-control-sm', { type: 'search', 'aria-label': t('datasets.filter'), placeholder: t('datasets.filter'), name: 'dataset-filter' });
  const draw = () => {
    const q = filter.value.trim().toLowerCase();
    const shown = items.filter((d) => !q || d.name.toLowerCase().includes(q));
    clear(host, shown.length ? shown.map((d) => datasetRow(d, activeId, onDelete))
      : h('div.p-4', emptyState('database', items.length ? t('datasets.noMatch') : t('datasets.empty'), items.length ? null : t('datasets.emptyText'))));
  };
  filter.addEventListener('input', draw);
  draw();
  return card(t('datasets.listTitle'), [items.length > 6 && h('div.p-3.pb-0', filter), host], {
    actions: badge(String(items.length), 'secondary'), bodyCls: 'p-0', cls: 'list-card',
  });
}

/* ---- "continue where you left off" -------------------------------------------------------- */

async function resumeCard(items, ctx) {
  const links = [];
  const lastDs = items.find((d) => d.id === ctx.prefs.get('last_dataset_id'));
  if (lastDs) links.push({ icon: 'database', label: t('resume.dataset'), name: lastDs.name, href: `#/datasets/${lastDs.id}` });
  const quiet = { signal: ctx.signal, quiet: true, retry: false };
  const lookups = [
    ['last_model_id', (id) => ctx.api.models.get(id, quiet), 'model', 'resume.model', '#/models/'],
    ['last_diagnosis_id', (id) => ctx.api.diagnoses.page(id, { ...quiet, limit: 1 }), 'diagnose', 'resume.diagnosis', '#/diagnoses/'],
  ];
  const found = await Promise.all(lookups.map(async ([key, read, ic, label, href]) => {
    const id = ctx.prefs.get(key);
    if (!id) return null;
    try {
      const obj = await read(id);
      return { icon: ic, label: t(label), name: obj.name, href: `${href}${id}` };
    } catch { return null; }
  }));
  links.push(...found.filter(Boolean));
  if (!links.length) return null;
  return card(t('resume.title'), h('div.resume-links', links.map((l) => h('a.resume-link', { href: l.href },
    h('span.resume-icon', icon(l.icon)), h('span.min-w-0', h('span.d-block.small.text-body-secondary', l.label), h('span.d-block.fw-semibold.text-truncate', l.name)), icon('arrow', 'ms-auto')))), { testid: 'resume' });
}

function stepsCard() {
  const steps = [['upload', 'steps.upload', 'steps.uploadText'], ['train', 'steps.train', 'steps.trainText'], ['diagnose', 'steps.diagnose', 'steps.diagnoseText']];
  return card(t('steps.title'), h('ol.steps', steps.map(([ic, title, text]) => h('li.step',
    h('span.step-icon', icon(ic)), h('div', h('div.fw-semibold', t(title)), h('div.small.text-body-secondary', t(text)))))));
}

/* ---- the page ------------------------------------------------------------------------------ */

export async function render(view, ctx) {
  const id = ctx.params.id || null;
  const [all, dataset] = await Promise.all([
    ctx.api.datasets.list({ signal: ctx.signal, includeDeleted: true }),
    id ? ctx.api.datasets.get(id, { signal: ctx.signal }) : null,
  ]);
  const items = all.filter((d) => !d.deleted_at);
  const restore = (ds) => ctx.api.datasets.restore(ds.id);
  const reopen = (ds) => ctx.navigate(`#/datasets/${ds.id}`);
  if (dataset) ctx.prefs.set({ last_dataset_id: dataset.id });

  const onRetry = async (ds, btn) => {
    btn.disabled = true;
    try {
      await ctx.api.datasets.retryIngest(ds.id);
    } catch (e) {
      btn.disabled = false;
      showError(e);
      return;
    }
    toast(t('datasets.retrying', { name: ds.name }));
    await ctx.rerender(); // ingesting again: the page follows it from here
    // the button is gone with the old page: keyboard focus goes to what replaced it
    document.querySelector('[data-testid="dataset-ingesting-status"]')?.focus();
  };

  const onDelete = async (ds, btn) => {
    btn.disabled = true;
    try {
      await ctx.api.datasets.remove(ds.id);
    } catch (e) {
      btn.disabled = false;
      showError(e);
      return;
    }
    view.querySelector(`[data-testid="dataset-row"][data-id="${ds.id}"]`)?.remove(); // at once, before the list reloads
    if (ctx.prefs.get('last_dataset_id') === ds.id) ctx.prefs.set({ last_dataset_id: null });
    undoToast(t('datasets.deleted', { name: ds.name }), t('datasets.restored', { name: ds.name }), () => restore(ds), () => reopen(ds));
    ctx.navigate(id === ds.id || !location.hash.startsWith('#/datasets') ? '#/datasets' : location.hash);
  };

  // On a phone the profile comes first when one is open, the list otherwise.
  const order = id ? ['order-2 order-lg-1', 'order-1 order-lg-2'] : ['', ''];
  const side = h('div.col-lg-4.d-flex.flex-column.gap-4', { class: order[0] }, uploadCard(ctx), listCard(items, id, onDelete),
    trashCard(all, { kind: 'dataset', restore, onRestored: (ds) => { toast(t('datasets.restored', { name: ds.name })); reopen(ds); } }));
  const detail = h('div.col-lg-8.d-flex.flex-column.gap-4', { class: order[1] });
  if (dataset) {
    view.append(pageHeader(dataset.name, {
      eyebrow: t('datasets.eyebrow'),
      subtitle: t('datasets.subtitleOne', { date: fmtDate(dataset.created_at), size: fmtBytes(dataset.size_bytes) }),
      actions: profileActions(dataset, {
        downloadUrl: ctx.api.datasets.downloadUrl(dataset.id),
        onDelete: (ev) => onDelete(dataset, ev.currentTarget),
      }),
    }));
    if (isReady(dataset)) renderProfile(detail, dataset);
    else renderIngest(detail, dataset, { onRetry });
  } else {
    view.append(pageHeader(t('datasets.title'), { subtitle: t('datasets.subtitle') }));
    const resume = await resumeCard(items, ctx);
    detail.append(...[resume, stepsCard()].filter(Boolean));
    if (items.length) detail.append(linkButton(t('datasets.goTrain'), '#/train', { iconName: 'train', variant: 'primary', attrs: { class: 'align-self-start' } }));
  }
  view.append(h('div.row.g-4', side, detail));
  // While an ingest job runs, the page follows it: read again every 2 s
  // until every dataset shown is ready or failed.
  if ([...items, dataset].some((d) => d && d.state === 'ingesting')) {
    const timer = setTimeout(() => { if (!ctx.signal.aborted) ctx.rerender(); }, 2000);
    return () => clearTimeout(timer);
  }
  return undefined;
}
