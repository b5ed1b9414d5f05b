// pages/login.js - the sign-in form (#/login): username, password and
// "remember me for 7 days". Errors stay inline under the form and the typed
// username is kept; on success the app goes where the user was headed.

import { h, clear } from '../dom.js';
import { t } from '../i18n.js';
import { field, errorTitle } from '../ui.js';
import { authCard } from '../views/auth-card.js';

/* The login-specific wording for an error, in the user's language. A
 * refused login says the same whatever the reason (the server answers
 * alike for an unknown name, a wrong password, a wait and a locked
 * account), so the hint is the same for everyone: where a locked owner
 * finds the way back in. */
function loginError(e) {
  if (e.code === 'invalid_credentials') {
    return [h('div', errorTitle(e)), h('div.small', { testid: 'login-hint' }, t('auth.lockHint'))];
  }
  if (e.code === 'rate_limited') return [h('div', errorTitle(e)), h('div.small', t('auth.waitMinute'))];
  return errorTitle(e);
}

export async function render(view, ctx) {
  const username = h('input.form-control', { type: 'text', name: 'username', autocomplete: 'username', required: true, testid: 'login-username', autocapitalize: 'none', spellcheck: 'false' });
  const password = h('input.form-control', { type: 'password', name: 'password', autocomplete: 'current-password', required: true, testid: 'login-password' });
  const remember = h('input.form-check-input', { type: 'checkbox', name: 'remember', testid: 'login-remember' });
  const errorBox = h('div.alert.alert-danger.py-2', { testid: 'login-error', role: 'alert', hidden: true });
  const submit = h('button.btn.btn-primary.w-100.btn-lg', { type: 'submit', testid: 'login-submit' }, t('auth.signIn'));
  const form = h('form', { novalidate: true },
    errorBox,
    field(t('auth.username'), username),
    field(t('auth.password'), password),
    field(t('auth.remember'), remember, { help: t('auth.rememberHelp') }),
    submit);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    errorBox.hidden = true;
    if (!username.value.trim() || !password.value) {
      clear(errorBox, t('auth.fillBoth'));
      errorBox.hidden = false;
      (username.value.trim() ? password : username).focus();
      return;
    }
    submit.disabled = true;
    clear(submit, h('span.spinner-border.spinner-border-sm.me-2', { 'aria-hidden': 'true' }), t('auth.signingIn'));
    try {
      await ctx.session.login(username.value.trim(), password.value, remember.checked);
      ctx.session.loggedIn();
    } catch (e) {
      clear(errorBox, loginError(e));
      errorBox.hidden = false;
      password.value = '';
      password.focus();
    } finally {
      submit.disabled = false;
      clear(submit, t('auth.signIn'));
    }
  });

  view.append(authCard(t('auth.title'), t('auth.subtitle'), form));
  setTimeout(() => username.focus(), 0);
}
