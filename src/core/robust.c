/* robust.c - shared statistics of KPI values (see robust.h). */
#include "robust.h"

double hl__sorted_quantile(const float *v, size_t n, double q)
{
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)pos;
    if (lo + 1 >= n)
        return v[n - 1];
    double frac = pos - (double)lo;
    return (double)v[lo] + frac * ((double)v[lo + 1] - (double)v[lo]);
}
