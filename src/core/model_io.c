/* model_io.c - the model file format: the container's sections, and the
 * learner's sections passed through to it.
 *
 * Layout of format version 2 (integers little-endian, floats as IEEE-754
 * bit patterns, strings as u32 length + bytes):
 *
 *   "HLMODEL\x1a"  u32 format_version  u32 section_count  u64 body_length
 *   section*       u32 tag  u32 reserved(0)  u64 length  payload[length]
 *   u32 crc32      over every byte before it
 *
 * Sections, in the order written:
 *   META (1)        str algo, str healer_version, u64 created_unix, u64
 *                   rows_read, rows_skipped_no_label, duplicate_rows,
 *                   conflicting_duplicates, rows_train, rows_validation,
 *                   iterations_done, best_iteration, f64 train_seconds
 *   PARAMS (9)      u32 count, per parameter: str name, u32 type
 *                   (hl_param_type), value: i64 for int/bool/seed, f64 for
 *                   float, str (the choice's name) for a choice; every
 *                   shared option and every parameter of the learner, as
 *                   their tables (healer/params.h) name them
 *   FEATURES (2)    u32 n, str name[n]
 *   CLASSES (3)     u32 n, str name[n], u64 count[n]
 *   the learner's   written and read by the learner named in META
 *   CURVE (6)       u64 n, f64 train_loss[n], f64 valid_loss[n]
 *   METRICS (7)     u32 has_validation [metrics], u32 cv_folds [metrics]
 *   IMPORTANCE (8)  u32 n, f64 gain[n], u32 splits[n]
 *   SCREEN (11)     only in a model trained with KPI screening (format
 *                   version 3 when it left a KPI out; written before the learner's sections,
 *                   whose shape is the kept KPIs): u32 n_features, f64
 *                   signal[n], u32 n_kept, u32 kept[n_kept] ascending
 *   FAMILIES (14)   only in a model with KPI families (format version 4;
 *                   after SCREEN, before the learner's sections, whose
 *                   shape counts the families' inputs): families.h
 *   NORMAL (15)     the normal ranges (normal.h): str label, str asked, u64
 *                   rows, u32 n, per KPI f32 center, f32 scale, u64 present. Models
 *                   older than it have none; healers older than it skip it
 *   CLASS_NAMES (16) only in a model that names classes
 *                   (healer/classnames.h): u32 n, per entry str label,
 *                   name, description, action. Healers older than it skip
 *                   it
 *   WEIGHTS (12)    only in a model trained with weighted rows (labels
 *                   from deployment): u64 rows_weighted, f64
 *                   max_row_weight. Healers older than it skip it
 *   LEADERBOARD (13) only in a model `--algo auto` chose: u32 n, per
 *                   candidate str algo, u32 status, f64 macro_f1, f64
 *                   accuracy, f64 seconds. Healers older than it skip it
 *   DRIFT (10)      optional: the drift reference (drift_ref.h): u32
 *                   quantiles Q, u64 rows, u32 n, per KPI u64 present and
 *                   f32 q[Q + 1], u32 n_classes, u64 class_count[]. Models
 *                   trained before it have none and load; healers older
 *                   than it hand the tag to the learner, which skips it
 *   FINGERPRINT (17) optional: hashes of a sample of the training rows
 *                   (fingerprint.h): u32 shift, u64 rows, u32 n, u64
 *                   hash[n] ascending. Models trained before it have
 *                   none; healers older than it hand the tag to the
 *                   learner, which skips it
 *
 * Tags: the container owns tags below 64; tags 64 and up belong to the
 * learner named in META (each learner numbers its own from 64, since one
 * file holds one learner's sections), except that the GBDT keeps its
 * historic BINS (4) and TREES (5) of version 1. The container hands every
 * tag it does not own to the learner, which skips what it does not know
 * and, once all are read, refuses a missing required section.
 *
 * Version 1 files (one learner, its parameters as a fixed record inside
 * META, no PARAMS) still load: model_io_v1.c reads that META and maps the
 * record onto today's tables by name; every other section is unchanged.
 *
 * Reading never trusts a count: each one is checked against the bytes
 * that remain before anything is allocated, and learners check their
 * structures (the GBDT's trees: children after parents, features in
 * range), so a corrupted file cannot make prediction loop or read out of
 * bounds even if its checksum were forged. Floats are stored bit for bit,
 * which keeps predictions identical after a save/load round trip.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container.h"
#include "internal.h"

static const char HL__MAGIC[8] = {'H', 'L', 'M', 'O', 'D', 'E', 'L', 0x1a};
#define HL__HEADER_BYTES 24
#define HL__MAX_MODEL_BYTES ((uint64_t)4 << 30)

enum section_tag {
    SEC_META = 1,
    SEC_FEATURES = 2,
    SEC_CLASSES = 3,
    SEC_CURVE = 6,
    SEC_METRICS = 7,
    SEC_IMPORTANCE = 8,
    SEC_PARAMS = 9,
    SEC_DRIFT = 10,
    SEC_SCREEN = 11,
    SEC_WEIGHTS = 12,
    SEC_LEADERBOARD = 13,
    SEC_FAMILIES = 14,
    SEC_NORMAL = 15,
    SEC_CLASS_NAMES = 16,
    SEC_FINGERPRINT = 17,
};

/* A model whose learner reads other inputs than every KPI as it is gets
 * the lowest format version that knows of them: a healer older than the
 * section would hand it to the learner, which would skip it and read the
 * wrong inputs. Every other model stays version 2, byte for byte what
 * earlier healers wrote. */
#define HL__FORMAT_UNSCREENED 2u
#define HL__FORMAT_SCREENED 3u   /* SCREEN left a KPI out */
#define HL__FORMAT_FAMILIES 4u   /* FAMILIES */

static uint32_t format_version_of(const hl_model *m)
{
    return m->families ? HL__FORMAT_FAMILIES
           : m->kept   ? HL__FORMAT_SCREENED
                       : HL__FORMAT_UNSCREENED;
}

/* ---- writer ---- */

static void w_meta(hl__wbuf *w, const hl_model_summary *s)
{
    size_t at = hl__w_section_begin(w, SEC_META);
    hl__w_str(w, s->algo);
    hl__w_str(w, s->healer_version);
    hl__w_u64(w, (uint64_t)s->created_unix);
    hl__w_u64(w, s->rows_read);
    hl__w_u64(w, s->rows_skipped_no_label);
    hl__w_u64(w, s->duplicate_rows);
    hl__w_u64(w, s->conflicting_duplicates);
    hl__w_u64(w, s->rows_train);
    hl__w_u64(w, s->rows_validation);
    hl__w_u64(w, s->iterations_done);
    hl__w_u64(w, s->best_iteration);
    hl__w_f64(w, s->train_seconds);
    hl__w_section_end(w, at);
}

static void w_param(hl__wbuf *w, const hl_param_spec *spec,
                    const hl_train_params *p)
{
    hl_param_value v = hl_train_params_value(p, spec);
    hl__w_str(w, spec->name);
    hl__w_u32(w, (uint32_t)spec->type);
    if (spec->type == HL_PARAM_REAL)
        hl__w_f64(w, v.d);
    else if (spec->type == HL_PARAM_CHOICE)
        hl__w_str(w, spec->choices[v.i]);
    else
        hl__w_u64(w, (uint64_t)v.i);
}

static void w_params(hl__wbuf *w, const hl_train_params *p,
                     const hl_learner_info *learner)
{
    size_t n_shared;
    const hl_param_spec *shared = hl_shared_params(&n_shared);
    size_t at = hl__w_section_begin(w, SEC_PARAMS);
    hl__w_u32(w, (uint32_t)(n_shared + learner->n_params));
    for (size_t k = 0; k < n_shared; k++)
        w_param(w, &shared[k], p);
    for (size_t k = 0; k < learner->n_params; k++)
        w_param(w, &learner->params[k], p);
    hl__w_section_end(w, at);
}

static void w_names(hl__wbuf *w, uint32_t tag, char *const *names, size_t n,
                    const uint64_t *counts)
{
    size_t at = hl__w_section_begin(w, tag);
    hl__w_u32(w, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        hl__w_str(w, names[i]);
    if (counts)
        for (size_t i = 0; i < n; i++)
            hl__w_u64(w, counts[i]);
    hl__w_section_end(w, at);
}

static void w_curve(hl__wbuf *w, const hl_model_summary *s)
{
    size_t at = hl__w_section_begin(w, SEC_CURVE);
    hl__w_u64(w, s->curve_len);
    for (size_t i = 0; i < s->curve_len; i++)
        hl__w_f64(w, s->curve_train_loss[i]);
    for (size_t i = 0; i < s->curve_len; i++)
        hl__w_f64(w, s->curve_valid_loss[i]);
    hl__w_section_end(w, at);
}

static void w_metrics_body(hl__wbuf *w, const hl_metrics *m)
{
    hl__w_u32(w, (uint32_t)m->n_classes);
    hl__w_u64(w, m->n_samples);
    hl__w_f64(w, m->accuracy);
    hl__w_f64(w, m->macro_precision);
    hl__w_f64(w, m->macro_recall);
    hl__w_f64(w, m->macro_f1);
    hl__w_f64(w, m->weighted_f1);
    hl__w_f64(w, m->log_loss);
    for (size_t k = 0; k < m->n_classes; k++) {
        const hl_class_metrics *c = &m->per_class[k];
        hl__w_f64(w, c->precision);
        hl__w_f64(w, c->recall);
        hl__w_f64(w, c->f1);
        hl__w_u64(w, c->support);
        hl__w_u64(w, c->predicted);
    }
    for (size_t i = 0; i < m->n_classes * m->n_classes; i++)
        hl__w_u64(w, m->confusion[i]);
}

static void w_metrics(hl__wbuf *w, const hl_model_summary *s)
{
    size_t at = hl__w_section_begin(w, SEC_METRICS);
    hl__w_u32(w, (uint32_t)s->has_validation);
    if (s->has_validation)
        w_metrics_body(w, &s->validation);
    hl__w_u32(w, s->cv_folds);
    if (s->cv_folds > 1)
        w_metrics_body(w, &s->cv);
    hl__w_section_end(w, at);
}

static void w_importance(hl__wbuf *w, const hl_model_summary *s)
{
    size_t at = hl__w_section_begin(w, SEC_IMPORTANCE);
    hl__w_u32(w, (uint32_t)s->n_features);
    for (size_t f = 0; f < s->n_features; f++)
        hl__w_f64(w, s->importance_gain[f]);
    for (size_t f = 0; f < s->n_features; f++)
        hl__w_u32(w, s->importance_splits[f]);
    hl__w_section_end(w, at);
}

static void w_screen(hl__wbuf *w, const hl_model *m)
{
    const hl_model_summary *s = &m->summary;
    size_t at = hl__w_section_begin(w, SEC_SCREEN);
    hl__w_u32(w, (uint32_t)s->n_features);
    for (size_t j = 0; j < s->n_features; j++)
        hl__w_f64(w, s->kpi_signal ? s->kpi_signal[j] : 0.0);
    hl__w_u32(w, (uint32_t)s->n_kept);
    for (size_t j = 0; j < s->n_features; j++)
        if (s->kpi_kept[j])
            hl__w_u32(w, (uint32_t)j);
    hl__w_section_end(w, at);
}

static void w_families(hl__wbuf *w, const hl__families *fam)
{
    size_t at = hl__w_section_begin(w, SEC_FAMILIES);
    hl__families_write(fam, w);
    hl__w_section_end(w, at);
}

static void w_normal(hl__wbuf *w, const hl__normal *nr)
{
    size_t at = hl__w_section_begin(w, SEC_NORMAL);
    hl__normal_write(nr, w);
    hl__w_section_end(w, at);
}

static void w_class_names(hl__wbuf *w, const hl_class_names *t)
{
    size_t at = hl__w_section_begin(w, SEC_CLASS_NAMES);
    hl__class_names_write(t, w);
    hl__w_section_end(w, at);
}

static void w_weights(hl__wbuf *w, const hl_model_summary *s)
{
    size_t at = hl__w_section_begin(w, SEC_WEIGHTS);
    hl__w_u64(w, s->rows_weighted);
    hl__w_f64(w, s->max_row_weight);
    hl__w_section_end(w, at);
}

static void w_leaderboard(hl__wbuf *w, const hl_model_summary *s)
{
    size_t at = hl__w_section_begin(w, SEC_LEADERBOARD);
    hl__w_u32(w, (uint32_t)s->n_candidates);
    for (size_t i = 0; i < s->n_candidates; i++) {
        const hl_model_candidate *c = &s->candidates[i];
        hl__w_str(w, c->algo);
        hl__w_u32(w, (uint32_t)c->status);
        hl__w_f64(w, c->macro_f1);
        hl__w_f64(w, c->accuracy);
        hl__w_f64(w, c->seconds);
    }
    hl__w_section_end(w, at);
}

static void w_drift(hl__wbuf *w, const hl__drift_ref *ref)
{
    size_t at = hl__w_section_begin(w, SEC_DRIFT);
    hl__drift_ref_write(ref, w);
    hl__w_section_end(w, at);
}

hl_status hl_model_serialize(const hl_model *m, uint8_t **buf, size_t *len,
                             hl_error *err)
{
    const hl_model_summary *s = &m->summary;
    hl__wbuf w = {0};
    hl__w_bytes(&w, HL__MAGIC, sizeof HL__MAGIC);
    hl__w_u32(&w, format_version_of(m));
    size_t count_at = w.len;
    hl__w_u32(&w, 0);
    size_t body_len_at = w.len;
    hl__w_u64(&w, 0);
    w_meta(&w, s);
    w_params(&w, &s->params, &m->learner->info);
    w_names(&w, SEC_FEATURES, s->feature_names, s->n_features, NULL);
    w_names(&w, SEC_CLASSES, s->class_names, s->n_classes, s->class_counts);
    if (s->kpi_signal)
        w_screen(&w, m);
    if (m->families)
        w_families(&w, m->families);
    m->learner->write(m->fitted.state, &w);
    w_curve(&w, s);
    w_metrics(&w, s);
    w_importance(&w, s);
    if (s->rows_weighted)
        w_weights(&w, s);
    if (m->normal)
        w_normal(&w, m->normal);
    if (hl_model_class_names(m))
        w_class_names(&w, m->class_info);
    if (s->n_candidates)
        w_leaderboard(&w, s);
    if (m->drift)
        w_drift(&w, m->drift);
    if (m->fingerprint) {
        size_t at = hl__w_section_begin(&w, SEC_FINGERPRINT);
        hl__fingerprint_write(m->fingerprint, &w);
        hl__w_section_end(&w, at);
    }
    if (!w.failed) {
        const uint8_t count[4] = {(uint8_t)w.sections, (uint8_t)(w.sections >> 8),
                                  (uint8_t)(w.sections >> 16),
                                  (uint8_t)(w.sections >> 24)};
        memcpy(w.p + count_at, count, sizeof count);
    }
    hl__w_patch_u64(&w, body_len_at, (uint64_t)(w.len - HL__HEADER_BYTES));
    if (!w.failed)
        hl__w_u32(&w, hl__crc32(w.p, w.len));
    if (w.failed) {
        free(w.p);
        return hl__fail(err, HL_ERR_NOMEM, "out of memory writing the model");
    }
    *buf = w.p;
    *len = w.len;
    return HL_OK;
}

/* ---- reader ---- */

typedef struct loader {
    hl__io_ctx io;
    hl_model *m;
    uint32_t version;
    unsigned seen; /* bit per container section tag */
    int learner_sections; /* learner's sections read so far */
} loader;

static hl_status corrupt(loader *ld, const char *what)
{
    return hl__io_corrupt(&ld->io, what);
}

/* The training counters both formats write in the same order, from
 * rows_read to train_seconds; a short read sets r->failed. */
static void read_summary_counters(hl_model_summary *s, hl__rbuf *r)
{
    s->rows_read = hl__r_u64(r);
    s->rows_skipped_no_label = hl__r_u64(r);
    s->duplicate_rows = hl__r_u64(r);
    s->conflicting_duplicates = hl__r_u64(r);
    s->rows_train = hl__r_u64(r);
    s->rows_validation = hl__r_u64(r);
    s->iterations_done = hl__r_u64(r);
    s->best_iteration = hl__r_u64(r);
    s->train_seconds = hl__r_f64(r);
}

static hl_status read_meta(loader *ld, hl__rbuf *r)
{
    hl_model_summary *s = &ld->m->summary;
    char *algo = hl__r_str(r), *version = hl__r_str(r);
    s->created_unix = (int64_t)hl__r_u64(r);
    read_summary_counters(s, r);
    hl_status rc = r->failed ? corrupt(ld, "metadata section too short")
                             : hl__model_set_learner(ld->m, algo, &ld->io);
    if (rc == HL_OK)
        snprintf(s->healer_version, sizeof s->healer_version, "%s", version);
    free(algo);
    free(version);
    return rc;
}

static hl_status read_meta_v1(loader *ld, hl__rbuf *r)
{
    hl_status rc = hl__read_meta_v1(ld->m, r, &ld->io);
    if (rc != HL_OK)
        return rc;
    read_summary_counters(&ld->m->summary, r);
    return r->failed ? corrupt(ld, "metadata section too short") : HL_OK;
}

/* One PARAMS entry: the value by its recorded type, stored when the name
 * is one of the tables' (a parameter a later version added is skipped). */
static hl_status read_param(loader *ld, hl__rbuf *r)
{
    hl_train_params *p = &ld->m->summary.params;
    char *name = hl__r_str(r), *choice = NULL;
    uint32_t type = hl__r_u32(r);
    hl_param_value v = {0, 0.0};
    if (type == HL_PARAM_REAL)
        v.d = hl__r_f64(r);
    else if (type == HL_PARAM_CHOICE)
        choice = hl__r_str(r);
    else
        v.i = (int64_t)hl__r_u64(r);
    const hl_param_spec *s = name ? hl_train_params_spec(p, name) : NULL;
    int ok = !r->failed && type >= HL_PARAM_INT && type <= HL_PARAM_SEED;
    if (ok && s) {
        if (s->type == HL_PARAM_CHOICE && type == HL_PARAM_CHOICE)
            ok = hl_param_parse(s, choice, &v, NULL) == HL_OK;
        else
            ok = (uint32_t)s->type == type && hl__param_value_fits(s, v);
        if (ok)
            hl__train_params_store(p, s, v);
    }
    free(name);
    free(choice);
    return ok ? HL_OK : corrupt(ld, "parameters");
}

static hl_status read_params(loader *ld, hl__rbuf *r)
{
    /* An entry is at least a name length, a type and a 4-byte value. */
    size_t n = hl__r_count(r, 12, 4096);
    if (r->failed)
        return corrupt(ld, "parameters");
    for (size_t i = 0; i < n; i++) {
        hl_status rc = read_param(ld, r);
        if (rc != HL_OK)
            return rc;
    }
    return HL_OK;
}

static hl_status read_names(loader *ld, hl__rbuf *r, char ***names, size_t *n_out,
                            size_t max, const char *what)
{
    size_t n = hl__r_count(r, 4, max);
    if (r->failed || n == 0)
        return corrupt(ld, what);
    char **v = calloc(n, sizeof *v);
    if (!v)
        return hl__fail(ld->io.err, HL_ERR_NOMEM, "out of memory");
    *names = v;
    *n_out = n;
    for (size_t i = 0; i < n; i++)
        if (!(v[i] = hl__r_str(r)))
            return corrupt(ld, what);
    return HL_OK;
}

static hl_status read_classes(loader *ld, hl__rbuf *r)
{
    hl_model_summary *s = &ld->m->summary;
    hl_status rc = read_names(ld, r, &s->class_names, &s->n_classes, 64,
                              "class table");
    if (rc != HL_OK)
        return rc;
    if (s->n_classes < 2)
        return corrupt(ld, "fewer than two classes");
    s->class_counts = calloc(s->n_classes, sizeof *s->class_counts);
    if (!s->class_counts)
        return hl__fail(ld->io.err, HL_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < s->n_classes; k++)
        s->class_counts[k] = hl__r_u64(r);
    return r->failed ? corrupt(ld, "class counts") : HL_OK;
}

static hl_status read_curve(loader *ld, hl__rbuf *r)
{
    hl_model_summary *s = &ld->m->summary;
    uint64_t n = hl__r_u64(r);
    if (r->failed || n > (r->len - r->pos) / 16)
        return corrupt(ld, "training curve");
    s->curve_len = (size_t)n;
    s->curve_train_loss = malloc((n + 1) * sizeof(double));
    s->curve_valid_loss = malloc((n + 1) * sizeof(double));
    if (!s->curve_train_loss || !s->curve_valid_loss)
        return hl__fail(ld->io.err, HL_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        s->curve_train_loss[i] = hl__r_f64(r);
    for (size_t i = 0; i < n; i++)
        s->curve_valid_loss[i] = hl__r_f64(r);
    return r->failed ? corrupt(ld, "training curve") : HL_OK;
}

static hl_status read_metrics_body(loader *ld, hl__rbuf *r, hl_metrics *m)
{
    size_t K = hl__r_count(r, 0, 64);
    if (r->failed || K != ld->m->summary.n_classes ||
        !hl__r_need(r, 8 + 6 * 8 + K * 40 + K * K * 8))
        return corrupt(ld, "metrics");
    m->n_classes = K;
    m->n_samples = hl__r_u64(r);
    m->accuracy = hl__r_f64(r);
    m->macro_precision = hl__r_f64(r);
    m->macro_recall = hl__r_f64(r);
    m->macro_f1 = hl__r_f64(r);
    m->weighted_f1 = hl__r_f64(r);
    m->log_loss = hl__r_f64(r);
    m->per_class = calloc(K, sizeof *m->per_class);
    m->confusion = calloc(K * K, sizeof *m->confusion);
    if (!m->per_class || !m->confusion)
        return hl__fail(ld->io.err, HL_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < K; k++) {
        hl_class_metrics *c = &m->per_class[k];
        c->precision = hl__r_f64(r);
        c->recall = hl__r_f64(r);
        c->f1 = hl__r_f64(r);
        c->support = hl__r_u64(r);
        c->predicted = hl__r_u64(r);
    }
    for (size_t i = 0; i < K * K; i++)
        m->confusion[i] = hl__r_u64(r);
    return r->failed ? corrupt(ld, "metrics") : HL_OK;
}

static hl_status read_metrics(loader *ld, hl__rbuf *r)
{
    hl_model_summary *s = &ld->m->summary;
    hl_status rc;
    s->has_validation = hl__r_u32(r) != 0;
    if (s->has_validation &&
        (rc = read_metrics_body(ld, r, &s->validation)) != HL_OK)
        return rc;
    s->cv_folds = hl__r_u32(r);
    if (r->failed)
        return corrupt(ld, "metrics");
    if (s->cv_folds > 1 && (rc = read_metrics_body(ld, r, &s->cv)) != HL_OK)
        return rc;
    return HL_OK;
}

static hl_status read_importance(loader *ld, hl__rbuf *r)
{
    hl_model_summary *s = &ld->m->summary;
    size_t nf = hl__r_count(r, 12, 10000000);
    if (r->failed || nf != s->n_features)
        return corrupt(ld, "feature importance");
    s->importance_gain = calloc(nf, sizeof *s->importance_gain);
    s->importance_splits = calloc(nf, sizeof *s->importance_splits);
    if (!s->importance_gain || !s->importance_splits)
        return hl__fail(ld->io.err, HL_ERR_NOMEM, "out of memory");
    for (size_t f = 0; f < nf; f++)
        s->importance_gain[f] = hl__r_f64(r);
    for (size_t f = 0; f < nf; f++)
        s->importance_splits[f] = hl__r_u32(r);
    return r->failed ? corrupt(ld, "feature importance") : HL_OK;
}

static hl_status read_leaderboard(loader *ld, hl__rbuf *r)
{
    hl_model_summary *s = &ld->m->summary;
    /* A candidate takes at least its name's length and 28 bytes. */
    size_t n = hl__r_count(r, 32, HL_MAX_CANDIDATES), chosen = 0;
    if (r->failed || n == 0)
        return corrupt(ld, "leaderboard");
    if (!(s->candidates = calloc(n, sizeof *s->candidates)))
        return hl__fail(ld->io.err, HL_ERR_NOMEM, "out of memory");
    s->n_candidates = n;
    for (size_t i = 0; i < n; i++) {
        hl_model_candidate *c = &s->candidates[i];
        char *algo = hl__r_str(r);
        uint32_t status = hl__r_u32(r);
        c->macro_f1 = hl__r_f64(r);
        c->accuracy = hl__r_f64(r);
        c->seconds = hl__r_f64(r);
        const hl_learner_info *li = algo ? hl_learner_find(algo) : NULL;
        int scored = status == HL_CANDIDATE_TRIED ||
                     status == HL_CANDIDATE_CHOSEN;
        int ok = li && status <= HL_CANDIDATE_FAILED && c->seconds >= 0 &&
                 c->seconds < 1e9 &&
                 (scored ? c->macro_f1 >= 0 && c->macro_f1 <= 1 &&
                               c->accuracy >= 0 && c->accuracy <= 1
                         : isnan(c->macro_f1) && isnan(c->accuracy));
        if (ok)
            snprintf(c->algo, sizeof c->algo, "%s", li->name);
        c->status = (hl_candidate_status)status;
        free(algo);
        if (!ok || r->failed)
            return corrupt(ld, "leaderboard");
        /* The chosen one is the model's learner, once. */
        if (status == HL_CANDIDATE_CHOSEN &&
            (chosen++ || strcmp(c->algo, s->algo) != 0))
            return corrupt(ld, "leaderboard");
    }
    return chosen == 1 ? HL_OK : corrupt(ld, "leaderboard");
}

/* The screening: before the learner's sections, which are shaped by it. */
static hl_status read_screen(loader *ld, hl__rbuf *r)
{
    hl_model *m = ld->m;
    hl_model_summary *s = &m->summary;
    const size_t nf = s->n_features;
    /* before the learner's sections (their shape) and the families (their
     * members must be read) */
    if (ld->learner_sections > 0 || m->families)
        return corrupt(ld, "sections out of order");
    if (hl__r_u32(r) != nf || r->failed || !hl__r_need(r, nf * 8))
        return corrupt(ld, "KPI screening");
    s->kpi_signal = malloc(nf * sizeof *s->kpi_signal);
    s->kpi_kept = calloc(nf, 1);
    if (!s->kpi_signal || !s->kpi_kept)
        return hl__fail(ld->io.err, HL_ERR_NOMEM, "out of memory");
    for (size_t j = 0; j < nf; j++) {
        s->kpi_signal[j] = hl__r_f64(r);
        if (!(s->kpi_signal[j] >= 0.0 && s->kpi_signal[j] <= 1.0))
            return corrupt(ld, "KPI screening");
    }
    size_t n_kept = hl__r_count(r, 4, nf);
    if (r->failed || n_kept == 0 || n_kept > nf)
        return corrupt(ld, "KPI screening");
    if (!(m->kept = malloc(n_kept * sizeof *m->kept)))
        return hl__fail(ld->io.err, HL_ERR_NOMEM, "out of memory");
    for (size_t j = 0; j < n_kept; j++) {
        m->kept[j] = hl__r_u32(r);
        if (r->failed || m->kept[j] >= nf || (j && m->kept[j] <= m->kept[j - 1]))
            return corrupt(ld, "KPI screening");
        s->kpi_kept[m->kept[j]] = 1;
    }
    m->n_kept = s->n_kept = n_kept;
    if (n_kept == nf) { /* every KPI kept: the learner reads them all */
        free(m->kept);
        m->kept = NULL;
        m->n_kept = 0;
    }
    return HL_OK;
}

static hl_status read_families(loader *ld, hl__rbuf *r)
{
    hl_model *m = ld->m;
    hl_model_summary *s = &m->summary;
    if (ld->learner_sections > 0)
        return corrupt(ld, "sections out of order");
    hl_status rc = hl__families_read(r, s->n_features, &ld->io, &m->families);
    if (rc != HL_OK)
        return rc;
    const hl__families *fam = m->families;
    if (!(s->kpi_family = malloc(s->n_features * sizeof *s->kpi_family)))
        return hl__fail(ld->io.err, HL_ERR_NOMEM, "out of memory");
    if (!hl__families_by_kpi(fam, s->n_features, s->kpi_family))
        return corrupt(ld, "KPI families"); /* a KPI in two families */
    for (size_t i = 0; i < hl__families_members(fam); i++)
        if (s->kpi_kept && !s->kpi_kept[fam->kpi[i]])
            return corrupt(ld, "KPI families"); /* a KPI the model ignores */
    s->n_families = fam->n;
    return HL_OK;
}

static hl_status read_container_section(loader *ld, uint32_t tag,
                                        hl__rbuf *r)
{
    hl_model_summary *s = &ld->m->summary;
    switch (tag) {
    case SEC_META:
        return ld->version == 1 ? read_meta_v1(ld, r) : read_meta(ld, r);
    case SEC_PARAMS: return read_params(ld, r);
    case SEC_FEATURES:
        return read_names(ld, r, &s->feature_names, &s->n_features, 10000000,
                          "feature names");
    case SEC_CLASSES: return read_classes(ld, r);
    case SEC_CURVE: return read_curve(ld, r);
    case SEC_METRICS: return read_metrics(ld, r);
    case SEC_IMPORTANCE: return read_importance(ld, r);
    case SEC_SCREEN: return read_screen(ld, r);
    case SEC_FAMILIES: return read_families(ld, r);
    case SEC_NORMAL: {
        hl_status rc =
            hl__normal_read(r, s->n_features, &ld->io, &ld->m->normal);
        if (rc == HL_OK && hl__normal_into_summary(ld->m->normal, s) != HL_OK)
            rc = hl__fail(ld->io.err, HL_ERR_NOMEM, "out of memory");
        return rc;
    }
    case SEC_LEADERBOARD: return read_leaderboard(ld, r);
    case SEC_CLASS_NAMES:
        return hl__class_names_read(r, s, &ld->io, &ld->m->class_info);
    case SEC_WEIGHTS:
        s->rows_weighted = (size_t)hl__r_u64(r);
        s->max_row_weight = hl__r_f64(r);
        return r->failed || s->rows_weighted == 0 ||
                       !(s->max_row_weight > 0 &&
                         s->max_row_weight <= HL_FEEDBACK_WEIGHT_MAX)
                   ? corrupt(ld, "row weights")
                   : HL_OK;
    case SEC_DRIFT:
        return hl__drift_ref_read(r, s->n_features, s->n_classes, &ld->io,
                                  &ld->m->drift);
    case SEC_FINGERPRINT:
        return hl__fingerprint_read(r, &ld->io, &ld->m->fingerprint);
    }
    return HL_OK;
}

/* Tags the container owns, and what each needs read before it: names
 * before the tables sized by them, the learner (META) before its
 * parameters and sections. */
static unsigned container_needs(uint32_t tag, int *owned)
{
    static const unsigned NEEDS[] = {
        [SEC_META] = 0,
        [SEC_FEATURES] = 1u << SEC_META,
        [SEC_CLASSES] = 1u << SEC_META,
        [SEC_CURVE] = 1u << SEC_META,
        [SEC_METRICS] = 1u << SEC_CLASSES,
        [SEC_IMPORTANCE] = 1u << SEC_FEATURES,
        [SEC_PARAMS] = 1u << SEC_META,
        [SEC_DRIFT] = 1u << SEC_FEATURES | 1u << SEC_CLASSES,
        [SEC_SCREEN] = 1u << SEC_FEATURES | 1u << SEC_CLASSES,
        [SEC_WEIGHTS] = 1u << SEC_META,
        [SEC_LEADERBOARD] = 1u << SEC_META,
        [SEC_FAMILIES] = 1u << SEC_FEATURES | 1u << SEC_CLASSES,
        [SEC_NORMAL] = 1u << SEC_FEATURES,
        [SEC_CLASS_NAMES] = 1u << SEC_CLASSES,
        [SEC_FINGERPRINT] = 1u << SEC_FEATURES,
    };
    *owned = tag == SEC_META || tag == SEC_FEATURES || tag == SEC_CLASSES ||
             tag == SEC_CURVE || tag == SEC_METRICS || tag == SEC_IMPORTANCE ||
             tag == SEC_PARAMS || tag == SEC_DRIFT || tag == SEC_SCREEN ||
             tag == SEC_WEIGHTS || tag == SEC_LEADERBOARD ||
             tag == SEC_FAMILIES || tag == SEC_NORMAL ||
             tag == SEC_CLASS_NAMES ||
             tag == SEC_FINGERPRINT;
    return *owned ? NEEDS[tag] : 1u << SEC_META | 1u << SEC_FEATURES |
                                     1u << SEC_CLASSES;
}

static hl_status read_section(loader *ld, uint32_t tag, hl__rbuf *r)
{
    int owned;
    const unsigned needs = container_needs(tag, &owned);
    if (owned && (ld->seen & (1u << tag)))
        return corrupt(ld, "repeated section");
    if ((ld->seen & needs) != needs)
        return corrupt(ld, "sections out of order");
    if (!owned) {
        hl__model_shape shape = hl__model_shape_of(ld->m);
        ld->learner_sections++;
        return ld->m->learner->read_section(&ld->m->fitted, tag, r, &shape,
                                            &ld->io);
    }
    ld->seen |= 1u << tag;
    return read_container_section(ld, tag, r);
}

/* Every container section, PARAMS from version 2 on; then the learner
 * says whether it has all of its own. */
static hl_status finish(loader *ld)
{
    unsigned required = 1u << SEC_META | 1u << SEC_FEATURES |
                        1u << SEC_CLASSES | 1u << SEC_CURVE |
                        1u << SEC_METRICS | 1u << SEC_IMPORTANCE;
    if (ld->version >= 2)
        required |= 1u << SEC_PARAMS;
    if ((ld->seen & required) != required)
        return corrupt(ld, "a required section is missing");
    hl_model *m = ld->m;
    hl__model_shape shape = hl__model_shape_of(m);
    hl_status rc = m->learner->read_finish(&m->fitted, &shape, &ld->io);
    if (rc == HL_OK) {
        m->summary.n_trees = m->fitted.n_trees;
        m->summary.has_oob = m->fitted.has_oob;
        m->summary.oob_rows = m->fitted.oob_rows;
        m->summary.oob_macro_f1 = m->fitted.oob_macro_f1;
        m->summary.oob_accuracy = m->fitted.oob_accuracy;
        m->summary.n_members = m->fitted.n_members;
        m->summary.members = m->fitted.members;
        if (!m->kept)
            m->summary.n_kept = m->summary.n_features;
    }
    return rc;
}

static hl_status check_header(loader *ld, const uint8_t *buf, size_t len)
{
    if (len < HL__HEADER_BYTES || memcmp(buf, HL__MAGIC, sizeof HL__MAGIC) != 0)
        return hl__fail(ld->io.err, HL_ERR_FORMAT,
                        "%s: not a SystemHealer model file (bad magic)",
                        ld->io.name);
    hl__rbuf h = {buf, len, 8, 0};
    uint32_t version = hl__r_u32(&h);
    (void)hl__r_u32(&h); /* section count: informational */
    uint64_t body = hl__r_u64(&h);
    if (version == 0)
        return corrupt(ld, "format version 0");
    ld->version = version;
    if (version > HL_MODEL_FORMAT_VERSION)
        return hl__fail(ld->io.err, HL_ERR_VERSION,
                        "%s: model file format version %u is newer than this "
                        "healer %s supports (version %u); upgrade healer",
                        ld->io.name, version, hl_version(),
                        HL_MODEL_FORMAT_VERSION);
    if (body != len - HL__HEADER_BYTES - 4 || len < HL__HEADER_BYTES + 4)
        return hl__fail(ld->io.err, HL_ERR_FORMAT,
                        "%s: model file is truncated or has trailing bytes "
                        "(%zu bytes, header says %llu)",
                        ld->io.name, len,
                        (unsigned long long)(body + HL__HEADER_BYTES + 4));
    hl__rbuf t = {buf, len, len - 4, 0};
    uint32_t stored = hl__r_u32(&t);
    if (hl__crc32(buf, len - 4) != stored)
        return hl__fail(ld->io.err, HL_ERR_FORMAT,
                        "%s: model file checksum mismatch (the file is "
                        "corrupted)",
                        ld->io.name);
    return HL_OK;
}


hl_status hl_model_deserialize(const uint8_t *buf, size_t len, const char *name,
                               hl_model **out, hl_error *err)
{
    *out = NULL;
    loader ld = {{name ? name : "<model>", err, hl__learner_find}, NULL, 0, 0, 0};
    hl_status rc = check_header(&ld, buf, len);
    if (rc != HL_OK)
        return rc;
    if (!(ld.m = hl__model_alloc()))
        return hl__fail(err, HL_ERR_NOMEM, "out of memory");
    hl__rbuf r = {buf, len - 4, HL__HEADER_BYTES, 0};
    while (r.pos < r.len) {
        uint32_t tag = hl__r_u32(&r);
        (void)hl__r_u32(&r);
        uint64_t n = hl__r_u64(&r);
        if (r.failed || n > r.len - r.pos) {
            rc = corrupt(&ld, "section length");
            goto fail;
        }
        hl__rbuf sec = {buf + r.pos, (size_t)n, 0, 0};
        if ((rc = read_section(&ld, tag, &sec)) != HL_OK)
            goto fail;
        r.pos += (size_t)n;
    }
    if ((rc = finish(&ld)) != HL_OK)
        goto fail;
    *out = ld.m;
    return HL_OK;
fail:
    hl_model_free(ld.m);
    return rc;
}

/* ---- files ---- */

hl_status hl_model_save(const hl_model *m, const char *path, hl_error *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    hl_status rc = hl_model_serialize(m, &buf, &len, err);
    if (rc != HL_OK)
        return rc;
    hl__atomic_file af;
    if ((rc = hl__atomic_open(&af, path, err)) == HL_OK) {
        if (fwrite(buf, 1, len, af.f) == len)
            rc = hl__atomic_commit(&af, err);
        else {
            rc = hl__fail_io(err, path, "cannot write the file", errno);
            hl__atomic_abort(&af);
        }
    }
    free(buf);
    return rc;
}

hl_status hl_model_load(const char *path, hl_model **out, hl_error *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return hl__fail_io(err, path, "cannot open the model file", errno);
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return hl__fail(err, HL_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > HL__MAX_MODEL_BYTES) {
        close(fd);
        return hl__fail(err, HL_ERR_LIMIT, "%s: model file larger than 4 GiB",
                        path);
    }
    size_t len = (size_t)st.st_size;
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) {
        close(fd);
        return hl__fail(err, HL_ERR_NOMEM, "out of memory reading %s", path);
    }
    size_t got = 0;
    while (got < len) {
        ssize_t k = read(fd, buf + got, len - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fd);
    hl_status rc = got == len
                       ? hl_model_deserialize(buf, len, path, out, err)
                       : hl__fail(err, HL_ERR_IO, "%s: read failed", path);
    free(buf);
    return rc;
}
