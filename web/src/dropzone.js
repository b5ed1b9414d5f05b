// dropzone.js - a file drop zone: drag a file onto it, or click it (or press
// Enter or Space on it) to open the file picker. Used for dataset uploads and
// for diagnosing a CSV. The zone is the <label> of the real <input
// type=file>, which stays in the DOM (visually hidden but focusable): the
// input is the one interactive element (no button nested in another, as
// axe-core asks), a click anywhere on the zone opens the picker natively,
// the keyboard reaches the input, and the zone shows its focus ring.

import { h, uid } from './dom.js';
import { icon } from './icons.js';

/* dropZone({title, hint, accept, zoneTestid, inputTestid, inputLabel, onFile})
 * -> {el, input, setFileName(name|null)} */
export function dropZone({ title, hint, accept = '.csv,text/csv', zoneTestid, inputTestid, inputLabel, onFile }) {
  const inputId = uid('file');
  const hintId = `${inputId}-hint`;
  const input = h('input.visually-hidden', { type: 'file', id: inputId, accept, testid: inputTestid, 'aria-label': inputLabel, 'aria-describedby': hintId });
  const fileName = h('span.drop-file.text-truncate', { hidden: true });
  // a label holds phrasing content only: spans shown as blocks
  const el = h('label.drop-zone', { testid: zoneTestid, for: inputId },
    h('span.drop-icon', icon('upload')), h('span.drop-title', title), h('span.drop-hint', { id: hintId }, hint), fileName, input);

  const pick = (file) => { if (file) onFile(file); };
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') { ev.preventDefault(); input.click(); }
  });
  input.addEventListener('change', () => {
    const file = input.files && input.files[0];
    pick(file);
  });
  let depth = 0;
  el.addEventListener('dragenter', (ev) => { ev.preventDefault(); depth++; el.classList.add('dragover'); });
  el.addEventListener('dragover', (ev) => { ev.preventDefault(); ev.dataTransfer.dropEffect = 'copy'; });
  el.addEventListener('dragleave', () => { depth = Math.max(0, depth - 1); if (!depth) el.classList.remove('dragover'); });
  el.addEventListener('drop', (ev) => {
    ev.preventDefault();
    depth = 0;
    el.classList.remove('dragover');
    pick(ev.dataTransfer.files && ev.dataTransfer.files[0]);
  });
  return {
    el,
    input,
    setFileName(name) {
      fileName.hidden = !name;
      fileName.textContent = name || '';
      el.classList.toggle('has-file', !!name);
    },
    reset() { input.value = ''; },
  };
}
