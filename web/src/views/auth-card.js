// views/auth-card.js - the centred card of the pages shown before login
// (login, setup): logo, title, subtitle, the form and an optional footer.

import { h } from '../dom.js';
import { icon } from '../icons.js';
import { t } from '../i18n.js';

export function authCard(title, subtitle, form, foot) {
  document.title = `${title} · SystemHealer`;
  return h('div.auth-wrap',
    h('div.auth-card.card.shadow-lg',
      h('div.card-body',
        h('div.auth-logo', icon('logo')),
        h('h1.h3.text-center.mb-1', { testid: 'page-title', tabindex: '-1' }, title),
        h('p.text-center.text-body-secondary.mb-4', subtitle),
        form,
        foot)),
    h('p.auth-note.text-center.text-body-secondary.small', t('auth.tagline')));
}
