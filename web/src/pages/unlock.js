// pages/unlock.js - #/unlock?token=..., the page an account lock's mail
// links to. It asks before it posts the token (a mail scanner that opens
// links must not spend it), then says whether the account is unlocked and
// leads to the sign-in. Reachable signed in or not; the token stays in
// the URL's fragment, which never reaches a server's logs.

import { h, clear } from '../dom.js';
import { t } from '../i18n.js';
import { errorAlert } from '../ui.js';
import { authCard } from '../views/auth-card.js';

export async function render(view, ctx) {
  const token = String(ctx.query.token || '');
  const status = h('div', { role: 'status', 'aria-live': 'polite' });
  const next = ctx.session.user ? '#/' : '#/login';
  const goOn = h('a.btn.btn-outline-secondary.w-100', { href: next, testid: 'unlock-continue' },
    ctx.session.user ? t('unlock.continue') : t('unlock.signIn'));
  const submit = h('button.btn.btn-primary.w-100.btn-lg.mb-2', { type: 'submit', testid: 'unlock-submit', disabled: !token }, t('unlock.button'));
  const form = h('form', { novalidate: true },
    h('p', t('unlock.intro')),
    status,
    token ? submit : h('div.alert.alert-warning', { testid: 'unlock-no-token', role: 'alert' }, t('unlock.noToken')),
    goOn);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(status);
    submit.disabled = true;
    try {
      const answer = await ctx.api.auth.unlock(token, { label: t('unlock.working') });
      clear(status, h('div.alert.alert-success', { testid: 'unlock-done' }, t('unlock.done', { name: answer.username })));
      submit.hidden = true;
      goOn.classList.replace('btn-outline-secondary', 'btn-primary');
      goOn.focus();
    } catch (e) {
      clear(status, h('div.mb-3', errorAlert(e, { testid: 'unlock-error' })));
      // A refused link stays refused; a lost connection or a limit may pass.
      submit.disabled = /^unlock_token_/.test(e.code || '');
    }
  });
  view.append(authCard(t('unlock.title'), t('unlock.subtitle'), form));
}
