// views/attempts.js - the attempts of a self-repairing training, on the job
// and model pages (docs/api.md, ATTEMPT): for each attempt the learner it
// trained, why it ran (as asked, another learner, safer parameters), how it
// ended and why, and how long it took; above the table one line saying
// which learner finally made the model, that none did, or that a retry is
// running. A training that succeeded on its first attempt has nothing to
// tell, so the pages show this only after a retry (worthShowing).

import { h } from '../dom.js';
import { t, has } from '../i18n.js';
import { fmtDuration } from '../format.js';
import { card, badge } from '../ui.js';

const OUTCOME_TONE = { succeeded: 'success', failed: 'danger', degenerate: 'warning', cancelled: 'secondary' };

/* The learner's name as the training form shows it ("Random forest"). */
const learnerName = (algo) => (has(`train.algo.${algo}`) ? t(`train.algo.${algo}`) : algo);
const label = (group, key) => (has(`attempts.${group}.${key}`) ? t(`attempts.${group}.${key}`) : key);

const succeeded = (a) => a?.outcome === 'succeeded';

/** True when attempts are worth a card: more than one attempt, or one that
 * did not succeed while the training still runs (a retry is under way; a
 * job stays running for a moment after its last attempt, storing the
 * model). */
export function worthShowing(attempts, running = false) {
  const n = attempts?.length || 0;
  return n > 1 || (running && n > 0 && !succeeded(attempts[n - 1]));
}

function summary(attempts, running) {
  const last = attempts[attempts.length - 1];
  if (succeeded(last)) {
    return h('p.mb-0', { testid: 'attempts-summary', dataset: { state: 'succeeded', finalAlgo: last.algo } },
      t('attempts.trainedBy', { algo: learnerName(last.algo), number: last.number }));
  }
  if (running) {
    return h('p.mb-0', { testid: 'attempts-summary', dataset: { state: 'retrying' } },
      t('attempts.retrying', { number: attempts.length + 1 }));
  }
  return h('p.mb-0', { testid: 'attempts-summary', dataset: { state: 'failed' } },
    t('attempts.noneSucceeded', { count: attempts.length }));
}

function table(attempts) {
  const th = (key, cls = 'th') => h(cls, { scope: 'col' }, t(`attempts.col.${key}`));
  return h('div.table-responsive', { tabindex: '0', role: 'region', 'aria-label': t('attempts.caption') },
    h('table.table.table-sm.align-middle.mb-0', { testid: 'attempts-table' },
      h('caption.visually-hidden', t('attempts.caption')),
      h('thead', h('tr', th('number'), th('learner'), th('step'), th('outcome'), th('reason'), th('time', 'th.text-end'))),
      h('tbody', attempts.map((a) => h('tr', {
        testid: 'attempt-row', dataset: { number: String(a.number), algo: a.algo, step: a.step, outcome: a.outcome },
      },
      h('th', { scope: 'row' }, String(a.number)),
      h('td.text-nowrap', learnerName(a.algo)),
      h('td', label('step', a.step)),
      h('td', badge(label('outcome', a.outcome), OUTCOME_TONE[a.outcome] || 'secondary')),
      h('td.small.text-break', a.reason || '—'),
      h('td.text-end.text-nowrap', fmtDuration(a.seconds)))))));
}

/** A card with the summary line and the table of attempts (non-empty);
 * `running` while the training still runs. */
export function attemptsCard(attempts, { running = false } = {}) {
  return card(t('attempts.title'), [
    h('div.px-3.pt-3.pb-2', summary(attempts, running)),
    table(attempts),
  ], { testid: 'attempts-card', bodyCls: 'p-0' });
}
