/* robust.c - shared statistics of KPI values (see robust.h). */
#include "robust.h"

int hl__cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

double hl__sorted_quantile(const float *v, size_t n, double q)
{
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)pos;
    if (lo + 1 >= n)
        return v[n - 1];
    double frac = pos - (double)lo;
    return (double)v[lo] + frac * ((double)v[lo + 1] - (double)v[lo]);
}
