/* inputs.c - a learner's rows from KPI rows (see inputs.h). */
#include <string.h>

#include "inputs.h"

void hl__inputs_gather(const hl__inputs *in, const float *x, size_t n_rows,
                       size_t nf, float *out)
{
    const size_t width = hl__inputs_width(in, nf);
    for (size_t i = 0; i < n_rows; i++) {
        const float *row = x + i * nf;
        float *o = out + i * width;
        if (in->kept)
            for (size_t j = 0; j < in->n_kept; j++)
                *o++ = row[in->kept[j]];
        else {
            memcpy(o, row, nf * sizeof *o);
            o += nf;
        }
        for (size_t f = 0; in->families && f < in->families->n; f++)
            *o++ = hl__family_value(in->families, f, row);
    }
}
