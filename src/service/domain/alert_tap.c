/* domain/alert_tap.c - alerts also written to a file for tests
 * (alert_tap.h). One line per alert, appended with one write so that
 * concurrent alerts never interleave. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "base/log.h"
#include "domain/alert_tap.h"

void hs_alert_tap(const hs_app *app, const hs_alert *a)
{
    if (!app->alert_tap || !app->alert_tap[0] || !a)
        return;
    json_t *j =
        json_pack("{s:s?, s:i, s:I, s:s?, s:s?}", "kind", a->kind, "audience",
                  (int)a->audience, "user_id", (json_int_t)a->user_id,
                  "subject", a->subject, "body", a->body);
    char *line = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    int fd = line ? open(app->alert_tap,
                         O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)
                  : -1;
    size_t n = line ? strlen(line) : 0;
    if (line)
        line[n] = '\n'; /* json_dumps leaves room only for the NUL */
    if (fd < 0 || write(fd, line, n + 1) != (ssize_t)(n + 1))
        hs_log(HS_LOG_WARN, "cannot write to the alert tap",
               json_pack("{s:s}", "path", app->alert_tap));
    if (fd >= 0)
        close(fd);
    free(line);
}

void hs_alert_queue(hs_app *app, const hs_alert *a)
{
    hs_error err = {0};
    if (hs_alerts_send(app, a, &err) != HS_OK)
        hs_log(HS_LOG_ERROR, "cannot queue an alert",
               json_pack("{s:s, s:s}", "kind", a->kind, "error", err.message));
    hs_alert_tap(app, a);
}
