// views/feedback.js - "Label rows" on the diagnosis page: an engineer confirms
// or corrects the class of rows, and retrains the model with them
// (docs/api.md: Labels, and the "retrain" job).
//
// The rows the model is least sure of, and least alike, come first (the
// server's suggestions, a few per predicted class); rows already labelled
// and any row asked for by number join them. Each row shows the model's
// class, its confidence and margin, and offers Confirm, a class to correct
// it to (or a new class, named in a dialog), and Undo. Every change is
// saved at once; the counts per class and "Retrain with my corrections"
// follow it. Retraining starts a job and hands it to the job page, which
// follows it and then opens the comparison. A diagnosis kept without its
// input (made before diagnoses kept it) says why it cannot be labelled.
//
// Clients come in `api` (the page's ctx.api): a view imports none.

import { h, clear } from '../dom.js';
import { t } from '../i18n.js';
import { fmtInt, fmtPct, fmtFixed } from '../format.js';
import { card, button, select, badge, field, modal, errorAlert, showError, toast, spinner } from '../ui.js';
import { classColor } from './results.js';
import { className } from '../classnames.js';

const PER_CLASS = [5, 10, 20];
const NEW_CLASS = '\u0000new'; // the select's "New class…" entry

/* The panel for diag; ctx gives api (diagnoses, jobs), signal, navigate. */
export function feedbackCard(diag, { api, signal, navigate }) {
  if (!diag.input_stored) {
    return card(t('feedback.title'), h('div.alert.alert-info.mb-0', { testid: 'feedback-unavailable' }, t('feedback.noInput')),
      { testid: 'feedback-card' });
  }
  const classes = diag.classes;
  const rows = new Map(); // row -> {row, sample_id, predicted, confidence, margin, label, suggested}
  let perClass = PER_CLASS[0];
  let counts = { total: 0, confirmed: 0, corrected: 0, class_counts: {} };

  const countsHost = h('div.d-flex.flex-wrap.gap-2.align-items-center', { testid: 'feedback-counts', 'aria-live': 'polite' });
  const tableBody = h('tbody');
  const tableHost = h('div');
  const errHost = h('div');
  const retrain = button(t('feedback.retrain'), { iconName: 'train', testid: 'feedback-retrain', onClick: () => startRetrain() });
  const perClassSelect = select(PER_CLASS.map((n) => ({ value: n, label: t('feedback.perClassN', { n }) })),
    { value: perClass, testid: 'feedback-per-class', id: `feedback-per-class-${diag.id}`, cls: 'form-select form-select-sm w-auto' });
  perClassSelect.addEventListener('change', () => { perClass = Number(perClassSelect.value); load(); });
  const addInput = h('input.form-control.form-control-sm', {
    type: 'number', min: '1', max: String(diag.rows), step: '1', inputmode: 'numeric', testid: 'feedback-add-row',
    placeholder: t('feedback.rowPlaceholder', { rows: fmtInt(diag.rows) }),
  });
  const addForm = h('form.d-flex.gap-2.align-items-end', { on: { submit: (ev) => { ev.preventDefault(); addRow(); } } },
    field(t('feedback.addRow'), addInput, { cls: 'mb-0.flex-grow-1' }),
    button(t('feedback.add'), { variant: 'outline-secondary', size: 'sm', type: 'submit', testid: 'feedback-add' }));

  const drawCounts = () => {
    const per = Object.entries(counts.class_counts || {});
    clear(countsHost,
      h('span.fw-semibold', { testid: 'feedback-total', dataset: { total: String(counts.total) } }, t('feedback.labelled', { count: counts.total })),
      counts.total > 0 && h('span.small.text-body-secondary', t('feedback.split', { confirmed: fmtInt(counts.confirmed), corrected: fmtInt(counts.corrected) })),
      per.map(([name, n]) => h('span.class-pill', { style: { '--pill': classColor(classes, name) }, testid: 'feedback-class-count', dataset: { class: name } }, `${className(diag, name)}: ${fmtInt(n)}`)));
    retrain.disabled = counts.total === 0;
    retrain.title = counts.total === 0 ? t('feedback.retrainNeedsLabels') : '';
  };

  const setCounts = (body) => {
    counts = { total: body.total, confirmed: body.confirmed, corrected: body.corrected, class_counts: body.class_counts };
    drawCounts();
  };

  /* Saves one change and redraws its row; the server's answer has the counts. */
  const save = async (r, label, newClass = false) => {
    clear(errHost);
    try {
      const body = await api.diagnoses.setLabels(diag.id, [{ row: r.row, label, newClass }], { signal, label: t('feedback.saving') });
      r.label = label;
      setCounts(body);
      drawRow(r);
      toast(label === null ? t('feedback.undone', { row: r.row }) : t('feedback.saved', { row: r.row, label: className(diag, label) }), { variant: 'info', timeout: 2500 });
    } catch (e) {
      if (!signal.aborted) clear(errHost, errorAlert(e));
      drawRow(r);
    }
  };

  const askNewClass = async (r) => {
    const input = h('input.form-control', { type: 'text', maxlength: '255', testid: 'feedback-new-class-name', autocomplete: 'off' });
    const name = await modal({
      title: t('feedback.newClassTitle', { row: r.row }),
      body: field(t('feedback.newClassName'), input, { help: t('feedback.newClassHelp'), cls: 'mb-0' }),
      okLabel: t('feedback.newClassOk'),
      testid: 'feedback-new-class',
      onOk: async () => input.value.trim() || null,
    });
    if (name) await save(r, name, !classes.includes(name));
    else drawRow(r);
  };

  function stateOf(r) {
    if (r.label === null || r.label === undefined) return badge(t('feedback.state.none'), 'secondary');
    if (r.label === r.predicted) return badge(t('feedback.state.confirmed'), 'success');
    return badge(t('feedback.state.corrected', { label: className(diag, r.label) }), 'warning');
  }

  function drawRow(r) {
    const known = [...classes, ...Object.keys(counts.class_counts || {}).filter((c) => !classes.includes(c))];
    const options = [{ value: '', label: t('feedback.pick'), disabled: true }, ...known.map((c) => ({ value: c, label: className(diag, c) })),
      { value: NEW_CLASS, label: t('feedback.newClass') }];
    const pick = select(options, { value: r.label ?? '', testid: 'feedback-class', cls: 'form-select form-select-sm', ariaLabel: t('feedback.correctRow', { row: r.row }) });
    pick.addEventListener('change', () => {
      if (pick.value === NEW_CLASS) askNewClass(r);
      else save(r, pick.value);
    });
    const labelled = r.label !== null && r.label !== undefined;
    const confirm = button(t('feedback.confirm'), {
      iconName: 'check', variant: 'outline-success', size: 'sm', testid: 'feedback-confirm',
      attrs: { 'aria-label': t('feedback.confirmRow', { row: r.row, label: className(diag, r.predicted) }), disabled: r.label === r.predicted },
      onClick: () => save(r, r.predicted),
    });
    const undo = button(t('feedback.undo'), {
      iconName: 'undo', variant: 'outline-secondary', size: 'sm', testid: 'feedback-undo',
      attrs: { 'aria-label': t('feedback.undoRow', { row: r.row }), hidden: !labelled },
      onClick: () => save(r, null),
    });
    const tr = h('tr', { testid: 'feedback-row', dataset: { row: String(r.row), label: r.label ?? '', predicted: r.predicted } },
      h('th.num.text-body-secondary', { scope: 'row' }, String(r.row)),
      h('td.d-none.d-md-table-cell.text-break', r.sample_id ?? h('span.text-body-tertiary', '—')),
      h('td', h('span.class-pill', { style: { '--pill': classColor(classes, r.predicted) }, dataset: { label: r.predicted } }, className(diag, r.predicted)),
        h('div.small.text-body-secondary.text-nowrap', r.margin === undefined || r.margin === null
          ? fmtPct(r.confidence)
          : t('feedback.confMargin', { conf: fmtPct(r.confidence), margin: fmtFixed(r.margin, 2) }))),
      h('td', stateOf(r), r.suggested && h('div.small.text-body-secondary', t('feedback.suggested'))),
      h('td', h('div.d-flex.flex-wrap.gap-2.align-items-center.feedback-actions', confirm, h('div.feedback-pick', pick), undo)));
    if (r.el) r.el.replaceWith(tr);
    r.el = tr;
  }

  function drawTable() {
    const list = [...rows.values()].sort((a, b) => (b.suggested - a.suggested) || a.row - b.row);
    clear(tableBody);
    for (const r of list) { r.el = null; drawRow(r); tableBody.append(r.el); }
    clear(tableHost, list.length
      ? h('div.table-responsive', { tabindex: '0', role: 'region', 'aria-label': t('feedback.caption') },
        h('table.table.table-sm.align-middle.mb-0.feedback-table', { testid: 'feedback-table' },
          h('caption.visually-hidden', t('feedback.caption')),
          h('thead', h('tr',
            h('th.num', { scope: 'col' }, t('results.col.row')),
            h('th.d-none.d-md-table-cell', { scope: 'col' }, t('results.col.sample')),
            h('th', { scope: 'col' }, t('feedback.col.model')),
            h('th', { scope: 'col' }, t('feedback.col.state')),
            h('th', { scope: 'col' }, t('feedback.col.actions')))),
          tableBody))
      : h('p.text-body-secondary.mb-0', t('feedback.noSuggestions')));
  }

  async function load() {
    clear(errHost);
    clear(tableHost, spinner(t('feedback.loading')));
    try {
      const [sug, lab] = await Promise.all([
        api.diagnoses.suggestions(diag.id, { perClass, signal }),
        api.diagnoses.labels(diag.id, { signal }),
      ]);
      for (const [k, r] of rows) if (r.suggested && !r.added) rows.delete(k);
      for (const s of sug.items) rows.set(s.row, { ...rows.get(s.row), ...s, suggested: true });
      for (const l of lab.items) {
        const r = rows.get(l.row);
        rows.set(l.row, r ? { ...r, label: l.label } : { row: l.row, sample_id: l.sample_id, predicted: l.predicted, confidence: l.confidence, label: l.label, suggested: false });
      }
      setCounts(lab);
      drawTable();
    } catch (e) {
      if (signal.aborted) return;
      clear(tableHost);
      clear(errHost, errorAlert(e, { retry: load }));
    }
  }

  async function addRow() {
    const n = Number(addInput.value);
    clear(errHost);
    if (!Number.isInteger(n) || n < 1 || n > diag.rows) {
      clear(errHost, h('div.alert.alert-warning.mb-0', { role: 'alert' }, t('feedback.badRow', { rows: fmtInt(diag.rows) })));
      return;
    }
    if (!rows.has(n)) {
      try {
        const page = await api.diagnoses.page(diag.id, { offset: n - 1, limit: 1, signal });
        const it = page.results.items[0];
        rows.set(n, { row: n, sample_id: it.sample_id, predicted: it.predicted, confidence: it.confidence, label: null, suggested: false, added: true });
      } catch (e) {
        if (!signal.aborted) clear(errHost, errorAlert(e));
        return;
      }
    }
    addInput.value = '';
    drawTable();
    rows.get(n).el?.querySelector('[data-testid="feedback-confirm"]')?.focus();
  }

  async function startRetrain() {
    retrain.disabled = true;
    try {
      const job = await api.jobs.retrain({ diagnosisIds: [diag.id] }, { label: t('feedback.starting') });
      toast(t('feedback.started', { name: job.name }), { variant: 'success' });
      navigate(`#/jobs/${job.id}`);
    } catch (e) {
      showError(e);
      retrain.disabled = counts.total === 0;
    }
  }

  drawCounts();
  load();
  return card(t('feedback.title'), [
    h('p.mb-3', t('feedback.intro')),
    h('div.d-flex.flex-wrap.gap-3.align-items-end.mb-3',
      h('div', h('label.form-label.small.mb-1.d-block', { for: perClassSelect.id }, t('feedback.perClass')), perClassSelect),
      h('div.feedback-add', addForm)),
    errHost,
    tableHost,
    h('div.d-flex.flex-wrap.gap-3.align-items-center.justify-content-between.mt-3.pt-3.border-top',
      countsHost,
      h('div.d-flex.flex-column.align-items-end.gap-1', retrain, h('span.small.text-body-secondary', t('feedback.retrainHint')))),
  ], { testid: 'feedback-card' });
}
