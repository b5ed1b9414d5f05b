/* notify/transfer.h - what the outbound adapters (mail_smtp.c, webhook.c)
 * share: libcurl's set-up, its bounds and its errors.
 *
 * Why one place: every transfer that leaves the platform must be bounded
 * (a connect deadline, a whole-transfer deadline, no signals, only the
 * protocols its adapter names, no redirects) and abortable when the
 * service stops, and its failure must read the same way in the logs.
 * Writing that once keeps the SMTP and the webhook adapters to what is
 * theirs. The notify layer sits between domain/ (which decides what to
 * send) and base/; it knows nothing of users, stores or alerts.
 */
#ifndef HEALER_HS_TRANSFER_H
#define HEALER_HS_TRANSFER_H

#include <stdatomic.h>
#include <stddef.h>

#include "base/error.h"

/* Seconds a connection may take to open, and a whole transfer to end. */
#define HS_TRANSFER_CONNECT_SECONDS 10
#define HS_TRANSFER_TOTAL_SECONDS 30

/* Initialises libcurl once for the process (thread-safe; later calls do
 * nothing). HS_ERR_INTERNAL when libcurl cannot start. */
hs_status hs_transfer_init(hs_error *err);

/* A transfer's bounds and stop flag. `abort_flag` (may be NULL): while it
 * reads non-zero, a running transfer stops within about a second (the
 * service is stopping). */
typedef struct hs_transfer_opts {
    const char *protocols; /* libcurl's list, e.g. "smtp,smtps" */
    const atomic_int *abort_flag;
} hs_transfer_opts;

/* Runs a prepared easy handle (`curl`, a CURL *) under `opts`'s bounds.
 * On failure HS_ERR_IO with "<what>: <libcurl's reason>" (never the URL's
 * credentials or the message); HS_ERR_INTERNAL when the handle cannot be
 * configured. */
hs_status hs_transfer_run(void *curl, const hs_transfer_opts *opts,
                          const char *what, hs_error *err);

/* 1 when url starts with one of the schemes in `schemes` (a NULL-ended
 * list, "smtp://" ...), has a host after it, and holds no space or
 * control character; else 0. */
int hs_transfer_url_ok(const char *url, const char *const *schemes);

#endif
