// views/param-fields.js - the inputs of a learner's parameters, built from
// what the server says about them (the algorithms client: GET
// /api/v1/algorithms), so that the form, its checks and the request cannot
// disagree with the server. A parameter is {name, type: 'int'|'float'|
// 'bool'|'choice', default, min, max (null where none), help, choices?}.
// Labels and help come from the catalogue (param.NAME.label / .help) when it
// has them, else from the server's name and English help; the range and
// the default are always the server's. The client checks type, range and
// choices; finer rules (cv_folds 1, max_leaves 1) are the server's, whose
// 422 names the field (the train page puts it on the input). paramCards
// lays a learner's parameters out (main ones, then "Advanced") for the
// train and pipeline pages, and collectParams reads them back.

import { h } from '../dom.js';
import { t, has } from '../i18n.js';
import { field, select, card, button, setInvalid } from '../ui.js';

/* The largest whole number a JS number holds exactly: an int parameter's
 * input stops there (seed goes up to 2^63 - 1 on the server). */
export const INT_LIMIT = Number.MAX_SAFE_INTEGER;

const isNumber = (x) => typeof x === 'number' && Number.isFinite(x);
const isNumeric = (p) => p.type === 'int' || p.type === 'float';

/* The bounds the UI checks: the server's, ints capped to INT_LIMIT. */
export function bounds(p) {
  let min = isNumber(p.min) ? p.min : null;
  let max = isNumber(p.max) ? p.max : null;
  if (p.type === 'int') {
    if (max !== null && max > INT_LIMIT) max = INT_LIMIT;
    if (min !== null && min < -INT_LIMIT) min = -INT_LIMIT;
  }
  return { min, max };
}

export const paramLabel = (p) => (has(`param.${p.name}.label`) ? t(`param.${p.name}.label`) : p.name);

const choiceLabel = (p, c) => (has(`param.${p.name}.${c}`) ? t(`param.${p.name}.${c}`) : String(c));

function valueText(p, v) {
  if (p.type === 'bool') return t(v ? 'common.yes' : 'common.no');
  if (p.type === 'choice') return choiceLabel(p, v);
  return String(v);
}

/* What the parameter does (catalogue, else the server's words), then its
 * range and default as the server gives them. */
export function paramHelp(p) {
  const what = has(`param.${p.name}.help`) ? t(`param.${p.name}.help`) : (p.help || '');
  const { min, max } = bounds(p);
  let range = '';
  if (isNumeric(p)) {
    if (min !== null && max !== null) range = t('train.paramRange', { min, max });
    else if (min !== null) range = t('train.paramMin', { min });
    else if (max !== null) range = t('train.paramMax', { max });
  }
  const def = p.default === undefined || p.default === null ? '' : t('train.paramDefault', { def: valueText(p, p.default) });
  return [what, range, def].filter(Boolean).join(t('train.paramHelpGap'));
}

/* The control for p (data-testid param-NAME) holding value. */
export function paramControl(p, value = p.default) {
  const testid = `param-${p.name}`;
  if (p.type === 'bool') return h('input.form-check-input', { type: 'checkbox', checked: !!value, testid, name: testid });
  if (p.type === 'choice') {
    return select((p.choices || []).map((c) => ({ value: c, label: choiceLabel(p, c) })), { value, testid });
  }
  if (!isNumeric(p)) return h('input.form-control', { type: 'text', testid, name: testid, value: value ?? '' });
  const { min, max } = bounds(p);
  return h('input.form-control', {
    type: 'number', testid, name: testid, value: value === null || value === undefined ? '' : String(value),
    inputmode: p.type === 'int' ? 'numeric' : 'decimal', step: p.type === 'int' ? '1' : 'any',
    min: min === null ? null : String(min), max: max === null ? null : String(max),
  });
}

/* The labelled field around a control made by paramControl. */
export function paramField(p, control, { cls = 'mb-0' } = {}) {
  return field(paramLabel(p), control, { help: paramHelp(p), cls });
}

/* Puts value into a control made by paramControl. */
export function setParamValue(p, control, value) {
  if (p.type === 'bool') control.checked = !!value;
  else control.value = value === null || value === undefined ? '' : String(value);
}

/* Reads p from its control: {value} or {error: catalogue key, args}. An
 * empty number input means the default. */
export function readParam(p, control) {
  if (p.type === 'bool') return { value: control.checked };
  if (p.type === 'choice') {
    const choices = (p.choices || []).map(String);
    if (!choices.includes(control.value)) return { error: 'train.err.choice', args: { choices: choices.join(', ') } };
    return { value: p.choices[choices.indexOf(control.value)] };
  }
  if (!isNumeric(p)) return { value: control.value };
  const raw = control.value.trim();
  if (raw === '') return { value: p.default };
  const v = Number(raw);
  if (!Number.isFinite(v)) return { error: 'train.err.number' };
  if (p.type === 'int' && !Number.isInteger(v)) return { error: 'train.err.integer' };
  const { min, max } = bounds(p);
  if ((min !== null && v < min) || (max !== null && v > max)) {
    if (min !== null && max !== null) return { error: 'train.err.range', args: { min, max } };
    return min !== null ? { error: 'train.err.atLeast', args: { min } } : { error: 'train.err.atMost', args: { max } };
  }
  return { value: v };
}

// Shown first; every other parameter goes under "Advanced" (presentation
// only: which parameters exist is the server's answer). For a stack: what
// it is made of and how it combines them.
const MAIN = ['rounds', 'learning_rate', 'trees', 'max_features', 'max_depth', 'members', 'combiner', 'candidates', 'time_budget', 'early_stopping_rounds', 'cv_folds'];

/* Focuses a control, opening the "Advanced" section when it is inside. */
export function reveal(control) {
  const det = control.closest('details');
  if (det) det.open = true;
  control.focus();
}

/* The parameter cards of one algorithm (the train and pipeline pages):
 * {el, controls: Map(name -> control), params}. carry(p) may give a value
 * to start from instead of p.default. */
export function paramCards(algo, carry = () => undefined) {
  const controls = new Map();
  const one = (p) => {
    const v = carry(p);
    const control = paramControl(p, v === undefined ? p.default : v);
    controls.set(p.name, control);
    return h(p.type === 'bool' ? 'div.col-12' : 'div.col-sm-6.col-xl-4', paramField(p, control));
  };
  let main = algo.params.filter((p) => MAIN.includes(p.name));
  // the others, with the switches last where they do not break the rows of inputs
  const rest = algo.params.filter((p) => !MAIN.includes(p.name));
  let advanced = [...rest.filter((p) => p.type !== 'bool'), ...rest.filter((p) => p.type === 'bool')];
  if (!main.length) [main, advanced] = [advanced, []];
  const reset = button(t('train.reset'), {
    variant: 'link', onClick: () => {
      for (const p of algo.params) {
        setParamValue(p, controls.get(p.name), p.default);
        setInvalid(controls.get(p.name), null);
      }
    },
  });
  const el = h('div.train-params',
    card(t('train.params'), h('div.row.g-3', main.map(one)), { actions: reset, cls: 'mt-4' }),
    advanced.length > 0 && h('details.card.app-card.mt-4.advanced',
      h('summary.card-header', h('span.h6.mb-0', t('train.advanced')), h('span.small.text-body-secondary.ms-2', t('train.advancedHint'))),
      h('div.card-body', h('div.row.g-3', advanced.map(one)))));
  return { el, controls, params: algo.params };
}

/* The parameters to send from paramCards' cards ({} of values), or null
 * with the first bad input marked and focused. The main ones are always
 * sent, the rest when changed. */
export function collectParams(cards) {
  const params = {};
  let firstBad = null;
  for (const p of cards.params) {
    const c = cards.controls.get(p.name);
    const r = readParam(p, c);
    setInvalid(c, r.error ? t(r.error, r.args) : null);
    if (r.error) { firstBad = firstBad || c; continue; }
    if (MAIN.includes(p.name) || r.value !== p.default) params[p.name] = r.value;
  }
  if (firstBad) {
    reveal(firstBad);
    return null;
  }
  return params;
}
