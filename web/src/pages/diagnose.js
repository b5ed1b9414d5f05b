// pages/diagnose.js - #/diagnose[?model=ID]: diagnose samples with a model.
// Either upload a CSV (XMLHttpRequest with progress, cancellable) or paste
// rows for a quick check: CSV text with a header, or JSON, parsed here into
// row objects (csv.js) and sent as JSON. Either way the user may ask for
// the predictions to be adapted to the batch's class mix (the server says
// on the diagnosis page whether it could). Small requests answer at once and
// open #/diagnoses/ID; large ones become a job whose page forwards to the
// results when done. What was typed stays in place when a request fails.

import { h, clear } from '../dom.js';
import { icon } from '../icons.js';
import { t } from '../i18n.js';
import { rowsFromPaste, PasteError } from '../csv.js';
import { dropZone } from '../dropzone.js';
import { fmtInt, fmtAgo, fmtBytes } from '../format.js';
import { pageHeader, card, field, select, errorAlert, emptyState, linkButton, button, progressBar, toast } from '../ui.js';
import { className } from '../classnames.js';
import { trashCard } from '../views/trash.js';

// Rows a batch needs to be adapted (HL_ADAPT_MIN_ROWS): only for the help
// text; the diagnosis reports the server's own rule (adapt.min_rows).
const ADAPT_MIN_ROWS = 50;

function recentCard(items) {
  if (!items.length) return card(t('diagnose.recent'), emptyState('diagnose', t('diagnose.noRecent'), t('diagnose.noRecentText')));
  return card(t('diagnose.recent'), h('div.list-group.list-group-flush', items.map((d) => h('a.list-group-item.list-group-item-action', { href: `#/diagnoses/${d.id}`, testid: 'diagnosis-row', dataset: { id: d.id } },
    h('div.fw-semibold.text-truncate', d.name),
    h('div.small.text-body-secondary', t('diagnose.recentMeta', { count: d.rows, rows: fmtInt(d.rows), ago: fmtAgo(d.created_at) }))))), { bodyCls: 'p-0' });
}

/* Where a diagnosis answer leads: the results (201) or the job (202). */
function destination(answer) {
  return answer?.job ? `#/jobs/${answer.job.id}` : `#/diagnoses/${answer.id}`;
}

// Diagnoses listed under "Recent".
const RECENT_SHOWN = 8;

function template(model) {
  const cols = ['sample_id', ...(model.summary?.features || [])];
  return `${cols.join(',')}\n${cols.map((c) => (c === 'sample_id' ? 'node-1' : '')).join(',')}\n`;
}

export async function render(view, ctx) {
  const [models, all] = await Promise.all([
    ctx.api.models.list({ signal: ctx.signal }),
    ctx.api.diagnoses.list({ signal: ctx.signal, includeDeleted: true }),
  ]);
  // the list is newest first: the recent ones are its first live ones
  const recent = all.filter((d) => !d.deleted_at).slice(0, RECENT_SHOWN);
  view.append(pageHeader(t('diagnose.title'), { subtitle: t('diagnose.subtitle') }));
  const trash = trashCard(all, {
    kind: 'diagnosis',
    restore: (d) => ctx.api.diagnoses.restore(d.id),
    onRestored: (d) => { toast(t('diagnosis.restored', { name: d.name })); ctx.navigate(`#/diagnoses/${d.id}`); },
    href: (d) => `#/diagnoses/${d.id}`,
  });
  const side = h('div.col-lg-4.d-flex.flex-column.gap-4', recentCard(recent), trash);
  if (!models.length) {
    view.append(h('div.row.g-4', h('div.col-lg-8', card(null, emptyState('model', t('diagnose.noModels'), t('diagnose.noModelsText'),
      linkButton(t('models.trainNew'), '#/train', { variant: 'primary', iconName: 'train' })))), side));
    return;
  }
  const wanted = Number(ctx.query.model) || ctx.prefs.get('last_model_id');
  const modelSelect = select(models.map((m) => ({ value: m.id, label: t('diagnose.modelOption', { name: m.name, classes: m.classes, features: m.features }) })), {
    value: models.some((m) => m.id === wanted) ? wanted : models[0].id, testid: 'diagnose-model',
  });
  const modelInfo = h('div.form-text');
  const showModelInfo = () => {
    const m = models.find((x) => String(x.id) === modelSelect.value);
    clear(modelInfo, m ? [t('diagnose.classesAre'), ' ', m.labels.slice(0, 8).map((c) => h('span.badge.badge-soft-secondary.me-1', className(m, c))), m.labels.length > 8 ? '…' : ''] : null);
  };
  showModelInfo();
  modelSelect.addEventListener('change', showModelInfo);

  let file = null;
  const fileInfo = h('div.small.mt-2');
  const zone = dropZone({
    title: t('diagnose.dropTitle'), hint: t('diagnose.dropHint'),
    zoneTestid: 'diagnose-drop', inputTestid: 'diagnose-file', inputLabel: t('diagnose.chooseFile'),
    onFile: (f) => { file = f; showFile(); },
  });
  const showFile = () => {
    zone.setFileName(file ? `${file.name} · ${fmtBytes(file.size)}` : null);
    clear(fileInfo, file && button(t('diagnose.removeFile'), { variant: 'link', size: 'sm', iconName: 'x', onClick: () => { file = null; zone.reset(); showFile(); } }));
  };

  const paste = h('textarea.form-control.font-monospace.paste-area', {
    testid: 'diagnose-paste', name: 'diagnose-paste', rows: '8', spellcheck: 'false', placeholder: t('diagnose.pastePlaceholder'),
  });
  const insertTemplate = button(t('diagnose.template'), {
    variant: 'link', size: 'sm', iconName: 'paste',
    onClick: async () => {
      const m = await ctx.api.models.get(modelSelect.value, { signal: ctx.signal });
      if (!paste.value.trim() || paste.value === paste.dataset.template) {
        paste.value = template(m);
        paste.dataset.template = paste.value;
      }
      paste.focus();
    },
  });
  const name = h('input.form-control', { type: 'text', testid: 'diagnose-name', name: 'diagnose-name', maxlength: '255', placeholder: t('diagnose.namePlaceholder'), autocomplete: 'off' });
  const adapt = h('input.form-check-input', { type: 'checkbox', testid: 'diagnose-adapt', name: 'diagnose-adapt' });
  const errorBox = h('div', { testid: 'diagnose-error-host' });
  const progressHost = h('div');
  const submit = button(t('diagnose.submit'), { iconName: 'diagnose', type: 'submit', testid: 'diagnose-submit', attrs: { class: 'btn-lg' } });

  const showError = (content) => clear(errorBox, content);
  const pasteError = (e) => h('div.alert.alert-danger.mb-0', { role: 'alert', testid: 'diagnose-error' }, icon('alert'), ' ', t(e.key, e.params));

  const sendFile = async (modelId) => {
    const bar = progressBar({ testid: 'diagnose-progress', label: t('diagnose.uploadProgress') });
    const up = ctx.api.diagnoses.fromFile(modelId, file, name.value.trim(), {
      label: t('diagnose.uploading', { name: file.name }), onProgress: (p) => bar.set(p), adapt: adapt.checked,
    });
    clear(progressHost, h('div.d-flex.align-items-center.gap-2.mt-3', h('div.flex-grow-1', bar.el),
      button(t('common.cancel'), { variant: 'outline-secondary', size: 'sm', onClick: () => up.abort() })));
    try { return await up.promise; } finally { clear(progressHost); }
  };

  const sendPaste = (modelId) => {
    const rows = rowsFromPaste(paste.value);
    return ctx.api.diagnoses.fromRows(modelId, rows, name.value.trim() || t('diagnose.quickName'), { label: t('diagnose.running'), limit: 50, adapt: adapt.checked });
  };

  const form = h('form', { novalidate: true },
    card(t('diagnose.modelCard'), field(t('diagnose.model'), modelSelect, { cls: 'mb-0', after: modelInfo })),
    h('div.row.g-4.mt-0',
      h('div.col-md-6', card(t('diagnose.fileCard'), [zone.el, fileInfo], { cls: 'h-100' })),
      h('div.col-md-6', card(t('diagnose.pasteCard'), [
        h('label.form-label.visually-hidden', { for: 'diagnose-paste-area' }, t('diagnose.pasteLabel')),
        paste,
        h('div.form-text', t('diagnose.pasteHelp')),
      ], { cls: 'h-100', actions: insertTemplate }))),
    card(null, h('div.row.g-3.align-items-end',
      h('div.col-12', field(t('diagnose.adapt'), adapt, { cls: 'mb-0', help: t('diagnose.adaptHelp', { min: ADAPT_MIN_ROWS }) })),
      h('div.col-md-7', field(t('diagnose.name'), name, { cls: 'mb-0', help: t('diagnose.nameHelp') })),
      h('div.col-md-5.d-grid', submit)), { cls: 'mt-4' }),
    h('div.mt-3', progressHost, errorBox));
  paste.id = 'diagnose-paste-area';

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showError(null);
    const modelId = Number(modelSelect.value);
    if (!file && !paste.value.trim()) {
      showError(pasteError(new PasteError('diagnose.err.nothing')));
      paste.focus();
      return;
    }
    submit.disabled = true;
    try {
      const answer = file ? await sendFile(modelId) : await sendPaste(modelId);
      ctx.prefs.set({ last_model_id: modelId });
      ctx.navigate(destination(answer));
    } catch (e) {
      if (e instanceof PasteError) showError(pasteError(e));
      else if (e.kind !== 'abort') showError(errorAlert(e, { testid: 'diagnose-error', retry: e.kind === 'network' ? () => form.requestSubmit() : null }));
    } finally {
      submit.disabled = false;
    }
  });

  view.append(h('div.row.g-4', h('div.col-lg-8', form), side));
}
