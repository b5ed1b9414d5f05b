/* container.h - struct hl_model: a summary plus a fitted learner.
 *
 * The model container is what training produces, files hold and
 * prediction reads; it knows its learner only through the learner
 * interface (learner.h), so the same container holds boosted trees today
 * and forests or MLPs later. Everything outside the engine sees it only
 * through healer/model.h.
 */
#ifndef HEALER_CONTAINER_H
#define HEALER_CONTAINER_H

#include "drift_ref.h"
#include "families.h"
#include "fingerprint.h"
#include "healer/classnames.h"
#include "healer/model.h"
#include "inputs.h"
#include "learner.h"
#include "normal.h"

struct hl_model {
    hl_model_summary summary;
    const hl__learner *learner; /* the registry's entry for summary.algo */
    hl__fitted fitted;          /* owned; freed with learner->free */
    hl__drift_ref *drift;       /* owned; NULL for a model older than it */
    /* KPI screening (screen.h): the features the learner reads, in
     * ascending order; NULL when it reads all of them. */
    uint32_t *kept;
    size_t n_kept;
    /* KPI families (families.h): their inputs follow the kept KPIs';
     * NULL when the model has none. Owned. */
    hl__families *families;
    /* Normal ranges (healer/normal.h); NULL for a model older than them.
     * Owned. */
    hl__normal *normal;
    /* Class names, descriptions and first actions (healer/classnames.h);
     * NULL when it carries none. Owned. */
    hl_class_names *class_info;
    /* Hashes of a sample of the training rows (fingerprint.h); NULL for
     * a model older than them. Owned. */
    hl__fingerprint *fingerprint;
};

/* A zeroed model, or NULL. */
hl_model *hl__model_alloc(void);

void hl__summary_free(hl_model_summary *s);

/* ---- model files (model_io.c, model_io_v1.c) ---- */

/* (classnames.c) The CLASS_NAMES section: u32 n, per entry str label,
 * name, description, action. Reading holds each entry to
 * hl_class_names_add's rules and its labels to s's classes; anything else
 * is a corrupt file. */
void hl__class_names_write(const hl_class_names *t, hl__wbuf *w);
hl_status hl__class_names_read(hl__rbuf *r, const hl_model_summary *s,
                               const hl__io_ctx *io, hl_class_names **out);

/* (model.c) Sets m's learner (and summary algo, parameters at their defaults)
 * from the algo a file names; HL_ERR_FORMAT for a name no learner has. */
hl_status hl__model_set_learner(hl_model *m, const char *algo,
                                const hl__io_ctx *io);

/* (model_io_v1.c) The META section of a format version 1 file up to the
 * training counters, which follow in version 2's order and which
 * model_io.c reads for both formats (so that this file needs nothing of
 * model_io.c, which calls it). */
hl_status hl__read_meta_v1(hl_model *m, hl__rbuf *r, const hl__io_ctx *io);

/* (predict.c) The column of ds feeding each of m's features, src[j] for
 * feature j: a feature ds lacks is HL_ERR_DATA naming it (err->column);
 * each column m does not use adds a warning to *warn (may be NULL). */
hl_status hl__model_map_features(const hl_model *m, const hl_dataset *ds,
                                 size_t *src, hl_warnings *warn,
                                 hl_error *err);

/* What its learner reads of a row of the model's KPIs. */
static inline hl__inputs hl__model_inputs(const hl_model *m)
{
    return (hl__inputs){m->kept, m->n_kept, m->families};
}

/* The shape its learner sees: the kept KPIs, then the families. */
static inline hl__model_shape hl__model_shape_of(const hl_model *m)
{
    hl__inputs in = hl__model_inputs(m);
    return (hl__model_shape){hl__inputs_width(&in, m->summary.n_features),
                             m->summary.n_classes};
}

#endif
