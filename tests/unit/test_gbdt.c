/* test_gbdt.c - the GBDT's own structures, below the learner interface:
 * what the public tests cannot build. A tree bounded only by max_leaves
 * (max_depth 0) may be a chain far deeper than the 64 levels max_depth
 * allows; prediction must walk all of it (it once stopped at depth 254). */
#include <math.h>

#include "testutil.h"

#include "learners/gbdt/gbdt.h"

/* A chain of `depth` splits on feature 0 at 0.5: going left at level k
 * ends in a leaf of value -k; going right all the way ends in 7. */
static hl__gbdt_model *build_chain(uint32_t depth)
{
    hl__gbdt_model *m = calloc(1, sizeof *m);
    assert_non_null(m);
    m->n_features = 1;
    m->n_outputs = 1;
    m->base_score = calloc(1, sizeof *m->base_score);
    m->n_trees = 1;
    m->trees = calloc(1, sizeof *m->trees);
    hl__tree *t = &m->trees[0];
    t->n_nodes = 2 * depth + 1;
    t->nodes = calloc(t->n_nodes, sizeof *t->nodes);
    t->split_bin = calloc(t->n_nodes, 1);
    t->gain = calloc(t->n_nodes, sizeof *t->gain);
    t->cover = calloc(t->n_nodes, sizeof *t->cover);
    assert_non_null(t->nodes);
    for (uint32_t k = 0; k < depth; k++) {
        t->nodes[2 * k] = (hl__node){0, 0.5f, 2 * k + 1};
        t->nodes[2 * k + 1] = (hl__node){HL__LEAF, -(float)k, 0};
    }
    t->nodes[2 * depth] = (hl__node){HL__LEAF, 7.0f, 0};
    return m;
}

static void deep_trees_are_walked_to_their_leaves(void **state)
{
    (void)state;
    static const uint32_t DEPTHS[] = {1, 64, 254, 255, 300, 5000};
    for (size_t i = 0; i < sizeof DEPTHS / sizeof DEPTHS[0]; i++) {
        hl__gbdt_model *m = build_chain(DEPTHS[i]);
        assert_int_equal(hl__gbdt_prepare(m), HL_OK);
        hl__model_shape shape = {1, 2};
        float x[3] = {1.0f, 0.0f, NAN};
        double raw[3];
        assert_int_equal(hl__gbdt_predict_raw(m, &shape, x, 3, raw), HL_OK);
        assert_true(raw[0] == 7.0);  /* right all the way down */
        assert_true(raw[1] == 0.0);  /* left at the first split: leaf 0 */
        assert_true(raw[2] == 7.0);  /* missing goes right (no default-left) */
        hl__gbdt_model_free(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(deep_trees_are_walked_to_their_leaves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
