// views/results-filters.js - the filters above a diagnosis's results: by
// predicted class, by confidence below a threshold, by abnormal KPI (the
// server filters: GET /api/v1/diagnoses/{id}?predicted&max_confidence&
// abnormal, docs/api.md), with how many rows pass and the export of just
// those rows. The filters live in the page's hash query (?predicted=...)
// so that a sample opened from the filtered table comes back to it. A
// value the server refuses is marked on its input with the server's
// reason (its details.field names the query field).

import { h, clear, uid } from '../dom.js';
import { t } from '../i18n.js';
import { fmtInt, fmtPct } from '../format.js';
import { setInvalid, button } from '../ui.js';
import { className } from '../classnames.js';

/* The filters of a hash query ({predicted, max_confidence, abnormal}
 * strings): {predicted, maxConfidence, abnormal}, unset ones undefined.
 * A max_confidence that is not a number is kept as typed, for the server
 * to refuse with its reason. */
export function filtersFromQuery(query = {}) {
  const mc = query.max_confidence;
  return {
    predicted: query.predicted || undefined,
    maxConfidence: mc === undefined || mc === '' ? undefined : (Number.isFinite(Number(mc)) ? Number(mc) : mc),
    abnormal: query.abnormal || undefined,
  };
}

/* The hash query of FILTERS (only the set ones). */
export function filtersToQuery(f = {}) {
  const q = {};
  if (f.predicted) q.predicted = f.predicted;
  if (f.maxConfidence !== undefined) q.max_confidence = String(f.maxConfidence);
  if (f.abnormal) q.abnormal = f.abnormal;
  return q;
}

export const filtersActive = (f = {}) => Object.keys(filtersToQuery(f)).length > 0;

/* '?predicted=...' for a hash (a results page, a sample page), or ''. */
export function filtersHash(f) {
  const qs = new URLSearchParams(filtersToQuery(f)).toString();
  return qs ? `?${qs}` : '';
}

/* KPIs per row in the export "with KPIs" (the CSV's explain=N). */
const EXPORT_KPIS = 5;

const FIELD = { predicted: 'predicted', max_confidence: 'confidence', abnormal: 'abnormal' };

/* The filter bar. onApply(filters) loads the filtered rows and resolves
 * with {total, rows} or rejects with the server's error; exportUrl(format,
 * filters, explain) is the download link of the filtered rows (explain:
 * that many top KPIs per row, CSV only); kpis is a promise of
 * the KPI names to suggest. Returns {el, setCount(total, rows, filtered)}. */
export function filterBar(diag, { filters, kpis, onApply, exportUrl }) {
  let current = { ...filters };
  const id = uid('rf');
  const predicted = h('select.form-select.form-select-sm', { id: `${id}-p`, testid: 'results-filter-predicted' },
    h('option', { value: '' }, t('filters.anyClass')),
    diag.classes.map((c) => h('option', { value: c }, className(diag, c))));
  predicted.value = current.predicted || '';
  const pct = typeof current.maxConfidence === 'number' ? String(Math.round(current.maxConfidence * 1000) / 10) : (current.maxConfidence ?? '');
  const confidence = h('input.form-control.form-control-sm', {
    id: `${id}-c`, type: 'number', min: '0', max: '100', step: 'any', inputmode: 'decimal', value: pct,
    testid: 'results-filter-confidence', placeholder: t('filters.confidencePlaceholder'),
  });
  const listId = `${id}-kpis`;
  const datalist = h('datalist', { id: listId });
  // Without normal ranges (abnormal_checked false) the server has nothing
  // to filter on: the field says so instead of failing.
  const canAbnormal = diag.abnormal_checked !== false;
  const abnormal = h('input.form-control.form-control-sm', {
    id: `${id}-a`, type: 'text', list: listId, value: current.abnormal || '', autocomplete: 'off', spellcheck: 'false',
    testid: 'results-filter-abnormal', placeholder: t(canAbnormal ? 'filters.abnormalPlaceholder' : 'filters.noRanges'), disabled: !canAbnormal,
  });
  kpis?.then((names) => clear(datalist, (names || []).map((n) => h('option', { value: n })))).catch(() => {});
  const inputs = { predicted, confidence, abnormal };
  const count = h('span.small', { testid: 'results-filter-count', 'aria-live': 'polite' });
  const exports = h('span.small.d-inline-flex.flex-wrap.align-items-center.gap-2', { testid: 'results-filter-export' });
  const clearBtn = button(t('filters.clear'), { variant: 'outline-secondary', size: 'sm', iconName: 'x', testid: 'results-filter-clear' });

  const fieldBox = (label, control, cls, after) => h(`div.${cls}`,
    h('label.form-label.small.mb-1', { for: control.id }, label), control, after, h('div.invalid-feedback'));

  const read = () => {
    const raw = confidence.value.trim();
    let mc;
    if (raw !== '') {
      const v = Number(raw);
      if (!Number.isFinite(v) || v < 0 || v > 100) {
        setInvalid(confidence, t('filters.badConfidence'));
        return null;
      }
      mc = v / 100;
    }
    return { predicted: predicted.value || undefined, maxConfidence: mc, abnormal: abnormal.value.trim() || undefined };
  };

  const drawExports = () => {
    const on = filtersActive(current);
    clearBtn.hidden = !on;
    clear(exports, on && [
      h('span.text-body-secondary', t('filters.export')),
      h('a', { href: exportUrl('csv', current), download: `diagnosis-${diag.id}-filtered.csv`, testid: 'results-filter-csv' }, 'CSV'),
      h('a', { href: exportUrl('json', current), download: `diagnosis-${diag.id}-filtered.json`, testid: 'results-filter-json' }, 'JSON'),
      diag.explained && h('a', { href: exportUrl('csv', current, EXPORT_KPIS), download: `diagnosis-${diag.id}-filtered-kpis.csv`, testid: 'results-filter-csv-kpis' },
        t('filters.csvKpis', { n: EXPORT_KPIS })),
      h('span.text-body-secondary', t('filters.labelIsPrediction')),
    ]);
  };

  const apply = async () => {
    for (const c of Object.values(inputs)) setInvalid(c, null);
    const next = read();
    if (!next) return;
    try {
      await onApply(next);
      current = next;
      drawExports();
    } catch (e) {
      const field = FIELD[e?.details?.field];
      if (field) setInvalid(inputs[field], e.message);
      else throw e;
    }
  };
  predicted.addEventListener('change', apply);
  confidence.addEventListener('change', apply);
  abnormal.addEventListener('change', apply);
  clearBtn.addEventListener('click', () => { predicted.value = ''; confidence.value = ''; abnormal.value = ''; apply(); });

  const el = h('div.results-filters.mb-3', { role: 'search', 'aria-label': t('filters.title'), testid: 'results-filters' },
    h('div.row.g-2.align-items-end',
      fieldBox(t('filters.predicted'), predicted, 'col-sm-4'),
      fieldBox(t('filters.confidence'), confidence, 'col-6.col-sm-3'),
      fieldBox(t('filters.abnormal'), abnormal, 'col-6.col-sm-3', datalist),
      h('div.col-sm-2', clearBtn)),
    h('div.d-flex.flex-wrap.align-items-center.gap-3.mt-2', count, exports));
  drawExports();
  return {
    el,
    /* After each load: TOTAL rows pass of ROWS; FILTERED as the server says. */
    setCount(total, rows, filtered) {
      count.textContent = filtered
        ? t('filters.count', { shown: fmtInt(total), total: fmtInt(rows), pct: fmtPct(rows ? total / rows : 0) })
        : t('filters.none', { total: fmtInt(rows) });
      count.dataset.total = String(total);
    },
  };
}
