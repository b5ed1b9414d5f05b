// pages/login.js - the sign-in form (#/login): username, password and
// "remember me for 7 days". Errors stay inline under the form and the typed
// username is kept; on success the app goes where the user was headed.

import { h, clear } from '../dom.js';
import { t } from '../i18n.js';
import { fmtInt, fmtMinutes } from '../format.js';
import { field, errorTitle } from '../ui.js';
import { authCard } from '../views/auth-card.js';

/* The lockout rule in words, with the numbers the server runs with (GET
 * /api/v1/setup's `lockout`); without them (an older server, a failed
 * read) the same words without numbers. */
function lockHint(rule) {
  if (!rule || !(rule.max_failures > 0)) return t('auth.lockHint');
  return t('auth.lockRule', { failures: fmtInt(rule.max_failures), window: fmtMinutes(rule.window_seconds), lock: fmtMinutes(rule.lock_seconds) });
}

/* The login-specific wording for an error, in the user's language. A
 * refused login says the same whatever the reason (the server answers
 * alike for an unknown name, a wrong password, a wait and a locked
 * account, so that it tells no one how many attempts are left), so the
 * hint is the same for everyone: the rule, and where a locked owner finds
 * the way back in. */
function loginError(e, rule) {
  if (e.code === 'invalid_credentials') {
    return [h('div', errorTitle(e)), h('div.small', { testid: 'login-hint' }, lockHint(rule))];
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

  // the lockout rule, read while the user types (public, no session needed);
  // a refusal waits for it at most a second, then says it without numbers
  const rule = ctx.api.auth.setupStatus({ signal: ctx.signal }).then((x) => x.lockout).catch(() => null);
  const ruleSoon = () => Promise.race([rule, new Promise((done) => setTimeout(() => done(null), 1000))]);

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
      clear(errorBox, loginError(e, await ruleSoon()));
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
