/* cli.h - shared pieces of the `healer` command-line tool.
 *
 * The CLI is thin: each command parses its flags, calls the engine and
 * renders the result. What several commands print the same way (errors,
 * metrics, model summaries, JSON) lives in report.c and args.c so that
 * every command says things identically.
 *
 * Exit codes: 0 success, 1 runtime error, 2 usage error.
 */
#ifndef HEALER_CLI_H
#define HEALER_CLI_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "healer/healer.h"
#include "domain/engine_json.h"

enum { CLI_OK = 0, CLI_RUNTIME = 1, CLI_USAGE = 2 };

/* An engine constant (a plain number) as a string literal, for usage text
 * that takes its ranges from the engine's definitions. */
#define CLI_STR_(x) #x
#define CLI_STR(x) CLI_STR_(x)

/* ---- commands ---- */
int cmd_train(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_simulate(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_routes(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_cert(int argc, char **argv);
int cmd_key(int argc, char **argv);
int cmd_rekey(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_worker(int argc, char **argv);
int cmd_drift(int argc, char **argv);
int cmd_suggest(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_rca(int argc, char **argv);
int cmd_rca_eval(int argc, char **argv);

/* ---- args.c ---- */

/* Strict number parsing for flag values: the whole string must be a number
 * in [min, max]. On failure prints a usage error naming the flag and
 * returns -1. */
int cli_parse_long(const char *cmd, const char *flag, const char *text,
                   long min, long max, long *out);
int cli_parse_u64(const char *cmd, const char *flag, const char *text,
                  uint64_t *out);
int cli_parse_double(const char *cmd, const char *flag, const char *text,
                     double min, double max, double *out);

/* A flag value for a parameter of the engine's tables (healer/params.h),
 * the flag being --s->flag: parsed and range-checked by the engine, so it
 * accepts what the web API accepts. On failure prints a usage error
 * naming the flag and the range and returns -1. */
int cli_parse_param(const char *cmd, const hl_param_spec *s, const char *text,
                    hl_param_value *out);

/* Prints "healer CMD: MESSAGE" and a hint to --help; returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints an engine error as "healer CMD: error: MESSAGE"; returns CLI_RUNTIME. */
int cli_engine_error(const char *cmd, const hl_error *err);

/* Prints each warning as "healer CMD: warning: ...". */
void cli_print_warnings(const char *cmd, const hl_warnings *w);

/* Progress line on stderr, only when stderr is a terminal. */
int cli_train_progress(const hl_train_progress *p, void *user);
void cli_progress_done(void);

/* ---- report.c ---- */

void cli_print_metrics(FILE *out, const hl_metrics *m,
                       char *const *class_names, const char *indent);
void cli_print_summary(FILE *out, const hl_model_summary *s);
/* The model's named classes, one block each ("class names: none" when it
 * has none): label, name, description and first action. */
void cli_print_class_names(FILE *out, const hl_model *m);
/* j (a summary or an explanation object) with "class_names" set to the
 * model's (hs_json_class_names); j is returned, NULL stays NULL. */
json_t *cli_json_with_class_names(json_t *j, const hl_model *m);
/* Dumps j (and releases it) to stdout followed by a newline. */
int cli_emit_json(json_t *j);

/* ---- cmd_drift.c ---- */

/* The one line stating the drift rules, from healer/drift.h's numbers
 * (drift --help; docs/cli.md repeats it). */
void cli_print_drift_rules(FILE *out);

/* "PREFIXdrift: VERDICT - N of M KPIs shifted significantly (...)". */
void cli_print_drift_verdict(FILE *out, const char *prefix,
                             const hl_drift_report *r);

/* The verdict, then a line naming up to max_worst significant KPIs, worst
 * first (none when nothing drifted): what `healer predict` says. */
void cli_print_drift_brief(FILE *out, const char *prefix,
                           const hl_drift_report *r, size_t max_worst);

#endif
