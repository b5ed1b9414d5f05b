// pages/admin.js - #/admin (admins only): the user accounts (create, disable
// and enable, unlock, reset a password, set the e-mail address alerts and
// unlock links are mailed to) and the notifications the server
// raises for admins (locked accounts, failed jobs). Each action answers with
// the changed user, which replaces its row in place.

import { h, clear } from '../dom.js';
import { icon } from '../icons.js';
import { t } from '../i18n.js';
import { fmtDate, fmtAgo } from '../format.js';
import { pageHeader, card, field, select, errorAlert, badge, modal, toast, showError, setInvalid, emptyState, errorDetail, linkButton } from '../ui.js';

function statusBadges(u) {
  const out = [];
  if (u.disabled) out.push(badge(t('admin.disabled'), 'danger', { class: 'state-badge' }));
  if (u.locked) out.push(badge(t('admin.lockedUntil', { date: fmtDate(u.locked_until) }), 'warning'));
  if (!out.length) out.push(badge(t('admin.active'), 'success', { class: 'state-badge' }));
  return out;
}

function actionButton(testid, iconName, label, onClick, variant = 'outline-secondary') {
  return h(`button.btn.btn-sm.btn-${variant}.d-inline-flex.align-items-center.gap-1`, { type: 'button', testid, on: { click: onClick } }, icon(iconName), h('span', label));
}

function resetPassword(u, users) {
  const input = h('input.form-control', { type: 'password', autocomplete: 'new-password', minlength: '8', testid: 'user-reset-password', name: 'reset-password' });
  return modal({
    title: t('admin.resetTitle', { name: u.username }),
    body: [field(t('admin.newPassword'), input, { help: t('admin.resetHelp'), cls: 'mb-0' })],
    okLabel: t('admin.reset'),
    testid: 'user-reset-dialog',
    onOk: async () => users.setPassword(u.id, input.value, { label: t('admin.resetting') }),
  });
}

function editEmail(u, users) {
  const input = h('input.form-control', { type: 'email', autocomplete: 'off', maxlength: '254', testid: 'user-email-input', name: 'user-email', value: u.email || '' });
  return modal({
    title: t('admin.emailTitle', { name: u.username }),
    body: [field(t('admin.email'), input, { help: t('admin.emailHelp'), cls: 'mb-0' })],
    okLabel: t('admin.saveEmail'),
    testid: 'user-email-dialog',
    onOk: async () => users.setEmail(u.id, input.value.trim(), { label: t('admin.savingEmail') }),
  });
}

function usersCard(users, ctx, refresh) {
  const me = ctx.session.user;
  const act = (u, action) => async (ev) => {
    ev.currentTarget.disabled = true;
    try {
      await ctx.api.users[action](u.id);
      toast(t(`admin.done.${action}`, { name: u.username }));
      refresh();
    } catch (e) { showError(e); ev.target.closest('button').disabled = false; }
  };
  const row = (u) => h('tr', { testid: 'user-row', dataset: { username: u.username, id: u.id } },
    h('td', h('div.d-flex.align-items-center.gap-2', h('span.user-avatar', icon('user')),
      h('div.min-w-0', h('div.fw-semibold.text-nowrap', u.username, u.id === me?.id && h('span.small.text-body-secondary.ms-1', t('admin.you'))),
        h('div.small.text-body-secondary.d-md-none', t(`role.${u.role}`)),
        h('div.small.text-body-secondary.text-break', { testid: 'user-email' }, u.email || t('admin.noEmail'))))),
    h('td.d-none.d-md-table-cell', u.role === 'admin' ? badge(t('role.admin'), 'primary') : t('role.user')),
    h('td', h('div.d-flex.flex-wrap.gap-1', statusBadges(u))),
    h('td.d-none.d-lg-table-cell.text-nowrap', fmtAgo(u.created_at)),
    h('td.text-end', h('div.d-inline-flex.justify-content-end.gap-1.text-nowrap',
      u.locked && actionButton('user-unlock', 'unlock', t('admin.unlock'), act(u, 'unlock')),
      u.disabled ? actionButton('user-enable', 'check', t('admin.enable'), act(u, 'enable'))
        : actionButton('user-disable', 'ban', t('admin.disable'), act(u, 'disable'), 'outline-danger'),
      actionButton('user-edit-email', 'mail', t('admin.editEmail'), async () => {
        if (await editEmail(u, ctx.api.users)) toast(t('admin.done.email', { name: u.username }));
        refresh();
      }),
      actionButton('user-reset', 'key', t('admin.reset'), async () => {
        if (await resetPassword(u, ctx.api.users)) toast(t('admin.done.password', { name: u.username }));
        refresh();
      }))));
  return card(t('admin.users'), h('div.table-responsive', h('table.table.table-hover.align-middle.mb-0',
    h('caption.visually-hidden', t('admin.users')),
    h('thead', h('tr', h('th', { scope: 'col' }, t('admin.col.user')), h('th.d-none.d-md-table-cell', { scope: 'col' }, t('admin.col.role')),
      h('th', { scope: 'col' }, t('admin.col.status')), h('th.d-none.d-lg-table-cell', { scope: 'col' }, t('admin.col.created')),
      h('th.text-end', { scope: 'col' }, h('span.visually-hidden', t('admin.col.actions'))))),
    h('tbody', users.map(row)))), { bodyCls: 'p-0', actions: badge(String(users.length)) });
}

function createCard(ctx, onCreated) {
  const username = h('input.form-control', { type: 'text', testid: 'user-create-username', name: 'new-username', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', maxlength: '63' });
  const password = h('input.form-control', { type: 'password', testid: 'user-create-password', name: 'new-password', autocomplete: 'new-password' });
  const role = select([{ value: 'user', label: t('role.user') }, { value: 'admin', label: t('role.admin') }], { value: 'user', testid: 'user-create-role' });
  const email = h('input.form-control', { type: 'email', testid: 'user-create-email', name: 'new-email', autocomplete: 'off', maxlength: '254' });
  const errorBox = h('div.mb-3');
  const submit = h('button.btn.btn-primary.w-100', { type: 'submit', testid: 'user-create-submit' }, icon('plus'), ' ', t('admin.create'));
  const form = h('form', { novalidate: true }, errorBox,
    field(t('admin.username'), username, { help: t('admin.usernameHelp') }),
    field(t('admin.password'), password, { help: t('admin.passwordHelp') }),
    field(t('admin.email'), email, { help: t('admin.emailHelp') }),
    field(t('admin.role'), role),
    submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(errorBox);
    setInvalid(username, null);
    setInvalid(password, null);
    setInvalid(email, null);
    submit.disabled = true;
    try {
      const u = await ctx.api.users.create({ username: username.value.trim(), password: password.value, role: role.value, email: email.value.trim() || null }, { label: t('admin.creating') });
      toast(t('admin.created', { name: u.username }));
      username.value = '';
      password.value = '';
      email.value = '';
      role.value = 'user';
      onCreated();
    } catch (e) {
      const target = { username, password, email }[e.details?.field] || (e.code === 'conflict' ? username : null);
      if (target) setInvalid(target, errorDetail(e));
      clear(errorBox, errorAlert(e, { testid: 'user-create-error' }));
    } finally {
      submit.disabled = false;
    }
  });
  return card(t('admin.createTitle'), form);
}

function notificationsCard(items, ctx, refresh) {
  const read = async (n, btn) => {
    btn.disabled = true;
    try { await ctx.api.notifications.markRead(n.id); refresh(); ctx.notificationsChanged(); } catch (e) { showError(e); btn.disabled = false; }
  };
  const unread = items.filter((n) => !n.read).length;
  const list = items.length ? h('div.list-group.list-group-flush', items.map((n) => h(`div.list-group-item.notification-row${n.read ? '.is-read' : ''}`, { testid: 'notification-row', dataset: { id: n.id, kind: n.kind } },
    h('div.d-flex.gap-2.align-items-start',
      h(`span.note-icon.note-${n.kind}`, icon(n.kind === 'account_locked' ? 'unlock' : 'alert')),
      h('div.flex-grow-1.min-w-0',
        h('div.d-flex.gap-2.align-items-center.flex-wrap', h('span.fw-semibold', t(`admin.kind.${n.kind}`)), !n.read && badge(t('admin.new'), 'primary'), h('span.small.text-body-secondary.ms-auto', fmtAgo(n.created_at))),
        h('div.small.text-break', n.message)),
      !n.read && h('button.btn.btn-sm.btn-ghost.flex-shrink-0', {
        type: 'button', 'aria-label': t('admin.markRead'), title: t('admin.markRead'), testid: 'notification-read',
        on: { click: (ev) => read(n, ev.currentTarget) },
      }, icon('check')))))) : h('div.p-4', emptyState('bell', t('admin.noNotifications'), null));
  return card(t('admin.notifications'), list, { bodyCls: 'p-0', actions: unread ? badge(t('admin.unread', { count: unread }), 'primary') : null });
}

export async function render(view, ctx) {
  const usersHost = h('div');
  const notesHost = h('div', { id: 'notifications', tabindex: '-1' });
  const loadUsers = async () => clear(usersHost, usersCard(await ctx.api.users.list({ signal: ctx.signal }), ctx, () => loadUsers().catch(showError)));
  const loadNotes = async () => clear(notesHost, notificationsCard(await ctx.api.notifications.list({ signal: ctx.signal, limit: 100 }), ctx, () => loadNotes().catch(showError)));
  await Promise.all([loadUsers(), loadNotes()]);
  view.append(pageHeader(t('admin.title'), {
    subtitle: t('admin.subtitle'),
    actions: linkButton(t('admin.securityLink'), '#/security', { iconName: 'shieldAlert', testid: 'admin-to-security' }),
  }),
    h('div.d-flex.flex-column.gap-4', usersHost,
      h('div.row.g-4',
        h('div.col-xl-8', notesHost),
        h('div.col-xl-4', createCard(ctx, () => loadUsers().catch(showError))))));
  // The header's unread badge leads here: its list, in view and focused.
  if (ctx.query.section === 'notifications') {
    setTimeout(() => { notesHost.scrollIntoView({ block: 'start' }); notesHost.focus({ preventScroll: true }); }, 0);
  }
}
