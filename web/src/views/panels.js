// views/panels.js - pages made of panels (cards) that each user may hide and
// reorder, kept in their preferences under one key, "layout": {PAGE:
// {"order": [ids], "hidden": [ids]}} (docs/api.md, preferences), so the
// layout follows them to every device. A page declares its panels once,
// one line each, with a stable id; a panel absent from one record (a card
// that only some models have) is simply not declared, and one added by a
// later version goes where the page declares it until the user moves it.
//
// The "Customize layout" control opens an editor in the page (not a
// drag-only list): per panel a checkbox to show it and buttons to move it
// up or down, all keyboard-reachable and labelled, then "Reset layout".
// Charts in a panel shown again take their size by themselves (charts.js
// observes their element).
//
// Use:
//   const layout = panelLayout(ctx, 'model');
//   layout.add('curve', t('model.curve'), card(...));            // full width
//   layout.add('f1', t('model.f1Chart'), card(...), { half: true });
//   pageHeader(..., { actions: [..., layout.control] });
//   view.append(layout.finish());

import { h, clear } from '../dom.js';
import { t } from '../i18n.js';
import { button } from '../ui.js';

const KEY = 'layout';

/* The declared ids in the saved order: saved ones first, as saved; one
 * not saved goes right after the panel declared before it (or first). */
export function arrange(declared, saved) {
  const known = new Set(declared);
  const out = (saved || []).filter((id, i, all) => known.has(id) && all.indexOf(id) === i);
  declared.forEach((id, i) => {
    if (out.includes(id)) return;
    const before = declared.slice(0, i).reverse().find((p) => out.includes(p));
    out.splice(before === undefined ? 0 : out.indexOf(before) + 1, 0, id);
  });
  return out;
}

export function panelLayout(ctx, page) {
  const declared = [];
  const byId = new Map();
  const editorId = `layout-editor-${page}`;
  const grid = h('div.row.g-4.panel-grid', { testid: 'panels', dataset: { page } });
  const list = h('ul.list-group.layout-list', { 'aria-label': t('layout.title') });
  const saved = () => ({ ...(ctx.prefs.get(KEY) || {}) });
  let order = [];
  let hidden = new Set();

  const editor = h('section.card.layout-editor.mb-4', { id: editorId, testid: 'layout-editor', hidden: true, 'aria-label': t('layout.title') },
    h('div.card-body',
      h('h2.h6.mb-1', t('layout.title')),
      h('p.small.text-body-secondary.mb-3', t('layout.help')),
      list,
      h('div.d-flex.flex-wrap.gap-2.mt-3',
        button(t('layout.reset'), { variant: 'outline-secondary', size: 'sm', iconName: 'undo', testid: 'layout-reset', onClick: () => reset() }),
        button(t('layout.done'), { variant: 'primary', size: 'sm', testid: 'layout-done', onClick: () => toggle(false) }))));

  const control = button(t('layout.customize'), {
    variant: 'outline-secondary', iconName: 'layers', testid: 'layout-customize',
    attrs: { 'aria-expanded': 'false', 'aria-controls': editorId },
    onClick: () => toggle(editor.hidden),
  });

  function toggle(open) {
    editor.hidden = !open;
    control.setAttribute('aria-expanded', String(open));
    if (open) list.querySelector('input, button:not([disabled])')?.focus();
    else control.focus();
  }

  /* Saves this page's layout; the default one is saved as none. Hidden
   * panels this record lacks stay hidden for the records that have them. */
  function save() {
    const all = saved();
    const before = all[page] || {};
    const absent = (before.hidden || []).filter((id) => !byId.has(id));
    const keepHidden = [...order.filter((id) => hidden.has(id)), ...absent];
    const isDefault = !keepHidden.length && order.every((id, i) => id === declared[i]);
    if (isDefault) delete all[page];
    else all[page] = { order, hidden: keepHidden };
    ctx.prefs.set({ [KEY]: all });
  }

  function draw(focus) {
    for (const id of order) {
      const p = byId.get(id);
      p.wrap.hidden = hidden.has(id);
      grid.append(p.wrap);
    }
    clear(list, order.map((id, i) => item(byId.get(id), i)));
    if (focus) list.querySelector(focus)?.focus();
  }

  function move(id, by) {
    const i = order.indexOf(id);
    const j = i + by;
    if (j < 0 || j >= order.length) return;
    [order[i], order[j]] = [order[j], order[i]];
    save();
    // Keep the focus on the button that was pressed, or its twin at an end.
    const at = j === 0 || j === order.length - 1 ? (by < 0 ? 'down' : 'up') : (by < 0 ? 'up' : 'down');
    draw(`[data-id="${id}"] [data-testid="layout-${at}"]`);
  }

  function item(p, i) {
    const boxId = `layout-${page}-${p.id}`;
    const box = h('input.form-check-input', {
      type: 'checkbox', id: boxId, testid: 'layout-show', checked: !hidden.has(p.id),
      on: { change: () => { if (box.checked) hidden.delete(p.id); else hidden.add(p.id); save(); draw(); document.getElementById(boxId)?.focus(); } },
    });
    const arrow = (dir, by, disabled) => h('button.btn.btn-sm.btn-outline-secondary.btn-icon', {
      type: 'button', testid: `layout-${dir}`, disabled,
      'aria-label': t(`layout.${dir}`, { name: p.label }), title: t(`layout.${dir}`, { name: p.label }),
      on: { click: () => move(p.id, by) },
    }, dir === 'up' ? '↑' : '↓');
    return h('li.list-group-item.d-flex.align-items-center.gap-2', { testid: 'layout-item', dataset: { id: p.id } },
      h('div.form-check.flex-grow-1.min-w-0.mb-0', box, h('label.form-check-label.text-break', { for: boxId }, p.label)),
      h('div.btn-group.flex-shrink-0', arrow('up', -1, i === 0), arrow('down', 1, i === order.length - 1)));
  }

  function reset() {
    order = declared.slice();
    hidden = new Set();
    save();
    draw('[data-testid="layout-show"]');
  }

  return {
    control,
    /* Declares panel `id` (stable: it is what preferences keep) shown as
     * `label` in the editor; el null or false: this page has none now. */
    add(id, label, el, { half = false } = {}) {
      if (!el || byId.has(id)) return;
      const wrap = h(`div.${half ? 'col-xl-6' : 'col-12'}.panel`, { testid: 'panel', dataset: { id } }, el);
      byId.set(id, { id, label, wrap });
      declared.push(id);
    },
    /* The editor and the panels, in the user's order. */
    finish() {
      const mine = saved()[page] || {};
      order = arrange(declared, mine.order);
      hidden = new Set((mine.hidden || []).filter((id) => byId.has(id)));
      draw();
      return h('div.panel-layout', editor, grid);
    },
  };
}
