// views/job-cancel.js - the button that cancels a running job (the job
// and pipeline pages): disabled while the request runs, a job that has
// just finished on its own (409) is not an error, any other failure is
// shown and the button can be pressed again.

import { button, showError } from '../ui.js';

/* cancel() -> the JOB after the request; onCancelled(job) takes it. */
export function jobCancelButton({ label, testid, cancel, onCancelled }) {
  const b = button(label, {
    iconName: 'stop', variant: 'outline-danger', testid,
    onClick: async () => {
      b.disabled = true;
      try {
        onCancelled(await cancel());
      } catch (e) {
        if (e.code !== 'conflict') showError(e);
        b.disabled = false;
      }
    },
  });
  return b;
}
