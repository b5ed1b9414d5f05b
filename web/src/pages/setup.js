// pages/setup.js - first-run setup (#/setup): while the server has no users,
// the first administrator is created with the one-time token that healer
// serve printed on its console. The new admin is logged in at once, for
// 7 days when "remember me" is ticked (as at login).

import { h, clear } from '../dom.js';
import { t } from '../i18n.js';
import { field, errorTitle, errorLocation, errorDetail } from '../ui.js';
import { authCard } from '../views/auth-card.js';

export async function render(view, ctx) {
  const token = h('input.form-control.font-monospace', { type: 'text', name: 'token', autocomplete: 'one-time-code', required: true, testid: 'setup-token', placeholder: 'XXXXX-XXXXX-XXXXX-XXXXX', spellcheck: 'false', autocapitalize: 'characters' });
  const username = h('input.form-control', { type: 'text', name: 'username', autocomplete: 'username', required: true, testid: 'setup-username', autocapitalize: 'none', spellcheck: 'false' });
  const password = h('input.form-control', { type: 'password', name: 'password', autocomplete: 'new-password', required: true, minlength: '8', testid: 'setup-password' });
  const remember = h('input.form-check-input', { type: 'checkbox', name: 'remember', testid: 'setup-remember' });
  const errorBox = h('div.alert.alert-danger.py-2', { testid: 'setup-error', role: 'alert', hidden: true });
  const submit = h('button.btn.btn-primary.w-100.btn-lg', { type: 'submit', testid: 'setup-submit' }, t('setup.submit'));
  const form = h('form', { novalidate: true },
    errorBox,
    field(t('setup.token'), token, { help: t('setup.tokenHelp') }),
    field(t('setup.username'), username, { help: t('setup.usernameHelp') }),
    field(t('auth.password'), password, { help: t('setup.passwordHelp') }),
    field(t('auth.remember'), remember, { help: t('auth.rememberHelp') }),
    submit);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    errorBox.hidden = true;
    submit.disabled = true;
    try {
      await ctx.session.setup(token.value.trim(), username.value.trim(), password.value, remember.checked);
      ctx.session.loggedIn();
    } catch (e) {
      const where = errorLocation(e);
      // The server's own words add something only where the input was refused.
      const detail = e.code === 'invalid_data' || e.code === 'bad_request' ? errorDetail(e) : '';
      clear(errorBox, h('div.fw-semibold', errorTitle(e)), detail && h('div.small', where ? `${where}: ${detail}` : detail));
      errorBox.hidden = false;
      if (e.code === 'conflict') setTimeout(ctx.session.setupAlreadyDone, 1500);
    } finally {
      submit.disabled = false;
    }
  });

  view.append(authCard(t('setup.title'), t('setup.subtitle'), form));
  setTimeout(() => token.focus(), 0);
}
