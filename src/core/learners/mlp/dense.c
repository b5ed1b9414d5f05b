/* dense.c - the MLP's prediction product: rows x weights, row by row exact.
 *
 * Why not sgemm here: the engine promises that a row's prediction depends
 * on that row alone - not on the rows predicted with it, the chunking or
 * the thread count (learner.h; the service diagnoses one row or a million
 * and must give the same answer). OpenBLAS does not keep that promise:
 * its kernels sum a row's products in an order that depends on where the
 * row falls in the kernel's tiles and on its thread count (measured on
 * this project's machines: about half of the rows of a block differ in
 * their last bits from the same rows computed alone). Training, where
 * only determinism per seed and thread count is asked for, keeps sgemm.
 *
 * So every output is the sum over k of x[k] * w[k][o], summed in
 * ascending k with one fused multiply-add per term, then + b[o]: the same
 * arithmetic whatever the block. Blocks of 6 rows x 16 outputs stay in AVX2
 * registers and reuse each weight load six times; on CPUs without AVX2
 * and FMA the portable loop does the same fused operations with fmaf, so
 * a model predicts the same numbers on every machine.
 */
#include <math.h>
#include <stddef.h>

#include "mlp.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HL__MLP_X86 1
#endif

#define ROWS 6  /* rows per register block */
#define COLS 16 /* outputs per register block: two vectors of 8 */

/* One output of one row, the reference arithmetic every path follows. */
static inline float dot_column(const float *x, const float *w, size_t n_in,
                               size_t n_out, size_t o)
{
    float acc = 0.0f;
    for (size_t k = 0; k < n_in; k++)
        acc = fmaf(x[k], w[k * n_out + o], acc);
    return acc;
}

static void dense_portable(const float *in, size_t n, size_t n_in,
                           const float *w, size_t n_out, float *out)
{
    for (size_t r = 0; r < n; r++)
        for (size_t o = 0; o < n_out; o++)
            out[r * n_out + o] = dot_column(in + r * n_in, w, n_in, n_out, o);
}

#ifdef HL__MLP_X86
/* The 16 weights of input k from column o0: loaded whole, or, for the
 * last columns of a layer, only the `mask`ed lanes (the others read as 0
 * and are never stored). */
#define LOAD_W(k)                                                              \
    const float *wk = w + (k) * n_out + o0;                                    \
    __m256 w0 = full ? _mm256_loadu_ps(wk) : _mm256_maskload_ps(wk, m0);       \
    __m256 w1 = full ? _mm256_loadu_ps(wk + 8) : _mm256_maskload_ps(wk + 8, m1)
#define FMA_ROW(r)                                                             \
    do {                                                                       \
        __m256 xr = _mm256_broadcast_ss(x + (r) * n_in + k);                   \
        a##r##0 = _mm256_fmadd_ps(xr, w0, a##r##0);                           \
        a##r##1 = _mm256_fmadd_ps(xr, w1, a##r##1);                           \
    } while (0)
#define STORE_ROW(r)                                                           \
    do {                                                                       \
        float *dst = out + (r) * n_out + o0;                                   \
        if (full) {                                                            \
            _mm256_storeu_ps(dst, a##r##0);                                    \
            _mm256_storeu_ps(dst + 8, a##r##1);                                \
        } else {                                                               \
            _mm256_maskstore_ps(dst, m0, a##r##0);                             \
            _mm256_maskstore_ps(dst + 8, m1, a##r##1);                         \
        }                                                                      \
    } while (0)

/* Outputs o0..o0+15 of 6 rows from x: twelve accumulators in registers,
 * enough independent sums to keep both FMA pipes busy. Always inlined
 * with a constant `full`, so the loads are plain ones where they can. */
__attribute__((target("avx2,fma"), always_inline)) static inline void
block6(const float *x, size_t n_in, const float *w, size_t n_out, size_t o0,
       int full, __m256i m0, __m256i m1, float *out)
{
    __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00,
           a20 = a00, a21 = a00, a30 = a00, a31 = a00, a40 = a00, a41 = a00,
           a50 = a00, a51 = a00;
    for (size_t k = 0; k < n_in; k++) {
        LOAD_W(k);
        FMA_ROW(0);
        FMA_ROW(1);
        FMA_ROW(2);
        FMA_ROW(3);
        FMA_ROW(4);
        FMA_ROW(5);
    }
    STORE_ROW(0);
    STORE_ROW(1);
    STORE_ROW(2);
    STORE_ROW(3);
    STORE_ROW(4);
    STORE_ROW(5);
}

/* The same for one row (the last rows of a call). */
__attribute__((target("avx2,fma"), always_inline)) static inline void
block1(const float *x, size_t n_in, const float *w, size_t n_out, size_t o0,
       int full, __m256i m0, __m256i m1, float *out)
{
    __m256 a00 = _mm256_setzero_ps(), a01 = a00;
    for (size_t k = 0; k < n_in; k++) {
        LOAD_W(k);
        FMA_ROW(0);
    }
    STORE_ROW(0);
}

/* Lane masks of the columns o0.. that exist (n_left of them, < 16). */
__attribute__((target("avx2,fma"))) static void tail_masks(size_t n_left,
                                                           __m256i *m0,
                                                           __m256i *m1)
{
    int lanes[16];
    for (int i = 0; i < 16; i++)
        lanes[i] = (size_t)i < n_left ? -1 : 0;
    *m0 = _mm256_loadu_si256((const __m256i *)lanes);
    *m1 = _mm256_loadu_si256((const __m256i *)(lanes + 8));
}

__attribute__((target("avx2,fma"))) static void
dense_fma(const float *in, size_t n, size_t n_in, const float *w,
          size_t n_out, float *out)
{
    const size_t full_cols = n_out - n_out % COLS;
    __m256i ones = _mm256_set1_epi32(-1), m0, m1;
    tail_masks(n_out - full_cols, &m0, &m1);
    for (size_t r = 0; r < n;) {
        const float *x = in + r * n_in;
        float *o = out + r * n_out;
        if (n - r >= ROWS) {
            for (size_t c = 0; c < full_cols; c += COLS)
                block6(x, n_in, w, n_out, c, 1, ones, ones, o);
            if (full_cols < n_out)
                block6(x, n_in, w, n_out, full_cols, 0, m0, m1, o);
            r += ROWS;
            continue;
        }
        for (size_t c = 0; c < full_cols; c += COLS)
            block1(x, n_in, w, n_out, c, 1, ones, ones, o);
        if (full_cols < n_out)
            block1(x, n_in, w, n_out, full_cols, 0, m0, m1, o);
        r++;
    }
}

/* Reads the CPU flags libgcc found at start-up: a few instructions. */
static int has_fma(void)
{
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif

/* Bias, then ReLU on hidden layers; `v > 0 ? v : 0` also turns a NaN
 * into 0. */
static void add_bias(float *out, size_t n, const hl__mlp_layer *ly, int relu)
{
    for (size_t i = 0; i < n; i++) {
        float *row = out + i * ly->n_out;
        for (uint32_t o = 0; o < ly->n_out; o++) {
            float v = row[o] + ly->b[o];
            row[o] = relu ? (v > 0.0f ? v : 0.0f) : v;
        }
    }
}

void hl__mlp_dense(const float *in, size_t n, const hl__mlp_layer *ly,
                   int relu, float *out)
{
#ifdef HL__MLP_X86
    if (has_fma())
        dense_fma(in, n, ly->n_in, ly->w, ly->n_out, out);
    else
#endif
        dense_portable(in, n, ly->n_in, ly->w, ly->n_out, out);
    add_bias(out, n, ly, relu);
}

void hl__mlp_dense_portable(const float *in, size_t n, const hl__mlp_layer *ly,
                            int relu, float *out)
{
    dense_portable(in, n, ly->n_in, ly->w, ly->n_out, out);
    add_bias(out, n, ly, relu);
}
