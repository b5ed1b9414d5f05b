// app.js - boots the UI: puts the shell on the page (navigation bar, toast
// area, busy indicator, connection banner), finds out whether a first-run
// setup or a login is needed, and routes on the URL hash (#/datasets/3).
// Pages are ES modules loaded on first use; each one renders into a fresh
// element that replaces the old page only when it is ready, and gets an
// AbortSignal that fires when the user moves on, so nothing of a left page
// keeps running (charts are disposed, requests and polls stop).
//
// Pages import no app state: render(view, ctx) gets everything through its
// context (pageContext below): the route's params and query, the signal,
// navigation, the session and its callbacks, the API clients (client/*.js),
// the preferences and the job followers. So nothing imports app.js, and
// the modules form no cycle (tests/web/test_imports.mjs checks it).

import { h, clear, $$ } from './dom.js';
import { icon } from './icons.js';
import { t, LANGUAGES, language, onLanguageChange } from './i18n.js';
import * as http from './client/http.js';
import * as auth from './client/auth.js';
import * as datasets from './client/datasets.js';
import * as jobs from './client/jobs.js';
import * as models from './client/models.js';
import * as diagnoses from './client/diagnoses.js';
import * as topologies from './client/topologies.js';
import * as analyses from './client/analyses.js';
import * as users from './client/users.js';
import * as notifications from './client/notifications.js';
import * as security from './client/security.js';
import * as algorithms from './client/algorithms.js';
import * as system from './client/system.js';
import * as session from './session.js';
import * as prefs from './prefs.js';
import * as connection from './connection.js';
import { disposeDetached, disposeAll, refreshCharts } from './charts.js';
import { poll, watch } from './jobwatch.js';
import { unreadBadge } from './unread.js';
import { mountBusyIndicator, mountConnectionBanner, toast, spinner, errorAlert, linkButton, select } from './ui.js';

const ROUTES = [
  { re: /^\/login$/, page: 'login', public: true, bare: true },
  { re: /^\/setup$/, page: 'setup', public: true, bare: true },
  // an unlock link from a lock's mail: served signed in or not
  { re: /^\/unlock$/, page: 'unlock', public: true, bare: true, open: true },
  { re: /^\/datasets$/, page: 'datasets', nav: 'datasets' },
  { re: /^\/datasets\/(\d+)$/, page: 'datasets', nav: 'datasets', params: ['id'] },
  { re: /^\/train$/, page: 'train', nav: 'train' },
  { re: /^\/jobs\/(\d+)$/, page: 'job', nav: 'train', params: ['id'] },
  { re: /^\/models$/, page: 'models', nav: 'models' },
  { re: /^\/models\/leaderboard$/, page: 'leaderboard', nav: 'models' },
  { re: /^\/models\/(\d+)$/, page: 'model', nav: 'models', params: ['id'] },
  { re: /^\/models\/(\d+)\/comparison$/, page: 'comparison', nav: 'models', params: ['id'] },
  { re: /^\/models\/(\d+)\/report$/, page: 'report', nav: 'models', params: ['id'] },
  { re: /^\/pipelines$/, page: 'pipeline', nav: 'pipelines' },
  { re: /^\/pipelines\/(\d+)$/, page: 'pipeline', nav: 'pipelines', params: ['id'] },
  { re: /^\/diagnose$/, page: 'diagnose', nav: 'diagnose' },
  { re: /^\/diagnoses\/(\d+)$/, page: 'diagnosis', nav: 'diagnose', params: ['id'] },
  { re: /^\/diagnoses\/(\d+)\/rows\/(\d+)$/, page: 'sample', nav: 'diagnose', params: ['id', 'row'] },
  { re: /^\/rca$/, page: 'rca', nav: 'rca' },
  { re: /^\/analyses\/(\d+)$/, page: 'analysis', nav: 'rca', params: ['id'] },
  { re: /^\/admin$/, page: 'admin', nav: 'admin', admin: true },
  { re: /^\/security$/, page: 'security', nav: 'admin', admin: true },
  { re: /^\/settings$/, page: 'settings', nav: 'settings' },
  { re: /^\/account$/, page: 'account', nav: 'account' },
];

const NAV = [
  { key: 'datasets', icon: 'database', href: '#/datasets' },
  { key: 'train', icon: 'train', href: '#/train' },
  { key: 'models', icon: 'model', href: '#/models' },
  { key: 'diagnose', icon: 'diagnose', href: '#/diagnose' },
  { key: 'pipelines', icon: 'layers', href: '#/pipelines' },
  { key: 'rca', icon: 'network', href: '#/rca' },
  { key: 'admin', icon: 'admin', href: '#/admin', admin: true },
  { key: 'settings', icon: 'settings', href: '#/settings' },
];

const HOME = '#/datasets';
// The API clients, one per resource, as pages get them (ctx.api).
const API = Object.freeze({ auth, datasets, jobs, models, diagnoses, topologies, analyses, users, notifications, security, algorithms, system });
let setupRequired = false;
let pendingTarget = null;
let current = null; // {route, controller, cleanup, hash}
let headerHost;
let unread = null; // an admin's unread-notifications badge (unread.js)

/* The badge while an administrator is signed in, else none. */
function unreadFor() {
  if (!session.isAdmin()) {
    unread?.stop();
    unread = null;
    return null;
  }
  if (!unread) unread = unreadBadge(() => notifications.unreadCount());
  return unread;
}
let main;

/* ---- routing ------------------------------------------------------------------------ */

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, qs = ''] = raw.split('?');
  return { path, query: Object.fromEntries(new URLSearchParams(qs)) };
}

function match(path) {
  for (const r of ROUTES) {
    const m = r.re.exec(path);
    if (m) return { route: r, params: Object.fromEntries((r.params || []).map((p, i) => [p, Number(m[i + 1])])) };
  }
  return null;
}

const navigate = (hash) => {
  if (location.hash === hash) route();
  else location.hash = hash;
};

/* Where to go after login: where the user was headed, else the datasets. */
function afterLoginTarget() {
  const target = pendingTarget;
  pendingTarget = null;
  return target && !/^#\/(login|setup)/.test(target) ? target : HOME;
}

/* Decides what to show for the current hash, or redirects. */
function resolve() {
  const { path, query } = parseHash();
  const user = session.currentUser();
  const m = match(path);
  if (m?.route.open) return { ...m, query };
  const entry = m?.route.public; // #/login or #/setup
  if (!user) {
    if (!entry) {
      if (path !== '/') pendingTarget = location.hash;
      return { redirect: setupRequired ? '#/setup' : '#/login' };
    }
    if (setupRequired && m.route.page === 'login') return { redirect: '#/setup' };
  } else if (entry || path === '/') {
    return { redirect: path === '/' ? HOME : afterLoginTarget() };
  }
  return m ? { ...m, query } : { notFound: true };
}

function leaveEntry(entry) {
  entry.controller.abort();
  try { entry.cleanup?.(); } catch { /* ignore */ }
  entry.cleanup = null;
}

function leave() {
  if (!current) return;
  leaveEntry(current);
  current = null;
}

/* Form values by test id or name, so that a re-render keeps what was typed. */
function snapshotInputs() {
  const out = new Map();
  for (const el of $$('input, select, textarea', main)) {
    const key = el.dataset.testid || el.name;
    if (!key || el.type === 'file' || el.type === 'password') continue;
    out.set(key, el.type === 'checkbox' ? el.checked : el.value);
  }
  return out;
}

function restoreInputs(saved, root) {
  for (const el of $$('input, select, textarea', root)) {
    const key = el.dataset.testid || el.name;
    if (!saved.has(key)) continue;
    if (el.type === 'checkbox') el.checked = saved.get(key);
    else if (el.tagName !== 'SELECT' || Array.from(el.options).some((o) => o.value === saved.get(key))) el.value = saved.get(key);
  }
}

async function route({ keepInputs = false } = {}) {
  const r = resolve();
  if (r.redirect) {
    if (location.hash !== r.redirect) location.replace(r.redirect);
    return;
  }
  const saved = keepInputs ? snapshotInputs() : null;
  leave();
  renderHeader(r.route);
  const controller = new AbortController();
  const hash = location.hash;
  const mine = { route: r.route, controller, cleanup: null, hash };
  current = mine;
  const view = h('div.page');
  const slow = setTimeout(() => { if (current?.controller === controller) clear(main, spinner()); }, 250);
  try {
    if (r.notFound) renderNotFound(view);
    else if (r.route.admin && !session.isAdmin()) renderForbidden(view);
    else {
      const mod = await loadPage(r.route.page, controller.signal);
      mine.cleanup = await mod.render(view, pageContext(r, mine));
      if (current !== mine) leaveEntry(mine); // left while it rendered
    }
  } catch (e) {
    if (http.isAbort(e) || controller.signal.aborted) return;
    renderFailure(view, e);
  } finally {
    clearTimeout(slow);
  }
  if (current?.controller !== controller) return;
  if (saved) restoreInputs(saved, view);
  clear(main, view);
  disposeDetached();
  if (!keepInputs) {
    window.scrollTo(0, 0);
    view.querySelector('[data-testid="page-title"]')?.focus({ preventScroll: true });
  }
}

/* What a page gets: render(view, ctx). mine is the page's entry in
 * `current` (its route and abort controller). */
function pageContext(r, mine) {
  const { signal } = mine.controller;
  return {
    signal, // fires when the user leaves the page
    params: r.params, // from the route, e.g. {id: 3} for #/datasets/3
    query: r.query, // from the hash, e.g. {dataset: '3'} for #/train?dataset=3
    navigate, // navigate('#/models/2')
    rerender: () => route({ keepInputs: true }),
    // marks another navigation entry as the current one (a job page of a diagnosis)
    setNav: (key) => { if (current === mine) { mine.route = { ...r.route, nav: key }; renderHeader(mine.route); } },
    session: {
      user: session.currentUser(), // {id, username, role} or null
      isAdmin: session.isAdmin(),
      login: session.login, // (username, password, remember)
      setup: session.setup, // (token, username, password)
      loggedIn, // the login or setup page is done: go where the user was headed
      setupAlreadyDone, // the setup page learned that another admin exists
    },
    api: API,
    prefs: { get: prefs.pref, set: prefs.set },
    // reads the job every ~500 ms until it is finished or the page is left
    pollJob: (id, opts = {}) => poll(() => jobs.get(id, { signal, quiet: true }), { signal, ...opts }),
    // follows a job in the background after the page is left; toasts at its end
    watchJob: (job) => watch(job, () => jobs.get(job.id, { quiet: true })),
    // an admin page changed notifications: the header's unread count is read again
    notificationsChanged: () => unread?.refresh(true),
  };
}

/* A page module; when it cannot be fetched (the connection is down), waits
 * for the server and asks again, with a fresh URL since a browser may keep
 * a failed module fetch. */
async function loadPage(name, signal) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await import(`./pages/${name}.js${attempt ? `?retry=${attempt}` : ''}`);
    } catch (e) {
      if (connection.isOnline() && attempt > 0) throw e;
      connection.lost();
      await connection.whenOnline(signal);
    }
  }
}

/* Fetches every page module in the background once the user is in, so that
 * moving around keeps working through a short loss of connection. */
function prefetchPages() {
  for (const page of new Set(ROUTES.filter((r) => !r.public).map((r) => r.page))) import(`./pages/${page}.js`).catch(() => {});
}

/* A whole-page message (not found, forbidden, failed) with the page's h1. */
function renderNotice(view, iconName, title, text, extra) {
  document.title = `${title} · SystemHealer`;
  view.append(h('div.page-notice',
    h('div.empty-icon', icon(iconName)),
    h('h1.page-title.h3', { testid: 'page-title', tabindex: '-1' }, title),
    text && h('p.empty-text', text),
    extra,
    h('div.mt-3', linkButton(t('page.goHome'), HOME, { variant: 'primary' }))));
}

const renderNotFound = (view) => renderNotice(view, 'alert', t('page.notFound'), t('page.notFoundText'));
const renderForbidden = (view) => renderNotice(view, 'admin', t('page.forbidden'), t('page.forbiddenText'));

function renderFailure(view, e) {
  if (e.status === 404) { renderNotFound(view); return; }
  renderNotice(view, 'alert', t('page.failed'), null, h('div.text-start', errorAlert(e, { retry: () => route() })));
}

/* ---- the shell ------------------------------------------------------------------------ */

function langSwitch() {
  const el = select(LANGUAGES.map((l) => ({ value: l.code, label: l.name })), {
    value: language(), testid: 'lang-switch', cls: 'form-select form-select-sm lang-switch', ariaLabel: t('nav.language'),
  });
  el.addEventListener('change', () => prefs.set({ language: el.value }));
  return el;
}

function themeToggle() {
  const dark = document.documentElement.getAttribute('data-bs-theme') === 'dark';
  return h('button.btn.btn-sm.btn-icon.nav-tool', {
    type: 'button',
    'aria-label': dark ? t('nav.toLight') : t('nav.toDark'),
    title: dark ? t('nav.toLight') : t('nav.toDark'),
    on: { click: () => prefs.set({ theme: dark ? 'light' : 'dark' }) },
  }, icon(dark ? 'sun' : 'moon'));
}

function brand(href) {
  return h('a.navbar-brand.d-flex.align-items-center.gap-2', { href },
    h('span.brand-mark', icon('logo')), h('span.brand-name', 'SystemHealer'));
}

function navLinks(active) {
  return h('ul.navbar-nav.me-auto.mb-2.mb-xl-0.gap-xl-1',
    NAV.filter((n) => !n.admin || session.isAdmin()).map((n) => h('li.nav-item',
      h(`a.nav-link.d-flex.align-items-center.gap-2${active === n.key ? '.active' : ''}`, {
        href: n.href, testid: `nav-${n.key}`, 'aria-current': active === n.key ? 'page' : null,
      }, icon(n.icon), h('span', t(`nav.${n.key}`))))));
}

function userTools() {
  const user = session.currentUser();
  return h('div.nav-tools.d-flex.align-items-center.gap-2.flex-wrap',
    langSwitch(),
    themeToggle(),
    h('span.d-inline-flex.align-items-center.gap-2.user-slot',
      h('span.user-avatar', icon('user')),
      h('a.user-menu', {
        href: '#/account', testid: 'user-menu', title: t('nav.account', { name: user.username }),
      }, user.username),
      user.role === 'admin' && h('span.badge.rounded-pill.badge-soft-primary.role-badge', t('role.admin'))),
    h('button.btn.btn-sm.btn-outline-secondary.d-inline-flex.align-items-center.gap-1', {
      type: 'button', testid: 'logout', title: t('nav.logout'), on: { click: doLogout },
    }, icon('logout'), h('span.tool-label', t('nav.logout'))));
}

function renderHeader(routeInfo) {
  if (!headerHost) return;
  const user = session.currentUser();
  if (!user) unreadFor(); // signed out: no badge, no polling
  if (!user || routeInfo?.bare) {
    clear(headerHost, h('div.bare-bar.container-xxl.d-flex.align-items-center.py-3',
      brand('#/login'), h('div.ms-auto.d-flex.gap-2.align-items-center', langSwitch(), themeToggle())));
    return;
  }
  const collapseId = 'nav-collapse';
  // Expanded from 1200 px: below, the eight links and the tools do not fit
  // one row and the menu folds behind the toggler (styles.css, "shell").
  clear(headerHost, h('nav.navbar.navbar-expand-xl.app-navbar', { testid: 'nav', 'aria-label': t('nav.main') },
    h('div.container-xxl',
      brand(HOME),
      // outside the collapsed menu, so that a phone shows it too; last on wide screens
      unreadFor() && h('div.unread-slot.ms-auto.me-2.ms-xl-2.me-xl-0.order-xl-last', unreadFor().el),
      h('button.navbar-toggler', {
        type: 'button', 'data-bs-toggle': 'collapse', 'data-bs-target': `#${collapseId}`,
        'aria-controls': collapseId, 'aria-expanded': 'false', 'aria-label': t('nav.menu'),
      }, h('span.navbar-toggler-icon')),
      h('div.collapse.navbar-collapse', { id: collapseId }, navLinks(routeInfo?.nav), userTools()))));
  unread?.refresh();
}

async function doLogout() {
  await session.logout();
  unreadFor();
  disposeAll();
  toast(t('auth.loggedOut'), { variant: 'info' });
  navigate('#/login');
}

function onUnauthorized() {
  if (!session.currentUser()) return;
  session.ended();
  pendingTarget = location.hash;
  toast(t('auth.sessionEnded'), { variant: 'warning' });
  navigate('#/login');
}

/* The login and setup pages (ctx.session.loggedIn) once the user is in. */
function loggedIn() {
  setupRequired = false;
  navigate(afterLoginTarget());
}

/* The setup page learned that setup was already done elsewhere. */
function setupAlreadyDone() {
  setupRequired = false;
  navigate('#/login');
}

async function boot() {
  prefs.loadLocal();
  const app = document.getElementById('app');
  const bannerHost = h('div.banner-host');
  headerHost = h('header.app-header');
  main = h('main.app-main.container-xxl', { id: 'main', tabindex: '-1' });
  const skip = h('button.skip-link.btn.btn-primary', { type: 'button', on: { click: () => main.focus() } }, t('nav.skip'));
  clear(app, skip, bannerHost, headerHost, main,
    h('footer.app-footer.container-xxl', h('span', 'SystemHealer'), h('span.text-body-secondary', t('footer.tagline'))));
  mountConnectionBanner(bannerHost);
  mountBusyIndicator(document.body);
  http.setUnauthorizedHandler(onUnauthorized);
  connection.setProbe((signal) => system.health({ signal }));

  onLanguageChange(() => {
    skip.textContent = t('nav.skip');
    app.querySelector('.app-footer .text-body-secondary').textContent = t('footer.tagline');
    refreshCharts();
    route({ keepInputs: true });
  });
  // Escape folds the phone menu back (Bootstrap already closes modals).
  document.addEventListener('keydown', (ev) => {
    const open = document.querySelector('.navbar-collapse.show');
    if (ev.key === 'Escape' && open) {
      window.bootstrap.Collapse.getOrCreateInstance(open).hide();
      document.querySelector('.navbar-toggler')?.focus();
    }
  });
  session.onChange((user) => { renderHeader(current?.route); if (user) prefetchPages(); });
  document.addEventListener('healer:look', () => renderHeader(current?.route));

  clear(main, spinner());
  const [setup] = await Promise.all([
    auth.setupStatus().catch(() => ({ setup_required: false })),
    session.restore().catch(() => null),
  ]);
  setupRequired = !!setup.setup_required;
  if (session.currentUser()) prefetchPages();
  window.addEventListener('hashchange', () => route());
  route();
}

boot();
