// client/system.js - the server's health, which connection.js probes while the
// server cannot be reached (docs/api.md: Health and metrics).

import * as http from './http.js';

/* {status: 'ok' | 'failing', version, uptime_seconds, checks}; never waits
 * for the connection (it is what tells that the connection is back). A 503
 * whose checks failed (disk low, store locked) is an answer too: the server
 * is reachable, so it resolves with the body's fields rather than keep the
 * UI "offline". */
export const health = (opts = {}) =>
  http.get('/health', { quiet: true, retry: false, ...opts }).catch((err) => {
    if (err.status === 503 && err.code === 'unhealthy') return { status: 'failing', failed: err.details.failed || [] };
    throw err;
  });
