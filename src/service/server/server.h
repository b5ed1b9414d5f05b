/* server/server.h - `healer serve`'s life cycle.
 *
 * The server assembles the service from its settings (server/config.h):
 * the data directory (store and blobs), the app's shared state (clock,
 * setup, login throttle, model cache), the job runner and HTTP, and takes
 * it apart in the reverse order on stop.
 */
#ifndef HEALER_HS_SERVER_H
#define HEALER_HS_SERVER_H

#include <stdio.h>

#include "base/error.h"
#include "server/config.h"

typedef struct hs_server hs_server;

/* Starts everything and prints the URL (and the setup token when there is
 * no user yet) to `console`. */
hs_status hs_server_start(const hs_server_config *cfg, FILE *console,
                          hs_server **out, hs_error *err);

/* Hourly housekeeping: purge the dataset trash, drop expired sessions. */
void hs_server_maintain(hs_server *s);

/* Graceful stop: no new connections, in-flight requests finish, running
 * jobs are re-queued; then everything is freed. */
void hs_server_stop(hs_server *s);

#endif
