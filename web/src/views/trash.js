// views/trash.js - the trash as every page with a delete shows it: the toast
// with Undo right after a delete, the "Recently deleted" card with a Restore
// button per record, and the banner on a record opened while it is in the
// trash. Datasets, models and diagnoses share one trash rule on the server
// (7 days, then the purge: docs/api.md), so they share these views too. The
// page hands in the restore call and its texts; this module knows no client.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { fmtAgo, fmtDate } from '../format.js';
import { card, button, toast, showError, badge } from '../ui.js';

/* The toast after a delete; its Undo calls restore(), says so and then
 * onRestored() (going back to the record, say). */
export function undoToast(deletedText, restoredText, restore, onRestored) {
  toast(deletedText, {
    variant: 'info',
    undo: async () => {
      await restore();
      toast(restoredText);
      onRestored?.();
    },
  });
}

/* The Delete button of a record's own page: remove() moves it to the
 * trash, then onDeleted() (leave the page) and the toast whose Undo calls
 * restore() and onRestored(). texts: {deleted, restored}. */
export function deleteButton({ testid, remove, restore, texts, onDeleted, onRestored }) {
  return button(t('common.delete'), {
    iconName: 'trash', variant: 'outline-danger', testid,
    onClick: async () => {
      try {
        await remove();
      } catch (e) { showError(e); return; }
      undoToast(texts.deleted, texts.restored, restore, onRestored);
      onDeleted();
    },
  });
}

/* Restores `item` from a button, with the button busy meanwhile. */
async function restoreFrom(btn, item, restore, onRestored) {
  btn.disabled = true;
  try {
    await restore(item);
  } catch (e) {
    btn.disabled = false;
    showError(e);
    return;
  }
  onRestored(item);
}

/* "Recently deleted": the records of `items` that are in the trash (the
 * others are left out), newest deletion first, each with Restore; null
 * when there is none. kind names them ('dataset', 'model', 'diagnosis')
 * for the test ids; restore(item) and onRestored(item) do the work. */
export function trashCard(items, { kind, restore, onRestored, href }) {
  const trashed = items.filter((x) => x.deleted_at).sort((a, b) => b.deleted_at - a.deleted_at);
  if (!trashed.length) return null;
  const rows = trashed.map((item) => {
    const btn = button(t('trash.restore'), {
      variant: 'outline-primary', size: 'sm', iconName: 'undo', testid: 'trash-restore',
      attrs: { 'aria-label': t('trash.restoreNamed', { name: item.name }) },
      onClick: () => restoreFrom(btn, item, restore, onRestored),
    });
    return h('li.list-group-item.d-flex.align-items-center.gap-2.flex-wrap', { testid: 'trash-row', dataset: { id: item.id, kind } },
      h('div.flex-grow-1.min-w-0',
        href ? h('a.fw-semibold.text-break', { href: href(item) }, item.name) : h('span.fw-semibold.text-break', item.name),
        h('div.small.text-body-secondary', { title: fmtDate(item.deleted_at) }, t('trash.deletedAgo', { ago: fmtAgo(item.deleted_at) }))),
      btn);
  });
  return card(t('trash.title'), [
    h('p.small.text-body-secondary.px-3.pt-3.mb-2', t('trash.hint')),
    h('ul.list-group.list-group-flush', { 'aria-label': t('trash.title') }, rows),
  ], { testid: `trash-${kind}`, bodyCls: 'p-0', actions: badge(String(trashed.length), 'secondary') });
}

/* On a record opened while it is in the trash: what that means, and
 * Restore. null for a live record. */
export function trashBanner(item, { text, restore, onRestored }) {
  if (!item.deleted_at) return null;
  const btn = button(t('trash.restore'), {
    variant: 'primary', size: 'sm', iconName: 'undo', testid: 'trash-banner-restore',
    onClick: () => restoreFrom(btn, item, restore, onRestored),
  });
  return h('div.alert.alert-warning.d-flex.align-items-center.gap-3.flex-wrap', { role: 'status', testid: 'trash-banner' },
    h('div.flex-grow-1', text, ' ', h('span.small', t('trash.deletedAgo', { ago: fmtAgo(item.deleted_at) }), ' · ', t('trash.hint'))),
    btn);
}
