// client/system.js - the server's health, which connection.js probes while the
// server cannot be reached (docs/api.md: Health and metrics).

import * as http from './http.js';

/* {status: 'ok', version, uptime_seconds}; never waits for the connection
 * (it is what tells that the connection is back). */
export const health = (opts = {}) => http.get('/health', { quiet: true, retry: false, ...opts });
