// test_loss.mjs - the training loss chart's series (web/src/views/loss.js
// lossSeries, lossOption, seriesData, seriesShape), without a browser.
//
// What: a job's losses with finished cross-validation folds and a refit
// (docs/api.md JOB `losses`) become one line per fold holding exactly that
// fold's points, the current fit's training and hold-out lines, and the
// refit's line apart; no line's rounds ever go back (a fold's rounds and
// then the next fold's, or the refit's, joined into one line would draw the
// sawtooth the tour found); the in-place update data (seriesData) are in
// the option's series order, and a fold or a refit that appears changes
// the shape (the chart is rebuilt, not fed mismatched data).
// Why: the chart is a canvas, so a browser test sees pixels, not which
// line a point belongs to; these are the rules the curve is drawn by.
//
// loss.js imports i18n.js and charts.js, whose modules touch `window` and
// `document` when first loaded: the few names they read are stubbed here.
//
// Output: cmocka's lines, counted by tests/run.sh. Run: node tests/web/test_loss.mjs

import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runChecks } from './checks.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
globalThis.window = globalThis;
globalThis.addEventListener = () => {};
globalThis.matchMedia = () => ({ matches: false, addEventListener() {} });
globalThis.document = {
  documentElement: { getAttribute: () => null, setAttribute() {} },
  addEventListener() {},
  querySelector: () => null,
};
// web/ is not a "type": "module" package: Node warns while it guesses that
// the UI's .js files are ES modules; the guess is right and the warning noise.
process.removeAllListeners('warning');
const L = await import(pathToFileURL(path.join(ROOT, 'web/src/views/loss.js')).href);
const { t } = await import(pathToFileURL(path.join(ROOT, 'web/src/i18n.js')).href);

const COLOURS = { text: '#111', muted: '#666', grid: '#ddd', colors: ['#1', '#2', '#3', '#4'] };
const curve = (n, from) => Array.from({ length: n }, (_, i) => from - i * 0.01);
// Three folds of 30 rounds each (the hold-out loss of folds 1 and 2, the
// training loss of fold 3, which had no hold-out), then the final fit of
// 20 rounds with its hold-out, then its refit of 25 rounds.
const FOLDS = [1, 2, 3].map((fold) => ({
  fold, loss: fold === 3 ? 'train' : 'valid', points: curve(30, 1 + fold / 10).map((v, i) => [i + 1, v]),
}));
const LOSSES = { train: curve(20, 0.9), valid: curve(20, 0.95), refit: curve(25, 0.8), folds: FOLDS };
const series = (losses) => L.lossSeries(losses.train, losses.valid, { refit: losses.refit, folds: losses.folds });
const optionOf = (losses) => L.lossOption(COLOURS, series(losses), { name: 'loss-curve', empty: 'empty' });
const xs = (data) => data.map((p) => p[0]);
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

const tests = {
  a_series_per_fold() {
    const out = [];
    const all = optionOf(LOSSES).series;
    for (const f of FOLDS) {
      const name = t(f.loss === 'valid' ? 'job.foldValidLoss' : 'job.foldTrainLoss', { fold: f.fold });
      const s = all.filter((x) => x.name === name);
      if (s.length !== 1) out.push(`fold ${f.fold}: ${s.length} series named "${name}", want 1`);
      else if (!same(s[0].data, f.points)) out.push(`fold ${f.fold}'s series holds ${JSON.stringify(s[0].data).slice(0, 80)}, not its own points`);
    }
    if (all.length !== FOLDS.length + 3) out.push(`${all.length} series: want 3 folds, training, hold-out and refit (${all.map((x) => x.name)})`);
    return out;
  },
  the_refit_is_a_series_apart() {
    const out = [];
    const all = optionOf(LOSSES).series;
    const refit = all.filter((x) => x.name === t('job.refitLoss'));
    const train = all.filter((x) => x.name === t('job.trainLoss'));
    if (refit.length !== 1) return [`${refit.length} refit series, want 1 (${all.map((x) => x.name)})`];
    if (!same(xs(refit[0].data), LOSSES.refit.map((_, i) => i + 1))) out.push(`the refit's rounds are ${xs(refit[0].data)}`);
    if (refit[0].lineStyle?.type !== 'dashed') out.push('the refit is drawn dashed, apart from the fit it repeats');
    if (train.length !== 1 || train[0].data.length !== LOSSES.train.length) out.push(`the training series holds the fit's ${LOSSES.train.length} rounds only, has ${train[0]?.data.length}`);
    return out;
  },
  no_line_goes_back_in_rounds() {
    const out = [];
    for (const s of optionOf(LOSSES).series) {
      const r = xs(s.data);
      if (r.some((x, i) => i > 0 && x <= r[i - 1])) out.push(`"${s.name}" goes back in rounds (a sawtooth): ${r.join(',').slice(0, 120)}`);
    }
    return out;
  },
  update_data_in_series_order() {
    const s = series(LOSSES);
    const got = L.seriesData(s);
    const want = optionOf(LOSSES).series.map((x) => x.data);
    return same(got, want) ? [] : ['seriesData is not in the order lossOption draws the series (an in-place update would swap lines)'];
  },
  a_new_fold_or_refit_changes_the_shape() {
    const out = [];
    const base = { ...LOSSES, folds: FOLDS.slice(0, 2), refit: [] };
    const shape = L.seriesShape(series(base));
    if (L.seriesShape(series({ ...base, folds: FOLDS })) === shape) out.push('a third fold does not change the shape');
    if (L.seriesShape(series({ ...base, refit: LOSSES.refit })) === shape) out.push('a refit does not change the shape');
    if (L.seriesShape(series({ ...base, train: curve(21, 0.9) })) !== shape) out.push('one more round changes the shape (the chart would be rebuilt every poll)');
    return out;
  },
  only_folds_yet() {
    // between two folds the current fit has no rounds yet: the folds are drawn
    const o = optionOf({ train: [], valid: [], refit: [], folds: FOLDS.slice(0, 1) });
    return o.series?.length === 2 && same(o.series[0].data, FOLDS[0].points) ? [] : [`with one finished fold and no fit yet: ${JSON.stringify(o.series || o.graphic).slice(0, 160)}`];
  },
};

runChecks(tests);
