/* args.c - flag values, usage errors, engine errors and progress output.
 *
 * Flag values are parsed strictly (no trailing garbage, range-checked) so
 * that a typo such as `--rounds 3OO` is a usage error, not a silent 3.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "healer %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nRun 'healer %s --help' for usage.\n", cmd);
    va_end(ap);
    return CLI_USAGE;
}

int cli_engine_error(const char *cmd, const hl_error *err)
{
    fprintf(stderr, "healer %s: error: %s\n", cmd,
            err->message[0] ? err->message : hl_status_name(err->code));
    return CLI_RUNTIME;
}

void cli_print_warnings(const char *cmd, const hl_warnings *w)
{
    for (size_t i = 0; i < w->count; i++)
        fprintf(stderr, "healer %s: warning: %s\n", cmd, w->items[i]);
}

int cli_parse_long(const char *cmd, const char *flag, const char *text,
                   long min, long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end != '\0' || v < min || v > max) {
        cli_usage_error(cmd, "%s expects a whole number in %ld..%ld, got '%s'",
                        flag, min, max, text);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_u64(const char *cmd, const char *flag, const char *text,
                  uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    /* strtoull skips blanks and wraps "-1": accept digits only. */
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || !isdigit((unsigned char)text[0]) || *end != '\0' ||
        v > (unsigned long long)INT64_MAX) {
        cli_usage_error(cmd, "%s expects a whole number in 0..%lld, got '%s'",
                        flag, (long long)INT64_MAX, text);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

int cli_parse_double(const char *cmd, const char *flag, const char *text,
                     double min, double max, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end != '\0' || !isfinite(v) || v < min ||
        v > max) {
        cli_usage_error(cmd, "%s expects a number in [%g, %g], got '%s'", flag,
                        min, max, text);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_param(const char *cmd, const hl_param_spec *s, const char *text,
                    hl_param_value *out)
{
    if (hl_param_parse(s, text, out, NULL) == HL_OK)
        return 0;
    char range[160];
    hl_param_range(s, range, sizeof range);
    const char *kind = "";
    if (!(s->flags & HL_PARAM_ZERO_OFF) &&
        (s->type == HL_PARAM_INT || s->type == HL_PARAM_SEED))
        kind = "a whole number in ";
    else if (!(s->flags & HL_PARAM_ZERO_OFF) && s->type == HL_PARAM_REAL)
        kind = "a number in ";
    cli_usage_error(cmd, "--%s expects %s%s, got '%s'", s->flag, kind, range,
                    text);
    return -1;
}

static int progress_shown;

int cli_train_progress(const hl_train_progress *p, void *user)
{
    (void)user;
    if (!isatty(STDERR_FILENO))
        return 0;
    char stage[32] = "";
    if (p->stage == HL_STAGE_CV)
        snprintf(stage, sizeof stage, "cv fold %u/%u ", p->fold, p->folds);
    else if (p->stage == HL_STAGE_REFIT && p->fold > 0)
        snprintf(stage, sizeof stage, "cv fold %u/%u refit ", p->fold,
                 p->folds);
    else if (p->stage == HL_STAGE_REFIT)
        snprintf(stage, sizeof stage, "refit on all rows ");
    fprintf(stderr, "\r%sround %d/%d  train loss %.4f", stage, p->round,
            p->rounds, p->train_loss);
    if (!isnan(p->valid_loss))
        fprintf(stderr, "  valid loss %.4f", p->valid_loss);
    fprintf(stderr, "  %.1fs   ", p->elapsed_seconds);
    progress_shown = 1;
    return 0;
}

void cli_progress_done(void)
{
    if (progress_shown)
        fputs("\r\033[K", stderr);
    progress_shown = 0;
}
