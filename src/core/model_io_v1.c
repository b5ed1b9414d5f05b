/* model_io_v1.c - the META section of model files of format version 1.
 *
 * Version 1 was written when the gradient-boosted trees were the whole
 * engine: META held the algorithm as char[16], the version as char[32],
 * and every training parameter in one fixed binary record. This reader
 * maps that record onto today's parameter tables by name, so the tables
 * stay the only definition of the parameters; every other section of a
 * version 1 file is read by the same code as version 2's.
 */
#include <string.h>

#include "container.h"
#include "internal.h"

/* How version 1 stored a value. */
typedef enum v1_kind {
    V1_I32, /* u32 of an int */
    V1_F64,
    V1_U64,
    V1_CLASS_WEIGHT /* u32: 0 none, 1 balanced */
} v1_kind;

/* The record's fields in file order, by today's names. */
static const struct {
    const char *name;
    v1_kind kind;
} V1_PARAMS[] = {
    {"rounds", V1_I32},
    {"learning_rate", V1_F64},
    {"max_depth", V1_I32},
    {"max_leaves", V1_I32},
    {"min_child_weight", V1_F64},
    {"lambda", V1_F64},
    {"min_split_gain", V1_F64},
    {"subsample", V1_F64},
    {"colsample", V1_F64},
    {"max_bins", V1_I32},
    {"validation_fraction", V1_F64},
    {"early_stopping_rounds", V1_I32},
    {"class_weight", V1_CLASS_WEIGHT},
    {"collapse_duplicates", V1_I32},
    {"refit", V1_I32},
    {"cv_folds", V1_I32},
    {"seed", V1_U64},
    {"threads", V1_I32},
};

#define V1_ALGO_BYTES 16
#define V1_VERSION_BYTES 32

static hl_param_value read_v1_value(hl__rbuf *r, const hl_param_spec *s,
                                    v1_kind kind)
{
    static const char *const V1_CLASS_WEIGHTS[] = {"none", "balanced"};
    hl_param_value v = {0, 0.0};
    switch (kind) {
    case V1_I32:
        v.i = (int32_t)hl__r_u32(r);
        break;
    case V1_F64:
        v.d = hl__r_f64(r);
        break;
    case V1_U64:
        v.i = (int64_t)hl__r_u64(r);
        break;
    case V1_CLASS_WEIGHT: {
        uint32_t cw = hl__r_u32(r);
        /* An unknown value maps to an impossible choice: refused below. */
        if (cw > 1 ||
            hl_param_parse(s, V1_CLASS_WEIGHTS[cw], &v, NULL) != HL_OK)
            v.i = -1;
        break;
    }
    }
    return v;
}

/* The record: char algo[16] (META's again), then the fields. */
static hl_status read_v1_params(hl_model *m, hl__rbuf *r, const hl__io_ctx *io)
{
    hl_train_params *p = &m->summary.params;
    char algo_again[V1_ALGO_BYTES];
    hl__r_bytes(r, algo_again, sizeof algo_again);
    for (size_t k = 0; k < sizeof V1_PARAMS / sizeof V1_PARAMS[0]; k++) {
        const hl_param_spec *s = hl_train_params_spec(p, V1_PARAMS[k].name);
        if (!s)
            return hl__io_corrupt(io, "parameters of another learner");
        hl_param_value v = read_v1_value(r, s, V1_PARAMS[k].kind);
        if (r->failed || !hl__param_value_fits(s, v))
            return hl__io_corrupt(io, "parameters");
        hl__train_params_store(p, s, v);
    }
    return HL_OK;
}

hl_status hl__read_meta_v1(hl_model *m, hl__rbuf *r, const hl__io_ctx *io)
{
    hl_model_summary *s = &m->summary;
    char algo[V1_ALGO_BYTES];
    _Static_assert(sizeof s->healer_version == V1_VERSION_BYTES,
                   "the summary's version field is version 1's");
    hl__r_bytes(r, algo, V1_ALGO_BYTES);
    hl__r_bytes(r, s->healer_version, V1_VERSION_BYTES);
    s->created_unix = (int64_t)hl__r_u64(r);
    if (r->failed)
        return hl__io_corrupt(io, "metadata section too short");
    algo[V1_ALGO_BYTES - 1] = '\0'; /* as version 1 read them */
    s->healer_version[V1_VERSION_BYTES - 1] = '\0';
    hl_status rc = hl__model_set_learner(m, algo, io);
    return rc == HL_OK ? read_v1_params(m, r, io) : rc;
}
