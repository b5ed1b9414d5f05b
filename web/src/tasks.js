// tasks.js - the registry of operations in flight (requests, uploads) that
// the busy indicator shows. A task knows when it started, its progress when
// known (0..1) and how to cancel it. The registry only records; ui.js
// decides what to show (tasks older than one second), so that quick
// requests never flash anything.

const tasks = new Set();
const listeners = new Set();

function notify() {
  for (const fn of listeners) fn(Array.from(tasks));
}

/* begin({label, cancel?}) -> {setProgress(p), setLabel(s), end()} */
export function begin({ label = '', cancel = null } = {}) {
  const task = { label, cancel, progress: null, started: performance.now() };
  tasks.add(task);
  notify();
  return {
    task,
    setProgress(p) { task.progress = p; notify(); },
    setLabel(s) { task.label = s; notify(); },
    end() { if (tasks.delete(task)) notify(); },
  };
}

export function subscribe(fn) {
  listeners.add(fn);
  fn(Array.from(tasks));
  return () => listeners.delete(fn);
}

export const activeTasks = () => Array.from(tasks);
