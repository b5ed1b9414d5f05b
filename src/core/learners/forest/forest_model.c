/* forest_model.c - a forest model's lifetime and its view as a fitted
 * learner.
 *
 * Fitting (forest_fit.c) and reading (forest_io.c) both make a model and
 * free it on failure; the learner's table (forest.c) frees it too. Kept
 * apart so that those three files depend on this one and not on each
 * other.
 */
#include <stdlib.h>

#include "forest.h"

void hl__forest_model_free(void *state)
{
    hl__forest_model *m = state;
    if (!m)
        return;
    for (size_t t = 0; m->trees && t < m->n_trees; t++)
        hl__ftree_free(&m->trees[t]);
    free(m->trees);
    hl__flat_free(&m->flat);
    hl__shap_free(atomic_load(&m->explainer));
    free(m);
}

void hl__forest_fitted(hl__forest_model *m, hl__fitted *f)
{
    *f = (hl__fitted){.state = m,
                      .n_outputs = m->n_classes,
                      .link = HL__LINK_PROBA,
                      .n_trees = m->n_trees,
                      .has_oob = m->oob.has,
                      .oob_rows = m->oob.rows,
                      .oob_macro_f1 = m->oob.macro_f1,
                      .oob_accuracy = m->oob.accuracy};
}
