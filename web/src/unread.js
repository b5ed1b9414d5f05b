// unread.js - the administrators' unread notifications as a badge in the
// header (a bell with the count, "N unread notifications" for screen
// readers), linking to the notifications on the admin page. One element
// lives for the whole session, so that re-rendering the header on every
// route does not re-read the count: it is read when asked (a page marked
// some read), on a route change when the last read is older than
// FRESH_MS, and every POLL_MS while the tab is visible. Like jobwatch.js it
// takes the read function (the notifications client's unreadCount, bound
// by app.js), so this module knows no client.

import { h } from './dom.js';
import { t } from './i18n.js';
import { icon } from './icons.js';

const FRESH_MS = 15000;
const POLL_MS = 60000;
export const NOTIFICATIONS_HREF = '#/admin?section=notifications';

/* read() -> the number of unread notifications. Returns {el, refresh(force),
 * stop()}: el stays hidden while there is nothing unread. */
export function unreadBadge(read) {
  const count = h('span.badge.rounded-pill.text-bg-danger.unread-count', { testid: 'unread-count', 'aria-hidden': 'true' });
  const el = h('a.btn.btn-sm.btn-outline-secondary.unread-link.d-inline-flex.align-items-center.gap-1', {
    href: NOTIFICATIONS_HREF, testid: 'unread-badge', hidden: true,
  }, icon('bell'), count);
  let lastRead = 0;
  let lastCount = 0;
  let inFlight = null;

  const show = (n) => {
    lastCount = n;
    el.hidden = !(n > 0);
    count.textContent = String(n);
    const label = t('nav.unread', { count: n });
    el.setAttribute('aria-label', label);
    el.title = label;
  };

  const refresh = (force = false) => {
    show(lastCount); // the label in the language now chosen
    if (inFlight || (!force && Date.now() - lastRead < FRESH_MS)) return inFlight;
    lastRead = Date.now();
    inFlight = read().then(show, () => { /* offline or logged out: keep the last count */ })
      .finally(() => { inFlight = null; });
    return inFlight;
  };

  const timer = setInterval(() => { if (document.visibilityState === 'visible') refresh(true); }, POLL_MS);
  const onVisible = () => { if (document.visibilityState === 'visible') refresh(); };
  document.addEventListener('visibilitychange', onVisible);
  const stop = () => {
    clearInterval(timer);
    document.removeEventListener('visibilitychange', onVisible);
  };
  return { el, refresh, stop };
}
