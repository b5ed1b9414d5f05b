// views/class-names.js - the class names card of the model page: per class
// of the model, its display name, a one-line description and the first
// action to bring the node back to normal (MODEL.class_names, docs/api.md).
// Read-only for whoever may not edit (another user than the owner); the
// owner edits every class at once and saves (PUT .../class-names) or
// cancels. The server holds the rules (one definition, the engine's): a
// refusal names its field ("class_names.LABEL.name"), shown on that input.
// Links in an action are clickable. The card knows no client: it is handed
// the save function.

import { h, clear } from '../dom.js';
import { t } from '../i18n.js';
import { classInfo } from '../classnames.js';
import { card, button, field, setInvalid, toast, errorAlert } from '../ui.js';

const URL_RE = /(https?:\/\/[^\s]+)/;

/* Text with its http(s) links as links. */
function withLinks(text) {
  return text.split(URL_RE).map((part, i) => (i % 2
    ? h('a', { href: part, target: '_blank', rel: 'noopener noreferrer' }, part)
    : part));
}

function readTable(model) {
  const named = model.labels.filter((l) => model.class_names?.[l]);
  return h('div.table-responsive.table-scroll', { tabindex: '0', role: 'region', 'aria-label': t('classNames.title') },
    h('table.table.table-sm.align-middle.mb-0', { testid: 'class-names-table' },
      h('caption.visually-hidden', t('classNames.title')),
      h('thead', h('tr', ['label', 'name', 'description', 'action'].map((c) => h('th', { scope: 'col' }, t(`classNames.col.${c}`))))),
      h('tbody', model.labels.map((label) => {
        const info = classInfo(model, label);
        const isNamed = named.includes(label);
        return h('tr', { testid: 'class-names-row', dataset: { label } },
          h('th.fw-medium.text-nowrap', { scope: 'row' }, label),
          h('td', { testid: 'class-names-name' }, isNamed ? info.name : h('span.text-body-secondary.fst-italic', t('classNames.unnamed'))),
          h('td.text-break', info.description),
          h('td.text-break', withLinks(info.action)));
      }))));
}

/* The inputs of one class: [fieldset, {name, description, action}]. */
function classInputs(model, label) {
  const info = classInfo(model, label);
  const named = !!model.class_names?.[label];
  const input = (key, value) => h('input.form-control.form-control-sm', {
    type: 'text', value, autocomplete: 'off', testid: `class-names-input-${key}`, dataset: { label, key },
  });
  const controls = {
    name: input('name', named ? info.name : ''),
    description: input('description', info.description),
    action: input('action', info.action),
  };
  const col = (key) => h('div.col-md-4', field(t(`classNames.col.${key}`), controls[key], { cls: 'mb-2' }));
  const set = h('fieldset.border-bottom.pb-2.mb-3', { testid: 'class-names-edit-row', dataset: { label } },
    h('legend.fs-6.fw-semibold.mb-1', t('classNames.class', { label })),
    h('div.row.g-2', col('name'), col('description'), col('action')));
  return [set, controls];
}

/* The class_names object the inputs hold: classes with nothing typed are
 * left out (they show their label). */
function collect(inputs) {
  const out = {};
  for (const [label, c] of inputs) {
    const v = { name: c.name.value.trim(), description: c.description.value.trim(), action: c.action.value.trim() };
    if (v.name || v.description || v.action) out[label] = v;
  }
  return out;
}

/* Shows a refusal on its input ("class_names.LABEL.KEY" or
 * "class_names.LABEL"); false when no input matches. */
function markField(inputs, err) {
  const f = err?.details?.field || '';
  if (!f.startsWith('class_names.')) return false;
  const rest = f.slice('class_names.'.length);
  for (const [label, c] of inputs) {
    if (rest === label || rest.startsWith(`${label}.`)) {
      const key = rest === label ? 'name' : rest.slice(label.length + 1);
      const control = c[key] || c.name;
      setInvalid(control, err.message);
      control.focus();
      return true;
    }
  }
  return false;
}

/* The card. canEdit: the viewer owns the model; save(classNames) resolves
 * to the updated MODEL (or throws an ApiError); onSaved(model) after a
 * save. */
export function classNamesCard(model, { canEdit, save, onSaved }) {
  const body = h('div', { testid: 'class-names-body' });
  const status = h('div', { 'aria-live': 'polite' });
  let editBtn = null;
  const showRead = () => {
    clear(status);
    const count = Object.keys(model.class_names || {}).length;
    clear(body,
      h('p.small.text-body-secondary.mb-2', t('classNames.intro')),
      count ? null : h('p.mb-2', { testid: 'class-names-none' }, t('classNames.none')),
      readTable(model),
      canEdit ? null : h('p.small.text-body-secondary.mt-2.mb-0', { testid: 'class-names-readonly' }, t('classNames.readOnly')));
    if (editBtn) editBtn.hidden = false;
  };
  const showEdit = () => {
    editBtn.hidden = true;
    const inputs = model.labels.map((label) => [label, classInputs(model, label)]);
    const controls = new Map(inputs.map(([label, [, c]]) => [label, c]));
    const saveBtn = button(t('classNames.save'), { iconName: 'check', testid: 'class-names-save', type: 'submit' });
    const cancelBtn = button(t('classNames.cancel'), {
      variant: 'outline-secondary', testid: 'class-names-cancel', onClick: showRead,
    });
    const form = h('form', { testid: 'class-names-form', novalidate: true },
      h('p.small.text-body-secondary.mb-3', t('classNames.editHint')),
      inputs.map(([, [set]]) => set),
      h('div.d-flex.gap-2', saveBtn, cancelBtn));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      for (const c of controls.values()) Object.values(c).forEach((x) => setInvalid(x, null));
      clear(status);
      saveBtn.disabled = true;
      try {
        const saved = await save(collect(controls));
        model.class_names = saved.class_names;
        toast(t('classNames.saved'));
        showRead();
        onSaved?.(saved);
      } catch (e) {
        if (!markField(controls, e)) clear(status, errorAlert(e, { testid: 'class-names-error' }));
        else clear(status, h('div.alert.alert-danger.mb-0.mt-2', { role: 'alert', testid: 'class-names-error' }, t('classNames.invalid')));
      } finally {
        saveBtn.disabled = false;
      }
    });
    clear(body, form);
    inputs[0]?.[1][1].name.focus();
  };
  if (canEdit) {
    editBtn = button(t('classNames.edit'), { variant: 'outline-secondary', size: 'sm', testid: 'class-names-edit', onClick: showEdit });
  }
  showRead();
  return card(t('classNames.title'), [body, status], { testid: 'class-names-card', actions: editBtn });
}
