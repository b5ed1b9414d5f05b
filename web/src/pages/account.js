// pages/account.js - #/account, reached from the user menu: the logged-in
// user's own password and e-mail address. Both ask for the current
// password (the server counts a wrong one like a failed login); changing
// the password ends the user's other sessions and keeps this one.

import { h, clear } from '../dom.js';
import { icon } from '../icons.js';
import { t } from '../i18n.js';
import { pageHeader, card, field, errorAlert, errorDetail, setInvalid, toast } from '../ui.js';

function passwordInput(testid, autocomplete) {
  return h('input.form-control', { type: 'password', testid, name: testid, autocomplete, required: true });
}

/* Shows a refusal: next to the field it names, and as an alert above. */
function showRefusal(e, errorBox, inputs, testid) {
  const target = inputs[e.details?.field];
  if (target) {
    setInvalid(target, errorDetail(e) || e.message);
    target.focus();
  }
  clear(errorBox, errorAlert(e, { testid }));
}

function resetMarks(errorBox, inputs) {
  clear(errorBox);
  for (const input of Object.values(inputs)) setInvalid(input, null);
}

function submitButton(testid, label) {
  return h('button.btn.btn-primary', { type: 'submit', testid }, label);
}

function passwordCard(ctx) {
  const current = passwordInput('account-current-password', 'current-password');
  const fresh = passwordInput('account-new-password', 'new-password');
  const repeat = passwordInput('account-repeat-password', 'new-password');
  const errorBox = h('div.mb-3');
  const submit = submitButton('account-password-submit', t('account.changePassword'));
  const inputs = { current, new: fresh, repeat };
  const form = h('form', { novalidate: true }, errorBox,
    field(t('account.currentPassword'), current),
    field(t('account.newPassword'), fresh, { help: t('admin.passwordHelp') }),
    field(t('account.repeatPassword'), repeat),
    submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    resetMarks(errorBox, inputs);
    if (fresh.value !== repeat.value) {
      setInvalid(repeat, t('account.passwordsDiffer'));
      repeat.focus();
      return;
    }
    submit.disabled = true;
    try {
      await ctx.api.auth.changePassword(current.value, fresh.value, { label: t('account.changingPassword') });
      for (const input of Object.values(inputs)) input.value = '';
      toast(t('account.passwordChanged'));
    } catch (e) {
      showRefusal(e, errorBox, inputs, 'account-password-error');
    } finally {
      submit.disabled = false;
    }
  });
  return card(t('account.passwordCard'), [h('p.small.text-body-secondary', t('account.passwordIntro')), form], { testid: 'account-password' });
}

function emailCard(ctx, user, onChanged) {
  const email = h('input.form-control', { type: 'email', testid: 'account-email', name: 'account-email', autocomplete: 'email', maxlength: '254', value: user.email || '' });
  const password = passwordInput('account-email-password', 'current-password');
  const errorBox = h('div.mb-3');
  const submit = submitButton('account-email-submit', t('account.saveEmail'));
  const inputs = { email, password };
  const form = h('form', { novalidate: true }, errorBox,
    field(t('account.email'), email, { help: t('account.emailHelp') }),
    field(t('account.currentPassword'), password, { help: t('account.emailPasswordHelp') }),
    submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    resetMarks(errorBox, inputs);
    submit.disabled = true;
    try {
      const answer = await ctx.api.auth.changeEmail(email.value.trim(), password.value, { label: t('account.savingEmail') });
      password.value = '';
      toast(answer.user.email ? t('account.emailSaved', { email: answer.user.email }) : t('account.emailRemoved'));
      onChanged(answer.user);
    } catch (e) {
      showRefusal(e, errorBox, inputs, 'account-email-error');
    } finally {
      submit.disabled = false;
    }
  });
  return card(t('account.emailCard'), form, { testid: 'account-email-card' });
}

function summary(user) {
  return card(null, h('div.d-flex.align-items-center.gap-3',
    h('span.user-avatar.user-avatar-lg', icon('user')),
    h('div.min-w-0',
      h('div.fw-semibold.text-break', { testid: 'account-username' }, user.username),
      h('div.small.text-body-secondary', t(`role.${user.role}`)),
      h('div.small.text-break', { testid: 'account-email-shown' }, user.email || t('account.noEmail')))));
}

export async function render(view, ctx) {
  const { user } = await ctx.api.auth.me({ signal: ctx.signal });
  const summaryHost = h('div', summary(user));
  view.append(pageHeader(t('account.title'), { subtitle: t('account.subtitle') }),
    h('div.row.g-4',
      h('div.col-lg-4', summaryHost),
      h('div.col-lg-8.d-flex.flex-column.gap-4',
        passwordCard(ctx),
        emailCard(ctx, user, (u) => clear(summaryHost, summary(u))))));
}
