/* families.h - KPI families: KPIs that move together across the fault
 * classes, averaged into one extra input each.
 *
 * Several KPIs often measure one mechanism (a node's CPU, its load, its
 * run queue); each is noisy and each can drift on its own in deployment
 * (a counter renamed, a unit changed). Their average leans on all of them
 * at once, so one member that moves alone moves it by a fraction. A
 * family is found from the training rows alone: each KPI is put on a
 * common, scale-free footing (signed log, then centred on its median and
 * divided by its interquartile range: the KPIs span 1e-4..1e17 and are
 * often negative), its class profile is the median of that per class,
 * and KPIs whose profiles correlate at least at the threshold - every
 * pair of them, complete linkage, a member's sign flipped when it moves
 * against the others - form a family of two or more. A family's input is
 * the mean of its members' aligned, scaled values that are present (NaN
 * when none is). The model keeps the KPIs too: the learner is free to use
 * the family, a member or both, and cross-validation says whether the
 * option helps (docs/benchmarks.md, "Robustness to deployment shift").
 *
 * Built by training (train.c) on each fit's own rows, like the KPI
 * screening it follows; stored as a container section (model_io.c).
 */
#ifndef HEALER_FAMILIES_H
#define HEALER_FAMILIES_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "healer/error.h"

/* Bounds of the shared option `families` (the correlation threshold):
 * below it, with a handful of classes, unrelated KPIs' profiles
 * correlate by chance, and members' signs stop being consistent. */
#define HL__FAMILIES_MIN_CORR 0.7
#define HL__FAMILIES_MAX_CORR 0.999

/* With two classes every centred profile is +-(1, -1): all KPIs with
 * signal would correlate perfectly and form one family. Families need
 * at least this many classes (fewer: none is found). */
#define HL__FAMILIES_MIN_CLASSES 3

/* A KPI joins a family only if its class medians span at least this many
 * of its interquartile ranges: the profile of a KPI without class signal
 * is sampling noise, which normalising to unit length would turn into a
 * direction like any other. */
#define HL__FAMILIES_MIN_PROFILE_RANGE 0.25

/* At most this many candidates are clustered (their similarity matrix is
 * m x m doubles: 8 MiB here, where a file's 10,000 KPIs would need 800
 * MiB): with more joinable ones, those whose class profiles span the most
 * are kept - the KPIs with the most class signal, which are the ones a
 * family helps. */
#define HL__FAMILIES_MAX_CANDIDATES 1024

typedef struct hl__families {
    size_t n; /* families, >= 1 */
    uint32_t
        *first;    /* n + 1: family f's members are [first[f], first[f + 1]) */
    uint32_t *kpi; /* members' KPI columns; ascending within a family */
    float *sign;   /* +1 or -1 */
    float *center; /* median of the signed log over the training rows */
    float *scale;  /* its interquartile range (> 0) */
} hl__families;

/* The families among candidate KPIs cand[0..n_cand) (ascending) of x
 * (row-major, nf columns, NAN = missing) over dataset rows rows[0..n) with
 * labels y (0..n_classes-1), at profile correlation >= threshold. A constant
 * candidate joins none, nor one whose class medians lie closer together
 * than HL__FAMILIES_MIN_PROFILE_RANGE; of more than
 * HL__FAMILIES_MAX_CANDIDATES joinable ones, the strongest are clustered.
 * *out is NULL when there are none.
 * HL_ERR_NOMEM is the only failure. */
hl_status hl__families_find(const float *x, size_t nf, const int32_t *y,
                            size_t n_classes, const size_t *rows, size_t n,
                            const uint32_t *cand, size_t n_cand,
                            double threshold, hl__families **out);

/* Family f's input for one row of nf KPIs. */
float hl__family_value(const hl__families *fam, size_t f, const float *row);

/* Members in all (first[n]). */
static inline size_t hl__families_members(const hl__families *fam)
{
    return fam->first[fam->n];
}

/* Each KPI's family into family_of[nf] (-1: none). Returns 0 when a KPI
 * is in two families. */
int hl__families_by_kpi(const hl__families *fam, size_t nf, int32_t *family_of);

/* A copy, or NULL (out of memory). */
hl__families *hl__families_copy(const hl__families *fam);

void hl__families_free(hl__families *fam);

/* The section's payload: u32 n, u32 members, u32 size[n], per member u32
 * kpi, f32 sign, f32 center, f32 scale. */
void hl__families_write(const hl__families *fam, hl__wbuf *w);

/* Reads that payload for a model of nf KPIs; refuses (HL_ERR_FORMAT
 * through io) a family of fewer than two members, a KPI out of range or
 * out of order, a sign other than +-1, a centre that is not finite or a
 * scale that is not positive, and counts the bytes left cannot hold. */
hl_status hl__families_read(hl__rbuf *r, size_t nf, const hl__io_ctx *io,
                            hl__families **out);

#endif
