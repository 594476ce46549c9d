/* Vectorised float32 kernels, see include/likeness_kernels.h.
 *
 * exp: Cephes expf scheme (x = n ln2 + r with ln2 split in two constants, degree-6
 *      polynomial, 2^n from exponent bits); ~1-2 ulp, as PyTorch's vectorised exp.
 *      Inputs below -87.34 give 0, NaN propagates.
 * erf: Abramowitz & Stegun 7.1.26 with the exp above (|error| < 1.5e-7), the same
 *      approximation PyTorch's Vectorized<float>::erf uses.
 * Loops are plain C that the compiler vectorises; target_clones builds AVX-512, AVX2 and
 * baseline versions and the loader picks one for the running CPU. */
#include "likeness_kernels.h"
#include "vec16.h"

#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__GLIBC__) || defined(__linux__)
#include <malloc.h>
#endif

#if defined(__x86_64__) && defined(__linux__) && (defined(__clang__) || defined(__GNUC__))
#define LK_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define LK_CLONES
#endif

static inline float lk_expf(float x) {
    const float hi = 88.72283f, lo = -87.33654f;
    float xc = x > hi ? hi : x;
    xc = xc < lo ? lo : xc;
    const float magic = 12582912.0f; /* 1.5 * 2^23: round to nearest even */
    float shifted = xc * 1.44269504088896341f + magic;
    float n = shifted - magic;
    float r = xc - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float r2 = r * r;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float y = p * r2 + r + 1.0f;
    int32_t bits;
    memcpy(&bits, &shifted, sizeof bits);
    int32_t ni = bits - 0x4B400000;
    int32_t half = ni >> 1;
    int32_t b1 = (half + 127) << 23, b2 = (ni - half + 127) << 23;
    float s1, s2;
    memcpy(&s1, &b1, sizeof s1);
    memcpy(&s2, &b2, sizeof s2);
    float result = y * s1 * s2;
    result = x < lo ? 0.0f : result;
    result = x > hi ? INFINITY : result;
    return x != x ? x : result;
}

static inline float lk_erff(float x) {
    const float p = 0.3275911f;
    const float a1 = 0.254829592f, a2 = -0.284496736f, a3 = 1.421413741f, a4 = -1.453152027f, a5 = 1.061405429f;
    float ax = x < 0 ? -x : x;
    float t = 1.0f / (1.0f + p * ax);
    float poly = ((((a5 * t + a4) * t + a3) * t + a2) * t + a1) * t;
    float y = 1.0f - poly * lk_expf(-ax * ax);
    return x < 0 ? -y : y;
}

#define LK_LANES 16

/* Max of n floats; 16 independent lanes so the loop vectorises without reassociation flags. */
static inline float lk_max(const float *x, size_t n) {
    float lane[LK_LANES];
    for (int j = 0; j < LK_LANES; j++) lane[j] = -INFINITY;
    size_t i = 0;
    for (; i + LK_LANES <= n; i += LK_LANES)
        for (int j = 0; j < LK_LANES; j++) lane[j] = x[i + j] > lane[j] ? x[i + j] : lane[j];
    float m = -INFINITY;
    for (int j = 0; j < LK_LANES; j++) m = lane[j] > m ? lane[j] : m;
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

static inline float lk_sum(const float *x, size_t n) {
    float lane[LK_LANES] = {0};
    size_t i = 0;
    for (; i + LK_LANES <= n; i += LK_LANES)
        for (int j = 0; j < LK_LANES; j++) lane[j] += x[i + j];
    float s = 0.0f;
    for (int j = 0; j < LK_LANES; j++) s += lane[j];
    for (; i < n; i++) s += x[i];
    return s;
}

LK_CLONES
void lk_softmax_rows(float *x, size_t rows, size_t cols, size_t stride, const size_t *valid) {
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * stride;
        size_t n = valid ? valid[r] : cols;
        if (n > cols) n = cols;
        float m = lk_max(row, n);
        /* A row holding NaN gives NaN, as torch.softmax does. */
        int hasNaN = 0;
        for (size_t i = 0; i < n; i++) hasNaN |= row[i] != row[i];
        if (hasNaN) m = NAN;
        for (size_t i = 0; i < n; i++) row[i] = lk_expf(row[i] - m);
        float inv = 1.0f / lk_sum(row, n);
        for (size_t i = 0; i < n; i++) row[i] *= inv;
        for (size_t i = n; i < cols; i++) row[i] = 0.0f;
    }
}

LK_CLONES
void lk_silu(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = x[i] / (1.0f + lk_expf(-x[i]));
}

LK_CLONES
void lk_quick_gelu(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = x[i] / (1.0f + lk_expf(-1.702f * x[i]));
}

LK_CLONES
void lk_gelu(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + lk_erff(x[i] * 0.70710678118654752f));
}

LK_CLONES
void lk_geglu(const float *x, float *out, size_t rows, size_t f) {
    for (size_t r = 0; r < rows; r++) {
        const float *h = x + r * 2 * f;
        const float *g = h + f;
        float *o = out + r * f;
        for (size_t i = 0; i < f; i++) o[i] = h[i] * (0.5f * g[i] * (1.0f + lk_erff(g[i] * 0.70710678118654752f)));
    }
}

int lk_keep_freed_memory(void) {
#if defined(M_MMAP_MAX) && defined(M_TRIM_THRESHOLD)
    return mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, INT32_MAX) == 1;
#else
    return 0;
#endif
}

int lk_return_freed_memory(void) {
#if defined(__GLIBC__)
    return malloc_trim(0);
#else
    return 0;
#endif
}

/* ---- Fused attention (see lk_attention_rows in the header) ----
 * Per strip of LK_AR query rows: S = (alpha Q) K^T over all keys into a scratch strip, softmax
 * numerators exp(S - rowmax) and their sums in one pass, O = P V, then O /= sum. The strip of
 * scores stays in L1/L2; K^T and V are packed once per head so every inner loop reads
 * contiguous 16-float vectors. The register tiles (8 rows x 2 vectors for S, 8 rows x up to 3
 * vectors for P V) are written with GCC/clang vector extensions, which the target clones map to
 * AVX-512 (one register per vector) or AVX2/SSE (two or four). */

#define LK_AR 8 /* query rows per strip */

static inline __attribute__((always_inline)) lk_v16 lk_splat(float x) {
    lk_v16 v = {x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x};
    return v;
}

/* s[r, c0 .. c0 + 16 NV) = sum_d qs[r, d] kt[d, c0 ..] for the LK_AR rows of the strip. */
#define LK_SCORE_TILE(NV)                                                                                   \
    static inline __attribute__((always_inline)) void lk_score_tile_##NV(                                    \
        const float *qs, size_t dh, const float *kt, size_t ldk, size_t c0, float *s) {                     \
        lk_v16 acc[LK_AR][NV];                                                                              \
        for (int r = 0; r < LK_AR; r++)                                                                     \
            for (int v = 0; v < NV; v++) acc[r][v] = (lk_v16){0};                                           \
        for (size_t d = 0; d < dh; d++) {                                                                   \
            lk_v16 k[NV];                                                                                   \
            for (int v = 0; v < NV; v++) k[v] = lk_load16(kt + d * ldk + c0 + 16 * v);                      \
            for (int r = 0; r < LK_AR; r++) {                                                               \
                lk_v16 b = lk_splat(qs[r * dh + d]);                                                    \
                for (int v = 0; v < NV; v++) acc[r][v] += b * k[v];                                         \
            }                                                                                               \
        }                                                                                                   \
        for (int r = 0; r < LK_AR; r++)                                                                     \
            for (int v = 0; v < NV; v++) lk_store16(s + r * ldk + c0 + 16 * v, acc[r][v]);                  \
    }
LK_SCORE_TILE(1)
LK_SCORE_TILE(2)

/* o[r, c0 .. c0 + 16 NV) = scale[r] * sum_j s[r, j] v[j, c0 ..], written to out for `rows` rows
 * and the columns below dv. */
#define LK_PV_TILE(NV)                                                                                      \
    static inline __attribute__((always_inline)) void lk_pv_tile_##NV(                                       \
        const float *s, size_t ldk, size_t lk, const float *vp, size_t ldv, size_t c0, const float *scale,  \
        float *out, size_t ldo, size_t rows, size_t dv) {                                                   \
        lk_v16 acc[LK_AR][NV];                                                                              \
        for (int r = 0; r < LK_AR; r++)                                                                     \
            for (int v = 0; v < NV; v++) acc[r][v] = (lk_v16){0};                                           \
        for (size_t j = 0; j < lk; j++) {                                                                   \
            lk_v16 x[NV];                                                                                   \
            for (int v = 0; v < NV; v++) x[v] = lk_load16(vp + j * ldv + c0 + 16 * v);                      \
            for (int r = 0; r < LK_AR; r++) {                                                               \
                lk_v16 b = lk_splat(s[r * ldk + j]);                                                    \
                for (int v = 0; v < NV; v++) acc[r][v] += b * x[v];                                         \
            }                                                                                               \
        }                                                                                                   \
        for (size_t r = 0; r < rows; r++) {                                                                 \
            float tile[16 * NV];                                                                            \
            for (int v = 0; v < NV; v++) lk_store16(tile + 16 * v, acc[r][v] * scale[r]);                  \
            size_t n = dv - c0 < (size_t)(16 * NV) ? dv - c0 : (size_t)(16 * NV);                           \
            memcpy(out + r * ldo + c0, tile, n * sizeof(float));                                            \
        }                                                                                                   \
    }
LK_PV_TILE(1)
LK_PV_TILE(2)
LK_PV_TILE(3)

LK_CLONES
void lk_attention_pack(const float *k, size_t ldsrc, size_t lk, size_t dh, float *kt, size_t ldk,
                       const float *v, size_t ldvsrc, size_t dv, float *vp, size_t ldv) {
    for (size_t d = 0; d < dh; d++) {
        float *row = kt + d * ldk;
        for (size_t j = 0; j < lk; j++) row[j] = k[j * ldsrc + d];
        for (size_t j = lk; j < ldk; j++) row[j] = 0.0f;
    }
    for (size_t j = 0; j < lk; j++) {
        memcpy(vp + j * ldv, v + j * ldvsrc, dv * sizeof(float));
        for (size_t c = dv; c < ldv; c++) vp[j * ldv + c] = 0.0f;
    }
}

LK_CLONES
void lk_attention_rows(const float *q, size_t ldq, size_t rows, size_t dh, float alpha,
                       const float *kt, size_t lk, size_t ldk, const float *vp, size_t dv, size_t ldv,
                       float *out, size_t ldo, long causal_row0, float *scratch) {
    float *qs = scratch;             /* [LK_AR, dh] */
    float *s = scratch + LK_AR * dh; /* [LK_AR, ldk] */
    for (size_t r0 = 0; r0 < rows; r0 += LK_AR) {
        size_t n = rows - r0 < LK_AR ? rows - r0 : LK_AR;
        for (size_t r = 0; r < LK_AR; r++)
            for (size_t d = 0; d < dh; d++) qs[r * dh + d] = r < n ? alpha * q[(r0 + r) * ldq + d] : 0.0f;
        size_t c = 0;
        for (; c + 32 <= ldk; c += 32) lk_score_tile_2(qs, dh, kt, ldk, c, s);
        for (; c < ldk; c += 16) lk_score_tile_1(qs, dh, kt, ldk, c, s);
        float scale[LK_AR];
        for (size_t r = 0; r < LK_AR; r++) {
            float *row = s + r * ldk;
            size_t valid = lk;
            if (causal_row0 >= 0) {
                size_t lim = (size_t)causal_row0 + r0 + r + 1;
                valid = lim < lk ? lim : lk;
            }
            float m = lk_max(row, valid);
            float lane[LK_LANES] = {0};
            size_t i = 0;
            for (; i + LK_LANES <= valid; i += LK_LANES)
                for (int j = 0; j < LK_LANES; j++) {
                    float e = lk_expf(row[i + j] - m);
                    row[i + j] = e;
                    lane[j] += e;
                }
            float sum = 0.0f;
            for (int j = 0; j < LK_LANES; j++) sum += lane[j];
            for (; i < valid; i++) {
                row[i] = lk_expf(row[i] - m);
                sum += row[i];
            }
            for (i = valid; i < lk; i++) row[i] = 0.0f;
            scale[r] = 1.0f / sum;
        }
        size_t c0 = 0;
        float *o = out + r0 * ldo;
        for (; c0 + 48 <= ldv; c0 += 48) lk_pv_tile_3(s, ldk, lk, vp, ldv, c0, scale, o, ldo, n, dv);
        if (ldv - c0 == 32) lk_pv_tile_2(s, ldk, lk, vp, ldv, c0, scale, o, ldo, n, dv);
        else if (ldv - c0 == 16) lk_pv_tile_1(s, ldk, lk, vp, ldv, c0, scale, o, ldo, n, dv);
    }
}

/* Mean and biased variance of n floats, accumulated in double: a sum pass, then a pass over
 * squared deviations, each in 8 independent lanes so they vectorise. */
LK_CLONES
void lk_moments(const float *x, size_t n, double *mean, double *variance) {
    double lane[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) lane[j] += (double)x[i + j];
    double s = 0;
    for (int j = 0; j < 8; j++) s += lane[j];
    for (; i < n; i++) s += (double)x[i];
    double m = n ? s / (double)n : 0;
    double q[8] = {0};
    for (i = 0; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) {
            double d = (double)x[i + j] - m;
            q[j] += d * d;
        }
    double v = 0;
    for (int j = 0; j < 8; j++) v += q[j];
    for (; i < n; i++) {
        double d = (double)x[i] - m;
        v += d * d;
    }
    *mean = m;
    *variance = n ? v / (double)n : 0;
}

/* y[i] = x[i] * scale + shift. In place (y == x) through one pointer: with two, the compiler's
 * overlap check sends exactly overlapping arrays to its scalar loop (10x slower); the values are
 * the same. */
LK_CLONES
void lk_scale_shift(const float *x, float *y, size_t n, float scale, float shift) {
    if (x == y) {
        for (size_t i = 0; i < n; i++) y[i] = y[i] * scale + shift;
        return;
    }
    for (size_t i = 0; i < n; i++) y[i] = x[i] * scale + shift;
}

/* y[i] = silu(x[i] * scale + shift), one pass. */
LK_CLONES
void lk_scale_shift_silu(const float *x, float *y, size_t n, float scale, float shift) {
    if (x == y) { /* in place through one pointer, as lk_scale_shift */
        for (size_t i = 0; i < n; i++) {
            float v = y[i] * scale + shift;
            y[i] = v / (1.0f + lk_expf(-v));
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        float v = x[i] * scale + shift;
        y[i] = v / (1.0f + lk_expf(-v));
    }
}
