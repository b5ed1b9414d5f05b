// ui.js - the shared pieces of the interface: toasts (with Undo), the busy
// indicator, the connection banner, modals, and small building blocks
// (page header, cards, stat tiles, progress bars, error alerts, form
// fields). Pages compose these instead of writing their own markup, so the
// look, the test hooks and the accessibility details live in one place.

import { h, clear, uid } from './dom.js';
import { icon } from './icons.js';
import { t, has, onLanguageChange } from './i18n.js';
import * as tasks from './tasks.js';
import * as connection from './connection.js';

/* ---- toasts ------------------------------------------------------------------ */

const VARIANT_ICON = { success: 'check', danger: 'alert', warning: 'alert', info: 'bell' };

/* toast(message, {variant, undo: async fn, action: {label, href}, timeout}) */
export function toast(message, { variant = 'success', undo = null, action = null, timeout } = {}) {
  const host = document.getElementById('toasts');
  if (!host) return null;
  const ms = timeout ?? (undo ? 10000 : 6000);
  let timer = null;
  const close = () => {
    clearTimeout(timer);
    el.classList.remove('show');
    setTimeout(() => el.remove(), 200);
  };
  const undoBtn = undo && h('button.btn.btn-sm.btn-light.toast-action', {
    type: 'button',
    testid: 'toast-undo',
    on: {
      click: async () => {
        undoBtn.disabled = true;
        try { await undo(); close(); } catch (e) { undoBtn.disabled = false; showError(e); }
      },
    },
  }, icon('undo'), t('common.undo'));
  const link = action && h('a.btn.btn-sm.btn-light.toast-action', { href: action.href, on: { click: () => close() } }, action.label);
  const el = h(`div.toast.show.app-toast.toast-${variant}`, {
    role: variant === 'danger' ? 'alert' : 'status',
    'aria-live': variant === 'danger' ? 'assertive' : 'polite',
    'aria-atomic': 'true',
    testid: 'toast',
  }, h('div.toast-body.d-flex.align-items-center.gap-2',
    h('span.toast-icon', icon(VARIANT_ICON[variant] || 'bell')),
    h('div.flex-grow-1.toast-text', message),
    undoBtn, link,
    h('button.btn-close.btn-close-white.ms-1', { type: 'button', 'aria-label': t('common.close'), on: { click: close } })));
  const arm = () => { clearTimeout(timer); if (ms > 0) timer = setTimeout(close, ms); };
  el.addEventListener('mouseenter', () => clearTimeout(timer));
  el.addEventListener('mouseleave', arm);
  el.addEventListener('focusin', () => clearTimeout(timer));
  el.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') close(); });
  host.append(el);
  arm();
  return { close, el };
}

export const showError = (err) => toast(errorText(err), { variant: 'danger', timeout: 9000 });

/* ---- errors -------------------------------------------------------------------- */

/* The message for an ApiError (or any error) in the user's language. */
export function errorTitle(err) {
  if (!err) return '';
  if (err.kind === 'network') return t('error.network');
  if (err.kind === 'abort') return t('error.aborted');
  if (err.code && has(`error.code.${err.code}`)) return t(`error.code.${err.code}`);
  return t('error.generic');
}

/* A request field in the user's words: "parameter “rounds”" for
 * params.rounds, the catalogue's name of a known field ('error.field.X'),
 * else the field as the API names it. */
function fieldName(field) {
  const f = String(field);
  if (f.startsWith('params.')) return t('error.atParam', { name: f.slice('params.'.length) });
  return t('error.atField', { field: has(`error.field.${f}`) ? t(`error.field.${f}`) : f });
}

/* Where in the input the error is: "line 3, column "b"" / "row 2, ...". */
export function errorLocation(err) {
  const d = err?.details || {};
  const parts = [];
  if (d.line !== undefined) parts.push(t('error.atLine', { line: d.line }));
  if (d.row !== undefined) parts.push(t('error.atRow', { row: d.row }));
  if (d.column !== undefined && d.column !== null) parts.push(t('error.atColumn', { column: d.column }));
  else if (d.field) parts.push(fieldName(d.field));
  return parts.join(', ');
}

/* The server's explanation in the user's language: the catalogue's text
 * for the error's code and field ('error.msg.CODE.FIELD', params.* as
 * 'params') or code alone ('error.msg.CODE'), filled from details; else the
 * server's own words (English), which say more than a generic text. */
export function errorDetail(err) {
  if (err?.kind !== 'http') return '';
  const d = err.details || {};
  const field = d.field ? String(d.field).replace(/^params\..*$/, 'params') : '';
  const key = [field && `error.msg.${err.code}.${field}`, `error.msg.${err.code}`].find((k) => k && has(k));
  if (key) return t(key, d);
  return err.message && err.message !== err.code ? err.message : '';
}

export function errorText(err) {
  const where = errorLocation(err);
  const detail = errorDetail(err);
  return [errorTitle(err), where && `(${where})`, detail && `— ${detail}`].filter(Boolean).join(' ');
}

/* An inline alert for err: title, location, the server's words, and an
 * optional Retry button. */
export function errorAlert(err, { testid, retry } = {}) {
  const where = errorLocation(err);
  const detail = errorDetail(err);
  return h('div.alert.alert-danger.d-flex.gap-2.align-items-start.mb-0', { role: 'alert', testid },
    h('span.alert-icon', icon(err?.kind === 'network' ? 'offline' : 'alert')),
    h('div.flex-grow-1.min-w-0',
      h('div.fw-semibold', errorTitle(err), where ? ` — ${where}` : ''),
      detail && h('div.small.text-break.error-detail', detail),
      err?.kind === 'network' && h('div.small', t('error.keptInput')),
      err?.requestId && h('div.small.text-body-secondary', t('error.requestId', { id: err.requestId }))),
    retry && h('button.btn.btn-sm.btn-outline-danger.flex-shrink-0', { type: 'button', on: { click: retry } }, icon('refresh'), t('common.retry')));
}

/* ---- busy indicator ------------------------------------------------------------- */

const BUSY_AFTER_MS = 1000;

export function mountBusyIndicator(host) {
  const label = h('span.busy-label');
  const pct = h('span.busy-pct.fw-semibold');
  const bar = h('div.progress-bar', { style: { width: '0%' } });
  const track = h('div.progress.busy-progress', { role: 'progressbar', 'aria-label': t('busy.title'), 'aria-valuemin': '0', 'aria-valuemax': '100' }, bar);
  const cancelBox = h('span.busy-cancel');
  const el = h('div.busy-indicator.shadow', { testid: 'busy-indicator', role: 'status', 'aria-live': 'polite', hidden: true },
    h('span.spinner-border.spinner-border-sm', { 'aria-hidden': 'true' }),
    h('div.busy-text', h('div.d-flex.gap-2.align-items-baseline', label, pct), track),
    cancelBox);
  host.append(el);
  let timer = null;

  const render = (list) => {
    clearTimeout(timer);
    const now = performance.now();
    const slow = list.filter((x) => now - x.started >= BUSY_AFTER_MS);
    const young = list.filter((x) => now - x.started < BUSY_AFTER_MS);
    if (young.length) timer = setTimeout(() => render(tasks.activeTasks()), BUSY_AFTER_MS - (now - Math.min(...young.map((x) => x.started))) + 20);
    el.hidden = slow.length === 0;
    if (!slow.length) return;
    const main = slow.find((x) => x.progress !== null) || slow[0];
    label.textContent = slow.length > 1 ? t('busy.many', { count: slow.length }) : (main.label || t('busy.title'));
    const known = main.progress !== null;
    pct.textContent = known ? `${Math.round(main.progress * 100)}%` : '';
    track.hidden = !known;
    bar.style.width = known ? `${Math.round(main.progress * 100)}%` : '0%';
    track.setAttribute('aria-valuenow', known ? String(Math.round(main.progress * 100)) : '0');
    const cancellable = slow.filter((x) => x.cancel);
    clear(cancelBox, cancellable.length ? h('button.btn.btn-sm.btn-outline-secondary', {
      type: 'button',
      on: { click: () => cancellable.forEach((x) => x.cancel()) },
    }, t('common.cancel')) : null);
  };
  tasks.subscribe(render);
  onLanguageChange(() => { track.setAttribute('aria-label', t('busy.title')); render(tasks.activeTasks()); });
}

/* ---- connection banner ---------------------------------------------------------- */

export function mountConnectionBanner(host) {
  const status = h('span.banner-status');
  const retry = h('button.btn.btn-sm.btn-dark', { type: 'button', on: { click: () => connection.probe() } }, icon('refresh'), h('span', t('connection.retryNow')));
  const title = h('strong', t('connection.lost'));
  const el = h('div.connection-banner.alert.alert-warning.rounded-0.mb-0.d-flex.align-items-center.gap-2.flex-wrap', {
    testid: 'connection-banner', role: 'alert', hidden: true,
  }, icon('offline'), title, status, h('span.ms-auto'), retry);
  host.prepend(el);
  let tick = null;
  let last = null;
  const show = () => {
    const st = last;
    el.hidden = st.online;
    if (st.online) { clearInterval(tick); tick = null; return; }
    const left = Math.max(0, Math.ceil((st.nextAt - Date.now()) / 1000));
    status.textContent = st.probing ? t('connection.checking') : t('connection.retryIn', { s: left });
    retry.disabled = st.probing;
    if (!tick) tick = setInterval(show, 1000);
  };
  connection.subscribe((st) => { last = st; show(); });
  onLanguageChange(() => {
    title.textContent = t('connection.lost');
    retry.lastChild.textContent = t('connection.retryNow');
    show();
  });
}

/* ---- modals ------------------------------------------------------------------------ */

/* modal({title, body, okLabel, okVariant, onOk}) -> Promise<result|null>.
 * onOk may throw to keep the dialog open (its error is shown inside).
 * The body is wrapped in a form, so Enter submits; Escape closes. */
export function modal({ title, body, okLabel = t('common.ok'), okVariant = 'primary', onOk = async () => true, testid }) {
  return new Promise((resolve) => {
    const titleId = uid('modal-title');
    const errBox = h('div.mt-3');
    const ok = h(`button.btn.btn-${okVariant}`, { type: 'submit', testid: testid && `${testid}-submit` }, okLabel);
    const form = h('form.modal-content', { novalidate: true },
      h('div.modal-header', h('h2.modal-title.h5', { id: titleId }, title),
        h('button.btn-close', { type: 'button', 'data-bs-dismiss': 'modal', 'aria-label': t('common.close') })),
      h('div.modal-body', body, errBox),
      h('div.modal-footer',
        h('button.btn.btn-outline-secondary', { type: 'button', 'data-bs-dismiss': 'modal' }, t('common.cancel')), ok));
    const el = h('div.modal.fade', { tabindex: '-1', 'aria-labelledby': titleId, 'aria-modal': 'true', role: 'dialog', testid },
      h('div.modal-dialog.modal-dialog-centered', form));
    document.body.append(el);
    const bs = new window.bootstrap.Modal(el);
    let result = null;
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      ok.disabled = true;
      clear(errBox);
      try {
        result = (await onOk()) ?? true;
        bs.hide();
      } catch (e) {
        clear(errBox, errorAlert(e));
      } finally {
        ok.disabled = false;
      }
    });
    el.addEventListener('shown.bs.modal', () => (el.querySelector('input, select, textarea') || ok).focus());
    el.addEventListener('hidden.bs.modal', () => { bs.dispose(); el.remove(); resolve(result); });
    bs.show();
  });
}

export const confirmDialog = ({ title, message, okLabel, okVariant = 'danger' }) =>
  modal({ title, body: h('p.mb-0', message), okLabel, okVariant });

/* ---- building blocks --------------------------------------------------------------- */

export function pageHeader(title, { subtitle, actions, eyebrow } = {}) {
  document.title = `${title} · SystemHealer`;
  return h('header.page-header.d-flex.flex-wrap.align-items-end.gap-3',
    h('div.flex-grow-1.min-w-0',
      eyebrow && h('div.page-eyebrow', eyebrow),
      h('h1.page-title.text-break', { testid: 'page-title', tabindex: '-1' }, title),
      subtitle && h('p.page-subtitle.mb-0', subtitle)),
    actions && h('div.page-actions.d-flex.flex-wrap.gap-2', actions));
}

export function card(title, body, { actions, cls = '', testid, bodyCls = '' } = {}) {
  return h(`section.card.app-card${cls ? `.${cls.split(' ').join('.')}` : ''}`, { testid },
    title && h('div.card-header.d-flex.align-items-center.gap-2',
      h('h2.card-title.h6.mb-0.flex-grow-1', title), actions),
    h(`div.card-body${bodyCls ? `.${bodyCls}` : ''}`, body));
}

/* A grid of stat tiles that picks 2, 3 or 6 columns from its own width. */
export const statGrid = (...tiles) => h('div.stat-wrap', h('div.stat-grid', tiles));

export function statTile(label, value, { testid, hint, tone = '', valueAttrs = {} } = {}) {
  return h(`div.stat-tile${tone ? `.tone-${tone}` : ''}`,
    h('div.stat-label', label),
    h('div.stat-value', { testid, ...valueAttrs }, value),
    hint && h('div.stat-hint', hint));
}

/* A Bootstrap progress bar with aria values; returns {el, set(fraction|null, text)}. */
export function progressBar({ testid, label, striped = false } = {}) {
  const bar = h(`div.progress-bar${striped ? '.progress-bar-striped.progress-bar-animated' : ''}`, { style: { width: '0%' } });
  const el = h('div.progress', {
    role: 'progressbar', testid, 'aria-label': label, 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0',
  }, bar);
  return {
    el,
    bar,
    set(fraction, text) {
      const pct = Math.max(0, Math.min(100, Math.round((fraction || 0) * 100)));
      bar.style.width = `${pct}%`;
      el.setAttribute('aria-valuenow', String(pct));
      el.setAttribute('aria-valuetext', text || `${pct}%`);
      bar.textContent = pct >= 8 ? `${pct}%` : '';
    },
    state(variant) {
      bar.classList.remove('bg-success', 'bg-danger', 'bg-warning', 'bg-secondary');
      if (variant) bar.classList.add(`bg-${variant}`);
    },
  };
}

export const spinner = (text = t('common.loading')) =>
  h('div.loading-state', { role: 'status' }, h('span.spinner-border.text-primary', { 'aria-hidden': 'true' }), h('span', text));

export function emptyState(iconName, title, text, action) {
  return h('div.empty-state', h('div.empty-icon', icon(iconName)), h('div.empty-title', title), text && h('p.empty-text', text), action);
}

/* A labelled form field: {label, control, help, id}. The control gets the
 * id and aria-describedby; an invalid-feedback slot follows it. */
export function field(label, control, { help, cls = 'mb-3', after } = {}) {
  const id = control.id || uid('field');
  control.id = id;
  const helpId = help ? `${id}-help` : null;
  if (helpId) control.setAttribute('aria-describedby', helpId);
  const isCheck = control.type === 'checkbox';
  if (isCheck) {
    return h(`div.form-check.${cls}`, control, h('label.form-check-label', { for: id }, label),
      help && h('div.form-text', { id: helpId }, help));
  }
  return h(`div.${cls}`, h('label.form-label', { for: id }, label), control, after,
    h('div.invalid-feedback'), help && h('div.form-text', { id: helpId }, help));
}

/* The header cell of a sortable column {key, label, num?, sortable?}: a
 * button inside the th (keyboard and screen readers), aria-sort on the th,
 * and an arrow; `sort` and `dir` (1 ascending, -1 descending) are the
 * table's current order, onSort(key) is called on a click. */
export function sortHeader(col, sort, dir, onSort) {
  if (col.sortable === false) return h(`th${col.num ? '.text-end' : ''}`, { scope: 'col' }, col.label);
  const active = sort === col.key;
  const aria = active ? (dir > 0 ? 'ascending' : 'descending') : 'none';
  return h(`th.sortable${col.num ? '.text-end' : ''}`, { scope: 'col', 'aria-sort': aria, dataset: { key: col.key }, on: { click: () => onSort(col.key) } },
    h('button.sort-btn', { type: 'button', 'aria-label': t('results.sortBy', { name: col.label }) },
      h('span', col.label), icon(active ? (dir > 0 ? 'sortUp' : 'sortDown') : 'sort', 'sort-icon')));
}

/* A scrolling box around a wide or long table: focusable and named (a
 * keyboard user must be able to reach it to scroll it: axe-core's
 * scrollable-region-focusable), e.g. scrollRegion(t('...'), table). */
export function scrollRegion(label, content, { cls = 'table-responsive.table-scroll', testid, id, hidden } = {}) {
  return h(`div.${cls}`, { tabindex: '0', role: 'region', 'aria-label': label, testid, id, hidden }, content);
}

/* Marks a control invalid with a message (or clears it with null). */
export function setInvalid(control, message) {
  control.classList.toggle('is-invalid', !!message);
  if (message) control.setAttribute('aria-invalid', 'true');
  else control.removeAttribute('aria-invalid');
  const fb = control.parentElement?.querySelector('.invalid-feedback');
  if (fb) fb.textContent = message || '';
}

/* A <select> from [{value, label}] with the given value chosen. */
export function select(options, { value, testid, id, cls = 'form-select', ariaLabel } = {}) {
  const el = h(`select.${cls.split(' ').join('.')}`, { testid, id, 'aria-label': ariaLabel },
    options.map((o) => h('option', { value: String(o.value), disabled: o.disabled }, o.label)));
  if (value !== undefined && value !== null) el.value = String(value);
  return el;
}

export const badge = (text, tone = 'secondary', attrs = {}) =>
  h(`span.badge.rounded-pill.badge-soft-${tone}`, attrs, text);

const STATE_TONE = { queued: 'secondary', running: 'primary', succeeded: 'success', failed: 'danger', cancelled: 'warning' };
export const stateBadge = (state, attrs = {}) =>
  badge(t(`job.state.${state}`), STATE_TONE[state] || 'secondary', { 'data-state': state, ...attrs });

/* A button with an icon and a label. */
export function button(label, { iconName, variant = 'primary', size = '', testid, onClick, type = 'button', attrs = {} } = {}) {
  return h(`button.btn.btn-${variant}${size ? `.btn-${size}` : ''}`, { type, testid, on: onClick ? { click: onClick } : undefined, ...attrs },
    iconName && icon(iconName), label && h('span', label));
}

export function linkButton(label, href, { iconName, variant = 'outline-secondary', size = '', testid, download, attrs = {} } = {}) {
  return h(`a.btn.btn-${variant}${size ? `.btn-${size}` : ''}`, { href, testid, download, ...attrs }, iconName && icon(iconName), h('span', label));
}
