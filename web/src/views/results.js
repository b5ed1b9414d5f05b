// views/results.js - the table of diagnosis results: predicted class, confidence,
// label and class probabilities, sortable by any column and paginated.
// Pages come from the server (the diagnoses client's page()). Sorting needs
// every row: up to FULL_SORT_MAX rows they are fetched once (allRows) and the
// table then sorts and pages locally; above that, a sort orders the page
// shown, and the table says so. Each row opens its sample (the sample
// page): the row number is a link (keyboard: Tab, Enter) and a click
// anywhere on the row follows it. With filters (views/results-filters.js)
// the server pages, sorts from and counts the rows that pass them only; a
// diagnosis explained per row shows each row's top KPIs and abnormal ones.

import { h, clear } from '../dom.js';
import { icon } from '../icons.js';
import { t } from '../i18n.js';
import { fmtInt, fmtPct, fmtFixed, fmtSigned, fmtNum } from '../format.js';
import { select, errorAlert, sortHeader } from '../ui.js';
import { paletteColors } from '../charts.js';
import { className } from '../classnames.js';

export const FULL_SORT_MAX = 50000;
const PAGE_SIZES = [25, 50, 100, 250];
const PROB_COLUMNS_MAX = 6;

export const classColor = (classes, name) => {
  const colors = paletteColors();
  const i = classes.indexOf(name);
  return colors[(i < 0 ? 0 : i) % colors.length];
};

const EXPLAIN_SHOWN = 2;

/* Up to EXPLAIN_SHOWN entries of LIST as small chips, and how many more. */
function chips(list, text) {
  if (!list?.length) return h('td.text-body-tertiary', '—');
  const more = list.length - EXPLAIN_SHOWN;
  return h('td.small', list.slice(0, EXPLAIN_SHOWN).map((x) => h('span.me-2.text-nowrap', text(x))),
    more > 0 && h('span.text-body-secondary', t('results.more', { count: more })));
}

/* A cost in milliseconds as the note shows it: whole above 10, else two
 * significant digits. */
const fmtMs = (ms) => (ms >= 10 ? fmtInt(ms) : fmtNum(ms, 2));

/* Why some rows of DIAG carry no top KPIs, from the server's reason and
 * counts (explain_skipped), in the reader's language; null when every row
 * does. */
export function explainNoteText(diag) {
  const skip = diag.explain_skipped;
  if (diag.explained !== false || !skip) return null;
  const n = skip.rows_explained ?? 0;
  const total = diag.rows ?? n + (skip.rows_skipped ?? 0);
  let why;
  if (skip.reason === 'too_costly' && n > 0 && skip.budget_ms !== undefined) {
    why = t('results.explain.partial', { count: n, n: fmtInt(n), total: fmtInt(total), ms: fmtMs(skip.row_cost_ms), budget: fmtInt(skip.budget_ms) });
  } else if (skip.reason === 'too_costly') {
    why = skip.budget_ms !== undefined
      ? t('results.explain.none', { ms: fmtMs(skip.row_cost_ms), budget: fmtInt(skip.budget_ms) })
      : t('results.explain.costly');
  } else if (skip.reason === 'cannot_explain') {
    why = t('results.explain.cannot');
  } else if (skip.reason === 'not_stored') {
    why = t('results.explain.notStored');
  } else {
    why = t('results.explain.some', { n: fmtInt(n), total: fmtInt(total) });
  }
  return diag.abnormal_checked ? `${why} ${t('results.explain.abnormalAll')}` : why;
}

/* A row left out of the diagnosis's explanations because they were past
 * its budget (an MLP's rows, or a diagnosis stored without explanations,
 * have none for another reason, which the note above the table gives). */
const unexplained = (diag, r) => diag.explained === false && diag.explain_skipped?.reason === 'too_costly'
  && (r.top?.length ?? 0) === 0 && typeof diag.explained_rows === 'number' && r.row > diag.explained_rows;

function columnsFor(diag, hasLabels, explained) {
  const cols = [
    { key: 'row', label: t('results.col.row'), num: true, get: (r) => r.row },
    { key: 'sample_id', label: t('results.col.sample'), get: (r) => r.sample_id ?? '' },
    { key: 'predicted', label: t('results.col.predicted'), get: (r) => r.predicted },
    { key: 'confidence', label: t('results.col.confidence'), num: true, get: (r) => r.confidence },
  ];
  if (hasLabels) cols.push({ key: 'label', label: t('results.col.label'), get: (r) => r.label ?? '' });
  if (explained) {
    cols.push({ key: 'drivers', label: t('results.col.drivers'), sortable: false });
    cols.push({ key: 'abnormal', label: t('results.col.abnormal'), sortable: false });
  }
  if (diag.classes.length <= PROB_COLUMNS_MAX) {
    for (const c of diag.classes) cols.push({ key: `p:${c}`, label: t('results.col.prob', { name: className(diag, c) }), num: true, prob: c, get: (r) => r.probabilities?.[c] ?? 0 });
  } else {
    cols.push({ key: 'top', label: t('results.col.top'), sortable: false });
  }
  return cols;
}

function compare(col, dir) {
  return (a, b) => {
    const x = col.get(a);
    const y = col.get(b);
    const r = col.num ? x - y : String(x).localeCompare(String(y), undefined, { numeric: true });
    return (r || a.row - b.row) * dir;
  };
}

function cell(col, r, classes, diag, rowHref) {
  switch (col.key) {
    case 'row': return rowHref
      ? h('td.num', h('a.row-link', { href: rowHref(r.row), testid: 'result-open', 'aria-label': t('results.openRow', { name: r.sample_id ?? r.row, row: r.row }) }, String(r.row)))
      : h('td.num.text-body-secondary', String(r.row));
    case 'sample_id': return h('td.text-break', r.sample_id ?? h('span.text-body-tertiary', '—'));
    case 'predicted': return h('td', h('span.class-pill', { style: { '--pill': classColor(classes, r.predicted) }, dataset: { label: r.predicted } }, className(diag, r.predicted)));
    case 'confidence': return h('td.num', h('div.conf-cell', h('span.conf-bar', h('span', { style: { width: `${Math.round(r.confidence * 100)}%` } })), h('span', fmtPct(r.confidence))));
    case 'label': {
      if (r.label === null || r.label === undefined) return h('td.text-body-tertiary', '—');
      const ok = r.label === r.predicted;
      return h(`td${ok ? '' : '.text-danger'}`, { dataset: { label: r.label } }, className(diag, r.label), !ok && h('span.visually-hidden', ` (${t('results.mismatch')})`));
    }
    case 'drivers': return unexplained(diag, r)
      ? h('td.text-body-tertiary', { title: t('results.rowNotExplained'), testid: 'result-not-explained' }, '—', h('span.visually-hidden', ` ${t('results.rowNotExplained')}`))
      : chips(r.top, (x) => `${x.kpi} ${fmtSigned(x.contribution, 2)}`);
    case 'abnormal': return chips(r.abnormal, (x) => `${x.kpi} ${x.z >= 0 ? '↑' : '↓'}${fmtNum(Math.abs(x.z), 2)}`);
    case 'top': {
      const top = Object.entries(r.probabilities || {}).sort((a, b) => b[1] - a[1]).slice(0, 3);
      return h('td.small', top.map(([c, p]) => h('span.me-2.text-nowrap', `${className(diag, c)} ${fmtPct(p)}`)));
    }
    default: return h('td.num', fmtFixed(col.get(r), 3));
  }
}

const pageInfo = (offset, limit, total) => t('results.pageInfo', {
  from: fmtInt(total ? offset + 1 : 0), to: fmtInt(Math.min(total, offset + limit)), total: fmtInt(total),
});

/* The table with its pager. Rows come from the current server page, or from
 * `all` (every row, once a sort needed them). */
class ResultsTable {
  constructor(host, diag, { signal, diagnoses, rowHref, openRow, filters, onLoaded }) {
    const first = diag.results;
    this.host = host;
    this.diag = diag;
    this.signal = signal;
    this.diagnoses = diagnoses;
    this.rowHref = rowHref;
    this.openRow = openRow;
    this.filters = filters || {};
    this.onLoaded = onLoaded;
    const filtered = Object.values(this.filters).some((v) => v !== undefined);
    this.total = first.total;
    this.cols = columnsFor(diag, !!diag.metrics || first.items.some((r) => r.label !== null && r.label !== undefined),
      diag.explained === true || first.items.some((r) => Array.isArray(r.top)));
    this.offset = first.offset;
    this.limit = PAGE_SIZES.includes(first.limit) ? first.limit : 50;
    this.items = first.items;
    this.sort = null;
    this.dir = 1;
    this.all = !filtered && first.items.length >= this.total ? first.items : null;
    this.loading = false;
    this.build();
    if (filtered || this.limit !== first.limit || first.offset !== 0) this.fetchPage();
    else { this.draw(); onLoaded?.(diag); }
  }

  build() {
    this.tbody = h('tbody');
    this.headRow = h('tr');
    this.info = h('span.small.text-body-secondary', { testid: 'results-page-info', 'aria-live': 'polite' });
    this.note = h('div.small.text-body-secondary.mb-2', { hidden: true }, t('results.sortPageOnly', { max: fmtInt(FULL_SORT_MAX) }));
    this.errorHost = h('div');
    this.prev = h('button.btn.btn-sm.btn-outline-secondary', { type: 'button', testid: 'results-page-prev', 'aria-label': t('results.prev'), on: { click: () => this.go(this.offset - this.limit) } },
      icon('left'), h('span.d-none.d-sm-inline', t('results.prev')));
    this.next = h('button.btn.btn-sm.btn-outline-secondary', { type: 'button', testid: 'results-page-next', 'aria-label': t('results.next'), on: { click: () => this.go(this.offset + this.limit) } },
      h('span.d-none.d-sm-inline', t('results.next')), icon('right'));
    const size = select(PAGE_SIZES.map((n) => ({ value: n, label: String(n) })), { value: this.limit, id: 'results-size', cls: 'form-select form-select-sm w-auto', ariaLabel: t('results.pageSize'), testid: 'results-page-size' });
    size.addEventListener('change', () => { this.limit = Number(size.value); this.go(0); });
    clear(this.host, this.note, this.errorHost,
      h('div.table-responsive.results-scroll', { tabindex: '0', role: 'region', 'aria-label': t('results.title') }, h('table.table.table-sm.table-hover.align-middle.mb-0.results-table', { testid: 'results-table' },
        h('caption.visually-hidden', t('results.title')), h('thead', this.headRow), this.tbody)),
      h('div.results-pager.d-flex.flex-wrap.align-items-center.gap-2.mt-3',
        this.info, h('span.ms-auto'), h('label.small.text-body-secondary', { for: 'results-size' }, t('results.perPage')), size, this.prev, this.next));
  }

  sorted(rows) {
    const col = this.cols.find((c) => c.key === this.sort);
    return col ? [...rows].sort(compare(col, this.dir)) : rows;
  }

  visibleRows() {
    return this.all ? this.sorted(this.all).slice(this.offset, this.offset + this.limit) : this.sorted(this.items);
  }

  draw() {
    clear(this.headRow, this.cols.map((c) => sortHeader(c, this.sort, this.dir, (key) => this.sortBy(key))));
    clear(this.tbody, this.visibleRows().map((r) => h(`tr${this.openRow ? '.row-opens' : ''}`, {
      testid: 'result-row', dataset: { row: r.row },
      on: this.openRow ? { click: (e) => { if (!e.target.closest('a, button, input, select') && !getSelection()?.toString()) this.openRow(r.row); } } : undefined,
    }, this.cols.map((c) => cell(c, r, this.diag.classes, this.diag, this.rowHref && ((row) => this.rowHref(row, this.filters)))))));
    this.info.textContent = pageInfo(this.offset, this.limit, this.total);
    this.prev.disabled = this.loading || this.offset <= 0;
    this.next.disabled = this.loading || this.offset + this.limit >= this.total;
    this.note.hidden = !(this.sort && !this.all);
    this.host.classList.toggle('is-loading', this.loading);
  }

  /* Runs a load with the loading state shown and errors put inline. */
  async load(fn, retry) {
    this.loading = true;
    this.draw();
    try {
      await fn();
      clear(this.errorHost);
    } catch (e) {
      if (!this.signal?.aborted) clear(this.errorHost, errorAlert(e, { retry }));
    } finally {
      this.loading = false;
      this.draw();
    }
  }

  fetchPage() {
    if (this.all) { this.draw(); return Promise.resolve(); }
    return this.load(async () => {
      this.took(await this.diagnoses.page(this.diag.id, { signal: this.signal, offset: this.offset, limit: this.limit, filters: this.filters, label: t('results.loading') }));
    }, () => this.fetchPage());
  }

  /* Keeps a page the server answered (a DIAGNOSIS with its results). */
  took(d) {
    this.items = d.results.items;
    this.total = d.results.total;
    this.onLoaded?.(d);
  }

  loadAll() {
    if (this.all || this.total > FULL_SORT_MAX) return Promise.resolve();
    return this.load(async () => {
      const d = await this.diagnoses.allRows(this.diag.id, { signal: this.signal, filters: this.filters, label: t('results.loadingAll') });
      this.all = d.rows;
      this.offset = 0;
    });
  }

  async sortBy(key) {
    if (this.sort === key) this.dir = -this.dir;
    else {
      this.sort = key;
      this.dir = this.cols.find((c) => c.key === key)?.num && key !== 'row' ? -1 : 1; // numbers: highest first
    }
    await this.loadAll();
    if (this.all) this.offset = 0;
    this.draw();
  }

  /* Shows the rows that pass FILTERS from the first; rejects with the
   * server's error (a refused filter) and then keeps the rows shown. */
  async setFilters(filters) {
    const d = await this.diagnoses.page(this.diag.id, { signal: this.signal, offset: 0, limit: this.limit, filters, label: t('results.loading') });
    this.filters = filters;
    this.all = null;
    this.offset = 0;
    this.took(d);
    clear(this.errorHost);
    if (this.sort) await this.loadAll();
    this.draw();
    return d;
  }

  go(offset) {
    this.offset = Math.max(0, Math.min(offset, Math.max(0, this.total - 1)));
    this.fetchPage();
  }
}

/* resultsTable(host, diag, {signal, diagnoses, rowHref, openRow, filters,
 * onLoaded}): renders and manages the table of diag (a DIAGNOSIS with its
 * first page in diag.results), reading further pages with the diagnoses
 * client (ctx.api.diagnoses); rowHref(row, filters) is the link of a row's
 * sample and openRow(row) opens it (both optional); filters are the
 * results filters to start with, onLoaded(page) is told of every page
 * read (its results.total counts the rows that pass the filters). Returns
 * the table: setFilters(filters) filters it. */
export function resultsTable(host, diag, opts) {
  return new ResultsTable(host, diag, opts);
}
