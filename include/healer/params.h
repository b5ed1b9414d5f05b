/* healer/params.h - the parameter specification: one table per learner,
 * one table of the training options every learner shares.
 *
 * A training parameter is defined once, as an hl_param_spec (name, CLI
 * flag, type, default, range, help), and every interface is a view of that
 * definition: `healer train` builds its flags and --help from it, the web
 * API validates JSON through it and lists it (GET /api/v1/algorithms), and
 * model files record parameters by the names it gives. Because the CLI and
 * the API both parse and check through the functions below, they accept
 * exactly the same values.
 *
 * Everything here is immutable and thread-safe: the tables are static and
 * the functions only read them.
 */
#ifndef HEALER_PARAMS_H
#define HEALER_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "healer/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hl_param_type {
    HL_PARAM_INT = 1,    /* whole number, stored as int */
    HL_PARAM_REAL = 2,   /* finite number, stored as double */
    HL_PARAM_BOOL = 3,   /* stored as int, 0 or 1 */
    HL_PARAM_CHOICE = 4, /* one of `choices`, stored as int (its index) */
    HL_PARAM_SEED = 5    /* whole number 0..2^63-1, stored as uint64_t */
} hl_param_type;

/* Spec flags. */
enum {
    /* 0 is accepted besides [min, max] and means off / unlimited
     * (cv_folds: "0 (off) or 2..20"). */
    HL_PARAM_ZERO_OFF = 1u << 0,
    /* A run-time setting of the command line (threads): recorded in
     * models, but not a parameter the web API offers. */
    HL_PARAM_CLI_ONLY = 1u << 1,
    /* One of the training options every learner shares (the table of
     * hl_shared_params); its offset is within hl_train_params. Without
     * it the offset is within the learner's own parameter block. */
    HL_PARAM_SHARED = 1u << 2,
    /* A shared option that only learners trained in rounds use (early
     * stopping, its hold-out, the refit): the others accept and ignore
     * it, and GET /api/v1/algorithms does not list it for them. */
    HL_PARAM_ITERATIVE = 1u << 3
};

/* A parameter value: `i` for INT, BOOL, CHOICE (the index) and SEED,
 * `d` for REAL. The other member is ignored. */
typedef struct hl_param_value {
    int64_t i;
    double d;
} hl_param_value;

typedef struct hl_param_spec {
    const char *name; /* API, JSON and model-file name: "learning_rate" */
    const char *flag; /* CLI flag without dashes: "lr"; for a BOOL the
                         flag that sets the non-default value
                         ("no-refit", "keep-duplicates") */
    hl_param_type type;
    hl_param_value def; /* default */
    hl_param_value min; /* range, inclusive (INT, REAL, SEED) */
    hl_param_value max;
    unsigned flags;             /* HL_PARAM_* */
    const char *const *choices; /* CHOICE: the names, NULL-terminated */
    const char *help;           /* one line of English */
    size_t offset; /* of the value in its struct (see HL_PARAM_SHARED) */
} hl_param_spec;

/* ---- the tables ---- */

/* A learner as the interfaces see it. */
typedef struct hl_learner_info {
    const char *name;            /* "gbdt": the algo of hl_train_params */
    const char *summary;         /* one line of English */
    const hl_param_spec *params; /* its own parameters */
    size_t n_params;
    int iterative; /* trained in rounds: early stopping on a
                      hold-out and a refit apply to it */
    /* The learner a training of this one that failed or made a
     * degenerate model is retried with (healer/repair.h), or NULL. Each
     * learner names its own stand-in: the most different learner that is
     * still strong on KPI tables, so that what broke this one is unlikely
     * to break it. */
    const char *fallback;
} hl_learner_info;

/* Number of learners; hl_learner_at(0) is the default one. */
size_t hl_learner_count(void);

/* The i-th learner, or NULL when i >= hl_learner_count(). */
const hl_learner_info *hl_learner_at(size_t i);

/* The learner called `name`, or NULL when there is none. */
const hl_learner_info *hl_learner_find(const char *name);

/* The training options every learner shares; *n receives their count. */
const hl_param_spec *hl_shared_params(size_t *n);

/* ---- values ---- */

/* Parses a text value (the CLI's): whole numbers for INT and SEED (no
 * sign for SEED), numbers for REAL, true/false for BOOL, a choice's name
 * for CHOICE; the whole text must be consumed. Then checks the range. On
 * failure HL_ERR_INVALID with err->field = s->name and a message naming
 * the parameter and its range; *out is unchanged. */
hl_status hl_param_parse(const hl_param_spec *s, const char *text,
                         hl_param_value *out, hl_error *err);

/* Checks a value against the spec's range (and, for REAL, finiteness).
 * HL_ERR_INVALID as above when it is out of range. */
hl_status hl_param_check(const hl_param_spec *s, hl_param_value v,
                         hl_error *err);

/* Formats v for display ("1000", "0.05", "true", "balanced"; REAL with
 * %g, in the C locale whatever the program's) into buf (always
 * terminated when cap > 0). Returns what snprintf returns. */
int hl_param_format(const hl_param_spec *s, hl_param_value v, char *buf,
                    size_t cap);

/* Describes the accepted values: "1..100000", "[0.0001, 1]",
 * "0 (off) or 2..20", "true or false", "balanced or none". Returns what
 * snprintf returns. */
int hl_param_range(const hl_param_spec *s, char *buf, size_t cap);

/* The type's name in JSON views: "int" (INT and SEED), "float", "bool",
 * "choice". */
const char *hl_param_type_name(hl_param_type t);

#ifdef __cplusplus
}
#endif
#endif
