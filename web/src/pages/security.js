// pages/security.js - #/security (admins only): the security report and the
// audit log. The report shows, over a chosen range, the failed logins and
// account locks and the requests the server refused (401, 403, a bad CSRF
// token, 429): totals, a time series, the routes and the source addresses
// with the most refusals, and CSV / JSON downloads of the same. The audit
// log lists the administrative actions (users created, disabled, unlocked,
// passwords reset, data deleted and restored) newest first, filtered by
// action, actor and dates, a page at a time, with a CSV download of the
// selection. Everything comes from ctx.api.security; nothing here edits.

import { h, clear } from '../dom.js';
import { t } from '../i18n.js';
import { fmtDate, fmtInt } from '../format.js';
import { chart, toolbox, axisStyle, emptyOption } from '../charts.js';
import { pageHeader, card, statGrid, statTile, select, linkButton, button, emptyState, errorAlert, field, scrollRegion } from '../ui.js';

const RANGES = [
  { key: '1h', seconds: 3600 },
  { key: '24h', seconds: 86400 },
  { key: '7d', seconds: 7 * 86400 },
  { key: '30d', seconds: 30 * 86400 },
  { key: '90d', seconds: 90 * 86400 },
];
const REFUSALS = ['unauthorized', 'forbidden', 'csrf_failed', 'rate_limited'];
const PAGE = 50;

const now = () => Math.floor(Date.now() / 1000);

/* ---- the report ------------------------------------------------------------ */

function seriesOption(c, report) {
  const points = report.series || [];
  if (!points.some((p) => report.kinds.some((k) => p[k] > 0))) return emptyOption(c, t('security.noEvents'));
  const fmt = new Intl.DateTimeFormat(undefined, report.bucket >= 86400 ? { dateStyle: 'short' } : { dateStyle: 'short', timeStyle: 'short' });
  return {
    toolbox: toolbox('security-report', { zoom: true }),
    tooltip: { trigger: 'axis' },
    legend: { bottom: 0, left: 'center', textStyle: { color: c.text }, type: 'scroll' },
    grid: { left: 8, right: 16, top: 40, bottom: 64, containLabel: true },
    xAxis: { type: 'category', data: points.map((p) => fmt.format(new Date(p.t * 1000))), ...axisStyle(c), splitLine: { show: false } },
    yAxis: { type: 'value', minInterval: 1, name: t('security.countAxis'), ...axisStyle(c) },
    dataZoom: [{ type: 'inside' }],
    series: report.kinds.map((k) => ({
      name: t(`security.kind.${k}`), type: 'bar', stack: 'all', data: points.map((p) => p[k]), barMaxWidth: 18, emphasis: { focus: 'series' },
    })),
  };
}

function totals(report) {
  return statGrid(...report.kinds.map((k) => statTile(t(`security.kind.${k}`), fmtInt(report.totals[k]),
    { testid: `security-total-${k}`, tone: report.totals[k] > 0 && (k === 'locked' || k === 'csrf_failed') ? 'warning' : '' })));
}

function topTable(rows, keyName, caption, testid) {
  if (!rows.length) return h('div.p-4', emptyState('check', t('security.noRefusals'), null));
  const head = h('thead', h('tr', h('th', { scope: 'col' }, t(`security.col.${keyName}`)),
    REFUSALS.map((k) => h('th.text-end.d-none.d-md-table-cell', { scope: 'col' }, t(`security.kind.${k}`))),
    h('th.text-end', { scope: 'col' }, t('security.col.total'))));
  const body = h('tbody', rows.map((r) => h('tr', { testid: `${testid}-row`, dataset: { key: r[keyName] } },
    h('td.security-key', h('code', r[keyName])),
    REFUSALS.map((k) => h('td.text-end.d-none.d-md-table-cell', fmtInt(r[k]))),
    h('td.text-end.fw-semibold', fmtInt(r.total)))));
  return scrollRegion(caption, h('table.table.table-sm.align-middle.mb-0', { testid },
    h('caption.visually-hidden', caption), head, body), { cls: 'table-responsive' });
}

async function loadReport(host, ctx, range) {
  const query = { since: now() - range.seconds };
  const report = await ctx.api.security.report(query, { signal: ctx.signal });
  const chartEl = h('div.chart', { testid: 'security-chart-canvas', role: 'img', 'aria-label': t('security.chartLabel') });
  clear(host,
    h('div.d-flex.flex-wrap.gap-2.justify-content-end.mb-3',
      linkButton(t('security.downloadCsv'), ctx.api.security.reportUrl(query, 'csv'), { iconName: 'download', size: 'sm', testid: 'security-download-csv', download: 'security-report.csv' }),
      linkButton(t('security.downloadJson'), ctx.api.security.reportUrl(query, 'json'), { iconName: 'download', size: 'sm', testid: 'security-download-json', download: 'security-report.json' })),
    h('div.mb-4', { testid: 'security-totals' }, totals(report)),
    h('div.mb-4', card(t('security.overTime'), chartEl, { testid: 'security-chart' })),
    h('div.row.g-4.mb-4',
      h('div.col-12', card(t('security.topRoutes'), topTable(report.top_routes, 'route', t('security.topRoutes'), 'security-routes'), { bodyCls: 'p-0' })),
      h('div.col-12', card(t('security.topSources'), topTable(report.top_sources, 'source', t('security.topSources'), 'security-sources'), { bodyCls: 'p-0' }))));
  chart(chartEl, (c) => seriesOption(c, report));
}

/* ---- the audit log ------------------------------------------------------------ */

/* 'YYYY-MM-DD' (a date input) -> unix seconds at its start, plus `days`. */
const dayStart = (value, days = 0) => (value ? Math.floor(Date.parse(`${value}T00:00:00Z`) / 1000) + days * 86400 : undefined);

function auditTable(items) {
  if (!items.length) return h('div.p-4', emptyState('file', t('security.auditEmpty'), null));
  const caption = t('security.audit');
  return scrollRegion(caption, h('table.table.table-sm.align-middle.mb-0', { testid: 'audit-table' },
    h('caption.visually-hidden', caption),
    h('thead', h('tr', ['time', 'actor', 'action', 'target', 'address', 'detail'].map((c) =>
      h(`th${c === 'address' || c === 'detail' ? '.d-none.d-lg-table-cell' : ''}`, { scope: 'col' }, t(`security.col.${c}`))))),
    h('tbody', items.map((a) => h('tr', { testid: 'audit-row', dataset: { action: a.action, target: a.target_name, actor: a.actor_name } },
      h('td.text-nowrap', fmtDate(a.at)),
      h('td.text-break', a.actor_name),
      h('td', t(`security.action.${a.action}`)),
      h('td.text-break', h('span.text-body-secondary', t(`security.target.${a.target_kind}`)), ' ', a.target_name || (a.target_id ? `#${a.target_id}` : '')),
      h('td.d-none.d-lg-table-cell.text-break', a.address),
      h('td.d-none.d-lg-table-cell.text-break', a.detail))))), { cls: 'table-responsive' });
}

function auditCard(ctx) {
  const host = h('div');
  const pager = h('div.d-flex.gap-2.justify-content-end.p-2');
  const errorBox = h('div');
  const action = select([{ value: '', label: t('security.anyAction') }], { testid: 'audit-action', id: 'audit-action' });
  const actor = h('input.form-control', { type: 'text', id: 'audit-actor', testid: 'audit-actor', maxlength: '63', autocomplete: 'off', spellcheck: 'false' });
  const since = h('input.form-control', { type: 'date', id: 'audit-since', testid: 'audit-since' });
  const until = h('input.form-control', { type: 'date', id: 'audit-until', testid: 'audit-until' });
  const download = linkButton(t('security.downloadCsv'), '#', { iconName: 'download', size: 'sm', testid: 'audit-download', download: 'audit-log.csv' });
  const downloadJson = linkButton(t('security.downloadJson'), '#', { iconName: 'download', size: 'sm', testid: 'audit-download-json', download: 'audit-log.json' });
  const pages = []; // the `before` of each page shown so far (0 = the newest)
  const filter = () => ({ action: action.value, actor: actor.value.trim(), since: dayStart(since.value), until: dayStart(until.value, 1) });

  const load = async (before) => {
    clear(errorBox);
    try {
      const q = { ...filter(), limit: PAGE, before: before || undefined };
      const res = await ctx.api.security.audit(q, { signal: ctx.signal });
      if (action.options.length === 1) {
        for (const a of res.actions) action.append(h('option', { value: a }, t(`security.action.${a}`)));
      }
      download.href = ctx.api.security.auditUrl(filter(), 'csv');
      downloadJson.href = ctx.api.security.auditUrl(filter(), 'json');
      clear(host, auditTable(res.items));
      clear(pager,
        pages.length > 1 && button(t('security.newer'), { iconName: 'left', variant: 'outline-secondary', size: 'sm', testid: 'audit-newer', onClick: () => { pages.pop(); load(pages.at(-1)); } }),
        res.next_before && button(t('security.older'), { iconName: 'right', variant: 'outline-secondary', size: 'sm', testid: 'audit-older', onClick: () => { pages.push(res.next_before); load(res.next_before); } }));
    } catch (e) {
      clear(errorBox, errorAlert(e, { testid: 'audit-error' }));
    }
  };
  const form = h('form.row.g-2.align-items-end.p-3', { novalidate: true, testid: 'audit-filters' },
    h('div.col-12.col-md-3', field(t('security.filterAction'), action, { cls: 'mb-0' })),
    h('div.col-12.col-md-3', field(t('security.filterActor'), actor, { cls: 'mb-0' })),
    h('div.col-6.col-md-2', field(t('security.filterSince'), since, { cls: 'mb-0' })),
    h('div.col-6.col-md-2', field(t('security.filterUntil'), until, { cls: 'mb-0' })),
    h('div.col-12.col-md-2', h('button.btn.btn-primary.w-100', { type: 'submit', testid: 'audit-apply' }, t('security.apply'))));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); pages.length = 0; pages.push(0); load(0); });
  pages.push(0);
  load(0);
  return card(t('security.audit'), [form, errorBox, host, pager], {
    bodyCls: 'p-0', testid: 'audit-card', actions: h('div.d-flex.gap-2', download, downloadJson),
  });
}

export async function render(view, ctx) {
  const reportHost = h('div', { testid: 'security-report' });
  const range = select(RANGES.map((r) => ({ value: r.key, label: t(`security.range.${r.key}`) })),
    { value: '24h', testid: 'security-range', ariaLabel: t('security.range') });
  const show = async () => {
    try {
      await loadReport(reportHost, ctx, RANGES.find((r) => r.key === range.value));
    } catch (e) {
      clear(reportHost, errorAlert(e, { retry: show }));
    }
  };
  range.addEventListener('change', show);
  await show();
  view.append(pageHeader(t('security.title'), {
    subtitle: t('security.subtitle'),
    actions: [range, linkButton(t('security.toAdmin'), '#/admin', { iconName: 'user', testid: 'security-to-admin' })],
  }), reportHost, auditCard(ctx));
}
