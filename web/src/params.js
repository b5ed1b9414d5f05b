// params.js - the training parameters the UI offers, with the defaults and
// ranges of `healer train` (docs/api.md, POST /jobs). One table drives the
// form, the client-side checks and the request, so they cannot disagree.
// The first five are the main ones; the rest sit under "Advanced".

export const PARAMS = [
  { name: 'rounds', kind: 'int', def: 1000, min: 1, max: 100000, main: true },
  { name: 'learning_rate', kind: 'float', def: 0.05, min: 0, minExclusive: true, max: 10, step: 0.01, main: true },
  { name: 'max_depth', kind: 'int', def: 6, min: 0, max: 64, main: true },
  { name: 'early_stopping_rounds', kind: 'int', def: 50, min: 0, max: 100000, main: true },
  { name: 'cv_folds', kind: 'int', def: 0, min: 0, max: 20, not: [1], main: true },
  { name: 'max_leaves', kind: 'int', def: 0, min: 0, max: 65536, not: [1] },
  { name: 'min_child_weight', kind: 'float', def: 1, min: 0, step: 0.1 },
  { name: 'lambda', kind: 'float', def: 1, min: 0, step: 0.1 },
  { name: 'min_split_gain', kind: 'float', def: 0, min: 0, step: 0.1 },
  { name: 'subsample', kind: 'float', def: 0.8, min: 0, minExclusive: true, max: 1, step: 0.05 },
  { name: 'colsample', kind: 'float', def: 0.5, min: 0, minExclusive: true, max: 1, step: 0.05 },
  { name: 'max_bins', kind: 'int', def: 255, min: 2, max: 255 },
  { name: 'validation_fraction', kind: 'float', def: 0.1, min: 0, minExclusive: true, max: 0.5, step: 0.05 },
  { name: 'class_weight', kind: 'choice', def: 'balanced', choices: ['balanced', 'none'] },
  { name: 'collapse_duplicates', kind: 'bool', def: true },
  { name: 'refit', kind: 'bool', def: true },
  { name: 'seed', kind: 'int', def: 42, min: 0, max: 2147483647 },
];

/* Reads a control's value for param p: {value} or {error: messageKey, args}. */
export function readParam(p, control) {
  if (p.kind === 'bool') return { value: control.checked };
  if (p.kind === 'choice') return { value: control.value };
  const raw = control.value.trim();
  if (raw === '') return { value: p.def };
  const v = Number(raw);
  if (!Number.isFinite(v)) return { error: 'train.err.number' };
  if (p.kind === 'int' && !Number.isInteger(v)) return { error: 'train.err.integer' };
  const low = p.min !== undefined && (p.minExclusive ? v <= p.min : v < p.min);
  const high = p.max !== undefined && v > p.max;
  if (low || high) {
    if (p.max === undefined) return { error: p.minExclusive ? 'train.err.above' : 'train.err.atLeast', args: { min: p.min } };
    return { error: p.minExclusive ? 'train.err.rangeOpen' : 'train.err.range', args: { min: p.min, max: p.max } };
  }
  if (p.not?.includes(v)) return { error: 'train.err.not', args: { v } };
  return { value: v };
}
