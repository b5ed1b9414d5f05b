// connection.js - knows whether the server can be reached. A request that
// fails at the network level calls lost(); from then on the server is
// probed with a growing delay (1 s, 2 s, 4 s ... 15 s) until it answers, and
// whoever waits in whenOnline() is released. The UI shows a banner from the
// state published here; requests retry by waiting on whenOnline(). The probe
// itself (the health request of client/system.js) is handed in by app.js with
// setProbe(), so that this module, which client/http.js uses, needs no client.

const DELAYS = [1000, 2000, 4000, 8000, 15000];

let online = true;
let attempt = 0;
let timer = null;
let nextAt = 0;
let probing = false;
let probeFn = null; // async (signal) => resolves when the server answers
const waiters = new Set();
const listeners = new Set();

const state = () => ({ online, nextAt, probing, attempt });
function notify() {
  for (const fn of listeners) fn(state());
}

export function subscribe(fn) {
  listeners.add(fn);
  fn(state());
  return () => listeners.delete(fn);
}

export const isOnline = () => online;

/* fn(signal) resolves once the server answered, rejects otherwise. */
export function setProbe(fn) {
  probeFn = fn;
}

function schedule() {
  clearTimeout(timer);
  const delay = DELAYS[Math.min(attempt, DELAYS.length - 1)];
  nextAt = Date.now() + delay;
  timer = setTimeout(probe, delay);
  notify();
}

function restored() {
  online = true;
  attempt = 0;
  clearTimeout(timer);
  for (const w of waiters) w.resolve();
  waiters.clear();
  notify();
}

/* Asks the server once now; on failure schedules the next try. */
export async function probe() {
  if (online || probing) return;
  clearTimeout(timer);
  probing = true;
  notify();
  let ok = false;
  try {
    const ctl = new AbortController();
    const tm = setTimeout(() => ctl.abort(), 5000);
    try {
      await probeFn(ctl.signal);
      ok = true;
    } finally {
      clearTimeout(tm);
    }
  } catch {
    ok = false;
  }
  probing = false;
  if (ok) restored();
  else {
    attempt++;
    schedule();
  }
}

/* Called when a request could not reach the server. */
export function lost() {
  if (!online) return;
  online = false;
  attempt = 0;
  schedule();
}

/* Resolves once the server answers again (at once when it does now);
 * rejects with an AbortError when the signal fires first. */
export function whenOnline(signal) {
  if (online) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const w = { resolve };
    waiters.add(w);
    signal?.addEventListener('abort', () => {
      waiters.delete(w);
      reject(new DOMException('aborted', 'AbortError'));
    }, { once: true });
  });
}

window.addEventListener('offline', lost);
window.addEventListener('online', () => probe());
