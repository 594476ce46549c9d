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
#include "likeness_bf16.h"
#include "vec16.h"

#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__GLIBC__) || defined(__linux__)
#include <malloc.h>
#endif

#define LK_LOG2E 1.44269504088896341f /* log2(e); the attention kernels' queries carry it (base-2 scores) */

/* 2^r on [-1/2, 1/2] for base-2 softmax numerators: 1 + r (C1 + r (C2 + ... + r C5)), fitted for
 * relative error (1.9e-7 at most in float); lk_exp2f_nonpositive and lk_exp2_16_nonpositive */
#define LK_EXP2_C1 6.931470036506653e-1f
#define LK_EXP2_C2 2.4022242426872253e-1f
#define LK_EXP2_C3 5.550733581185341e-2f
#define LK_EXP2_C4 9.671512991189957e-3f
#define LK_EXP2_C5 1.326472731307149e-3f

static inline float lk_expf(float x) {
    const float hi = 88.72283f, lo = -87.33654f;
    float xc = x > hi ? hi : x;
    xc = xc < lo ? lo : xc;
    const float magic = 12582912.0f; /* 1.5 * 2^23: round to nearest even */
    float shifted = xc * LK_LOG2E + magic;
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

/* 2^x for softmax arguments in base 2 (x <= 0, -inf or NaN): the attention kernels scale their
 * queries by log2(e), so exp(a) = 2^(a log2 e) needs no natural-log reduction: n = round(x),
 * r = x - n exactly, 2^r a degree-5 polynomial on [-1/2, 1/2] fitted for relative error (1.9e-7
 * at most in float, about lk_expf's 1-2 ulp), 2^n from the exponent field. Below -126 gives 0
 * (so -inf does); NaN stays NaN. */
static inline float lk_exp2f_nonpositive(float x) {
    const float lo = -126.0f;
    float xc = x < lo ? lo : x;
    const float magic = 12582912.0f; /* 1.5 * 2^23: round to nearest even */
    float shifted = xc + magic;
    float r = xc - (shifted - magic);
    float p = LK_EXP2_C5;
    p = p * r + LK_EXP2_C4;
    p = p * r + LK_EXP2_C3;
    p = p * r + LK_EXP2_C2;
    p = p * r + LK_EXP2_C1;
    float y = p * r + 1.0f;
    int32_t bits;
    memcpy(&bits, &shifted, sizeof bits);
    int32_t b = ((bits - 0x4B400000) + 127) << 23; /* n + 127 in [1, 127] */
    float scale;
    memcpy(&scale, &b, sizeof scale);
    float result = y * scale;
    result = x < lo ? 0.0f : result;
    return x != x ? x : result;
}

/* row[i] = 2^(row[i] - m) for i < valid, 0 for valid <= i < end; returns the sum of the
 * numerators (LK_LANES partial sums, then the tail). The attention kernels' softmax numerators,
 * their scores in base 2. */
static inline __attribute__((always_inline)) float lk_exp2_row(float *row, size_t valid, size_t end, float m) {
    float lane[LK_LANES] = {0};
    size_t i = 0;
    for (; i + LK_LANES <= valid; i += LK_LANES)
        for (int j = 0; j < LK_LANES; j++) {
            float e = lk_exp2f_nonpositive(row[i + j] - m);
            row[i + j] = e;
            lane[j] += e;
        }
    float sum = 0.0f;
    for (int j = 0; j < LK_LANES; j++) sum += lane[j];
    for (; i < valid; i++) {
        row[i] = lk_exp2f_nonpositive(row[i] - m);
        sum += row[i];
    }
    for (i = valid; i < end; i++) row[i] = 0.0f;
    return sum;
}

/* Keys that the query row at `pos` rows after the first sees: all lk, or with a causal mask
 * (causal_row0 >= 0: the first row's position) those up to its own position. */
static inline __attribute__((always_inline)) size_t lk_causal_valid(size_t lk, long causal_row0, size_t pos) {
    if (causal_row0 < 0) return lk;
    size_t lim = (size_t)causal_row0 + pos + 1;
    return lim < lk ? lim : lk;
}

/* A row of base-2 scores over lk keys -> its softmax numerators (the masked keys 0); returns
 * 1 / their sum. */
static inline __attribute__((always_inline)) float lk_row_numerators(float *row, size_t lk, long causal_row0,
                                                                     size_t pos) {
    size_t valid = lk_causal_valid(lk, causal_row0, pos);
    return 1.0f / lk_exp2_row(row, valid, lk, lk_max(row, valid));
}

/* ---- Fused attention (see lk_attention_rows in the header) ----
 * Per strip of LK_AR query rows: S = (alpha log2(e) Q) K^T over all keys into a scratch strip
 * (scores in base 2), softmax numerators 2^(S - rowmax) (= exp of the natural scores' difference)
 * and their sums in one pass, O = P V, then O /= sum. The strip of
 * scores stays in L1/L2; K^T and V are packed once per head so every inner loop reads
 * contiguous 16-float vectors. The register tiles (8 rows x 2 vectors for S, 8 rows x up to 3
 * vectors for P V) are written with GCC/clang vector extensions, which the target clones map to
 * AVX-512 (one register per vector) or AVX2/SSE (two or four). */

#define LK_AR 8 /* query rows per strip */

/* s[r, c0 .. c0 + 16 NV) = sum_d qs[r, d] kt[d, c0 ..] for the LK_AR rows of the strip. */
#define LK_SCORE_TILE(NV)                                                                                   \
    static inline __attribute__((always_inline)) void lk_score_tile_##NV(                                    \
        const float *qs, size_t dh, const float *kt, size_t ldk, size_t c0, float *s) {                     \
        lk_v16 acc[LK_AR][NV];                                                                              \
        for (int r = 0; r < LK_AR; r++)                                                                     \
            for (int v = 0; v < NV; v++) acc[r][v] = (lk_v16){0};                                           \
        for (size_t d = 0; d < dh; d++) {                                                                   \
            lk_v16 k[NV];                                                                                   \
            for (int v = 0; v < NV; v++) k[v] = lk_load16(kt + (c0 / 16 + v) * 16 * dh + d * 16);                      \
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

typedef float lk_v8 __attribute__((vector_size(32)));

/* Macros rather than functions: an 8-float vector may not cross a call in the baseline clone. */
#define LK_LOAD8(v, p) memcpy(&(v), (p), sizeof(lk_v8))

/* The same tiles for CPUs without AVX-512 (16 vector registers): 4 rows x NV vectors of 8
 * floats, NV <= 2, so the accumulators, the loaded vectors and the broadcast fit the register file
 * (the 16-float tiles above keep 16-24 accumulators, which AVX2 spills to memory on every
 * multiply-add). Used for both halves of an 8-row strip and for the key blocks below.
 * lk_score_tile8: s[r, 0 .. 16) = sum_d qs[r, d] kt[d, 0 ..] for 4 rows, kt one panel of 16 keys
 * [dh][16] (lk_attention_pack's layout), s's rows lds apart. */
static inline __attribute__((always_inline)) void lk_score_tile8(const float *qs, size_t dh, const float *kt,
                                                               float *s, size_t lds) {
    lk_v8 acc[4][2];
    for (int r = 0; r < 4; r++)
        for (int v = 0; v < 2; v++) acc[r][v] = (lk_v8){0};
    for (size_t d = 0; d < dh; d++) {
        lk_v8 k[2];
        for (int v = 0; v < 2; v++) LK_LOAD8(k[v], kt + d * 16 + 8 * v);
        for (int r = 0; r < 4; r++) {
            const float bq = qs[r * dh + d];
            lk_v8 b = {bq, bq, bq, bq, bq, bq, bq, bq};
            for (int v = 0; v < 2; v++) acc[r][v] += b * k[v];
        }
    }
    for (int r = 0; r < 4; r++)
        for (int v = 0; v < 2; v++) memcpy(s + r * lds + 8 * v, &acc[r][v], sizeof(lk_v8));
}

#define LK_PV_TILE8(NV)                                                                                     \
    static inline __attribute__((always_inline)) void lk_pv_tile8_##NV(                                      \
        const float *s, size_t ldk, size_t lk, const float *vp, size_t ldv, size_t c0, const float *scale,  \
        float *out, size_t ldo, size_t rows, size_t dv) {                                                   \
        lk_v8 acc[4][NV];                                                                                   \
        for (int r = 0; r < 4; r++)                                                                         \
            for (int v = 0; v < NV; v++) acc[r][v] = (lk_v8){0};                                            \
        for (size_t j = 0; j < lk; j++) {                                                                   \
            lk_v8 x[NV];                                                                                    \
            for (int v = 0; v < NV; v++) LK_LOAD8(x[v], vp + j * ldv + c0 + 8 * v);                        \
            for (int r = 0; r < 4; r++) {                                                                   \
                const float bs = s[r * ldk + j];                                                            \
                lk_v8 b = {bs, bs, bs, bs, bs, bs, bs, bs};                                                 \
                for (int v = 0; v < NV; v++) acc[r][v] += b * x[v];                                         \
            }                                                                                               \
        }                                                                                                   \
        for (size_t r = 0; r < rows; r++) {                                                                 \
            float tile[8 * NV];                                                                             \
            for (int v = 0; v < NV; v++) {                                                                  \
                lk_v8 t = acc[r][v] * scale[r];                                                             \
                memcpy(tile + 8 * v, &t, sizeof t);                                                         \
            }                                                                                               \
            size_t n = dv - c0 < (size_t)(8 * NV) ? dv - c0 : (size_t)(8 * NV);                             \
            memcpy(out + r * ldo + c0, tile, n * sizeof(float));                                            \
        }                                                                                                   \
    }
LK_PV_TILE8(1)
LK_PV_TILE8(2)

LK_CLONES
void lk_attention_pack(const float *k, size_t ldsrc, size_t lk, size_t dh, float *kt, size_t ldk,
                       const float *v, size_t ldvsrc, size_t dv, float *vp, size_t ldv) {
    /* K^T in panels of 16 keys, [ldk / 16][dh][16], so a tile's key columns are one contiguous
     * block (rows of a [dh, ldk] K^T are 4 * ldk bytes apart: at 4096 keys every d is 16 KB on, and
     * the 40-80 rows of a tile fall in the same few L1 sets). */
    for (size_t j0 = 0; j0 < ldk; j0 += 16) {
        float *panel = kt + j0 * dh;
        for (size_t d = 0; d < dh; d++)
            for (size_t c = 0; c < 16; c++) panel[d * 16 + c] = j0 + c < lk ? k[(j0 + c) * ldsrc + d] : 0.0f;
    }
    for (size_t j = 0; j < lk; j++) {
        memcpy(vp + j * ldv, v + j * ldvsrc, dv * sizeof(float));
        for (size_t c = dv; c < ldv; c++) vp[j * ldv + c] = 0.0f;
    }
}

/* The key-blocked variant for CPUs without AVX-512 (flash attention's online softmax): a unit of
 * up to LK_FR query rows walks the keys in blocks of LK_FB, keeping each row's running maximum,
 * its sum of numerators and its unnormalised output O [rows, ldv] in scratch; per block the
 * scores S = (alpha log2(e) Q) K_blk^T in base 2, the numerators 2^(S - m_new) with O and the sum
 * rescaled by 2^(m_old - m_new), and O += P V_blk. A block of K^T (dh x 256) and of V (256 x ldv) stays in L2
 * while all the unit's rows use it, where the 8-row strips above read the whole of K^T and V from
 * L3 once per 8 rows (SD-1.5's 64x64 self-attention: 786 KB each per head). */
#define LK_FB 256 /* keys per block */
#define LK_FR 64  /* query rows per unit at most */

/* o[r, 0 .. 16) = corr[r] o[r, ..] + sum_{j < nk} p[r, j] vp[j, 0 ..] for 4 rows (p's rows lds apart,
 * vp's ldv, o's ldo). */
static inline __attribute__((always_inline)) void lk_fpv8(const float *p, size_t lds, size_t nk, const float *vp,
                                                        size_t ldv, const float *corr, float *o, size_t ldo) {
    lk_v8 acc[4][2];
    for (int r = 0; r < 4; r++) {
        const float c = corr[r];
        lk_v8 cv = {c, c, c, c, c, c, c, c};
        for (int v = 0; v < 2; v++) {
            LK_LOAD8(acc[r][v], o + r * ldo + 8 * v);
            acc[r][v] *= cv;
        }
    }
    for (size_t j = 0; j < nk; j++) {
        lk_v8 x[2];
        for (int v = 0; v < 2; v++) LK_LOAD8(x[v], vp + j * ldv + 8 * v);
        for (int r = 0; r < 4; r++) {
            const float bs = p[r * lds + j];
            lk_v8 b = {bs, bs, bs, bs, bs, bs, bs, bs};
            for (int v = 0; v < 2; v++) acc[r][v] += b * x[v];
        }
    }
    for (int r = 0; r < 4; r++)
        for (int v = 0; v < 2; v++) memcpy(o + r * ldo + 8 * v, &acc[r][v], sizeof(lk_v8));
}

static inline __attribute__((always_inline)) void lk_attention_rows_blocked(
    const float *q, size_t ldq, size_t rows, size_t dh, float alpha, const float *kt, size_t lk, size_t ldk,
    const float *vp, size_t dv, size_t ldv, float *out, size_t ldo, long causal_row0, float *scratch) {
    const size_t rp = (rows + 3) / 4 * 4; /* rows padded to whole 4-row tiles */
    float *qs = scratch;                  /* [rp, dh] */
    float *s = qs + rp * dh;              /* [rp, LK_FB] */
    float *o = s + rp * LK_FB;            /* [rp, ldv] */
    float *m = o + rp * ldv, *l = m + rp, *corr = l + rp;
    const float alpha2 = alpha * LK_LOG2E; /* base-2 scores */
    for (size_t r = 0; r < rp; r++) {
        for (size_t d = 0; d < dh; d++) qs[r * dh + d] = r < rows ? alpha2 * q[r * ldq + d] : 0.0f;
        m[r] = -INFINITY;
        l[r] = 0.0f;
    }
    memset(o, 0, rp * ldv * sizeof(float));
    size_t kend = lk; /* keys any row of the unit may see */
    if (causal_row0 >= 0 && (size_t)causal_row0 + rows < lk) kend = (size_t)causal_row0 + rows;
    for (size_t c0 = 0; c0 < kend; c0 += LK_FB) {
        const size_t nk = kend - c0 < LK_FB ? kend - c0 : LK_FB;
        const size_t nkp = (nk + 15) / 16 * 16;
        /* Key slices outer, row tiles inner: a slice of K^T (dh x 16) stays in L1 for every tile. */
        size_t c = 0;
        for (; c < nkp; c += 16) /* nkp: a multiple of 16 (K^T is zero-padded to ldk) */
            for (size_t r0 = 0; r0 < rp; r0 += 4)
                lk_score_tile8(qs + r0 * dh, dh, kt + (c0 + c) * dh, s + r0 * LK_FB + c, LK_FB);
        for (size_t r = 0; r < rp; r++) {
            float *row = s + r * LK_FB;
            size_t valid = r < rows ? nk : 0;
            if (causal_row0 >= 0) {
                size_t lim = (size_t)causal_row0 + r + 1; /* keys below lim */
                valid = lim <= c0 ? 0 : (lim - c0 < valid ? lim - c0 : valid);
            }
            if (valid == 0) {
                corr[r] = 1.0f;
                for (size_t i = 0; i < nkp; i++) row[i] = 0.0f;
                continue;
            }
            float mb = lk_max(row, valid);
            float mn = mb > m[r] ? mb : m[r];
            corr[r] = lk_exp2f_nonpositive(m[r] - mn); /* 0 for the first block (m = -inf) */
            m[r] = mn;
            l[r] = l[r] * corr[r] + lk_exp2_row(row, valid, nkp, mn);
        }
        /* V has lk rows (no padding): only the block's nk keys. Column slabs of V outer (nk x 16 floats, in L1 for every row tile), row tiles inner. */
        for (size_t c1 = 0; c1 < ldv; c1 += 16)
            for (size_t r0 = 0; r0 < rp; r0 += 4)
                lk_fpv8(s + r0 * LK_FB, LK_FB, nk, vp + c0 * ldv + c1, ldv, corr + r0, o + r0 * ldv + c1, ldv);
    }
    for (size_t r = 0; r < rows; r++) {
        const float inv = 1.0f / l[r];
        for (size_t c = 0; c < dv; c++) out[r * ldo + c] = o[r * ldv + c] * inv;
    }
}

static int lk_attention_tiles = 0;

void lk_set_attention_tiles(int tiles) { lk_attention_tiles = tiles; }
int lk_get_attention_tiles(void) { return lk_attention_tiles; }

size_t lk_attention_scratch_floats(size_t dh, size_t ldk, size_t ldv) {
    size_t strips = LK_AR * (dh + ldk);
    size_t blocked = LK_FR * (dh + LK_FB + ldv + 3);
    return strips > blocked ? strips : blocked;
}

LK_CLONES
void lk_attention_rows(const float *q, size_t ldq, size_t rows, size_t dh, float alpha,
                       const float *kt, size_t lk, size_t ldk, const float *vp, size_t dv, size_t ldv,
                       float *out, size_t ldo, long causal_row0, float *scratch) {
    float *qs = scratch;             /* [LK_AR, dh] */
    float *s = scratch + LK_AR * dh; /* [LK_AR, ldk] */
    /* 16-float tiles with AVX-512; else the 8-float ones, over key blocks when there are many keys. */
    const int tiles = lk_attention_tiles ? lk_attention_tiles
                      : __builtin_cpu_supports("avx512f") ? 1
                      : lk >= 2 * LK_FB ? 3
                      : 2;
    if (tiles == 3 && ldv % 16 == 0) {
        for (size_t r0 = 0; r0 < rows; r0 += LK_FR) {
            size_t n = rows - r0 < LK_FR ? rows - r0 : LK_FR;
            lk_attention_rows_blocked(q + r0 * ldq, ldq, n, dh, alpha, kt, lk, ldk, vp, dv, ldv, out + r0 * ldo, ldo,
                                      causal_row0 >= 0 ? causal_row0 + (long)r0 : -1, scratch);
        }
        return;
    }
    const int wide = tiles == 1;
    const float alpha2 = alpha * LK_LOG2E; /* base-2 scores */
    for (size_t r0 = 0; r0 < rows; r0 += LK_AR) {
        size_t n = rows - r0 < LK_AR ? rows - r0 : LK_AR;
        for (size_t r = 0; r < LK_AR; r++)
            for (size_t d = 0; d < dh; d++) qs[r * dh + d] = r < n ? alpha2 * q[(r0 + r) * ldq + d] : 0.0f;
        if (wide) {
            size_t c = 0;
            for (; c + 32 <= ldk; c += 32) lk_score_tile_2(qs, dh, kt, ldk, c, s);
            for (; c < ldk; c += 16) lk_score_tile_1(qs, dh, kt, ldk, c, s);
        } else {
            /* Key blocks outer, the two 4-row halves inner: a block of K^T is read from memory once. */
            size_t halves = n > 4 ? 2 : 1;
            for (size_t c = 0; c < ldk; c += 16) /* ldk: a multiple of 16, one K^T panel per step */
                for (size_t half = 0; half < halves; half++)
                    lk_score_tile8(qs + 4 * half * dh, dh, kt + c * dh, s + 4 * half * ldk + c, ldk);
        }
        float scale[LK_AR];
        for (size_t r = 0; r < LK_AR; r++) scale[r] = lk_row_numerators(s + r * ldk, lk, causal_row0, r0 + r);
        float *o = out + r0 * ldo;
        if (wide) {
            size_t c0 = 0;
            for (; c0 + 48 <= ldv; c0 += 48) lk_pv_tile_3(s, ldk, lk, vp, ldv, c0, scale, o, ldo, n, dv);
            if (ldv - c0 == 32) lk_pv_tile_2(s, ldk, lk, vp, ldv, c0, scale, o, ldo, n, dv);
            else if (ldv - c0 == 16) lk_pv_tile_1(s, ldk, lk, vp, ldv, c0, scale, o, ldo, n, dv);
        } else {
            /* Column slabs of V outer (16 columns of every key: 256 KB at 4096 keys, within L2), the two
             * 4-row halves inner, so a slab is read from memory once per strip, not once per half. */
            for (size_t c0 = 0; c0 < dv;) {
                size_t nv = (ldv - c0) / 8 < 2 ? (ldv - c0) / 8 : 2;
                for (size_t half = 0; half < 2 && 4 * half < n; half++) {
                    size_t hr = n - 4 * half < 4 ? n - 4 * half : 4;
                    const float *sh = s + 4 * half * ldk;
                    float *oh = o + 4 * half * ldo;
                    if (nv == 2) lk_pv_tile8_2(sh, ldk, lk, vp, ldv, c0, scale + 4 * half, oh, ldo, hr, dv);
                    else lk_pv_tile8_1(sh, ldk, lk, vp, ldv, c0, scale + 4 * half, oh, ldo, hr, dv);
                }
                c0 += 8 * nv;
            }
        }
    }
}

/* ---- bfloat16 attention (see lk_attention_rows_bf16 in the header) ----
 * The strip scheme of lk_attention_rows with both products on AVX512-BF16 vdpbf16ps, which sums
 * a pair of bfloat16 products into each float32 lane: S = Q K^T over pairs of the head dimension
 * (a query's (d, d+1) pair broadcast against 16 keys' pairs), P V over pairs of keys (a row's
 * (j, j+1) numerators broadcast against 16 columns of both keys' V rows). Scores, the softmax
 * (lk_exp2_row) and the sums stay float32; only the operands of the two products are rounded. */
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#define LK_ABF16 1
#define LK_ABF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))
#else
#define LK_ABF16 0
#endif

size_t lk_attention_bf16_packed_count(size_t dh, size_t ldk, size_t ldv) {
    return ldk * ((dh + 1) & ~(size_t)1) + ldk * ldv;
}

size_t lk_attention_bf16_scratch_floats(size_t dh, size_t ldk) {
    /* query pairs [LK_AR][dh/2] (uint32), scores [LK_AR][ldk], numerators [LK_AR][ldk] (bfloat16) */
    return LK_AR * ((dh + 1) / 2 + ldk + ldk / 2);
}

void lk_attention_pack_bf16(const float *k, size_t ldsrc, size_t lk, size_t dh, uint16_t *packed, size_t ldk,
                            const float *v, size_t ldvsrc, size_t dv, size_t ldv) {
    const size_t dh2 = (dh + 1) / 2;
    uint16_t *kt = packed, *vp = packed + ldk * 2 * dh2;
    for (size_t j0 = 0; j0 < ldk; j0 += 16) { /* panel of 16 keys: [dh2][16][2] */
        uint16_t *panel = kt + j0 * 2 * dh2;
        for (size_t p = 0; p < dh2; p++)
            for (size_t jj = 0; jj < 16; jj++)
                for (size_t e = 0; e < 2; e++) {
                    size_t j = j0 + jj, d = 2 * p + e;
                    panel[p * 32 + jj * 2 + e] = j < lk && d < dh ? lk_bf16_from_float(k[j * ldsrc + d]) : 0;
                }
    }
    for (size_t jp = 0; jp < ldk / 2; jp++) /* V as [ldk/2][ldv][2]: both keys of a pair side by side */
        for (size_t c = 0; c < ldv; c++)
            for (size_t e = 0; e < 2; e++) {
                size_t j = 2 * jp + e;
                vp[(jp * ldv + c) * 2 + e] = j < lk && c < dv ? lk_bf16_from_float(v[j * ldvsrc + c]) : 0;
            }
}

#if LK_ABF16
#define LK_SCORE_TILE_BF16(NV)                                                                              \
    LK_ABF16_TARGET static inline __attribute__((always_inline)) void lk_score_tile_bf16_##NV(               \
        const uint32_t *qp, size_t dh2, const uint16_t *kt, size_t c0, float *s, size_t ldk) {              \
        __m512 acc[LK_AR][NV];                                                                              \
        for (int r = 0; r < LK_AR; r++)                                                                     \
            for (int v = 0; v < NV; v++) acc[r][v] = _mm512_setzero_ps();                                   \
        for (size_t p = 0; p < dh2; p++) {                                                                  \
            __m512i k[NV];                                                                                  \
            for (int v = 0; v < NV; v++) k[v] = _mm512_loadu_si512(kt + (c0 / 16 + v) * 32 * dh2 + p * 32); \
            for (int r = 0; r < LK_AR; r++) {                                                               \
                __m512i b = _mm512_set1_epi32((int)qp[r * dh2 + p]);                                        \
                for (int v = 0; v < NV; v++)                                                                \
                    acc[r][v] = _mm512_dpbf16_ps(acc[r][v], (__m512bh)b, (__m512bh)k[v]);                   \
            }                                                                                               \
        }                                                                                                   \
        for (int r = 0; r < LK_AR; r++)                                                                     \
            for (int v = 0; v < NV; v++) _mm512_storeu_ps(s + r * ldk + c0 + 16 * v, acc[r][v]);            \
    }
LK_SCORE_TILE_BF16(1)
LK_SCORE_TILE_BF16(2)

#define LK_PV_TILE_BF16(NV)                                                                                 \
    LK_ABF16_TARGET static inline __attribute__((always_inline)) void lk_pv_tile_bf16_##NV(                  \
        const uint32_t *pp, size_t ldp, size_t lk2, const uint16_t *vp, size_t ldv, size_t c0,              \
        const float *scale, float *out, size_t ldo, size_t rows, size_t dv) {                               \
        __m512 acc[LK_AR][NV];                                                                              \
        for (int r = 0; r < LK_AR; r++)                                                                     \
            for (int v = 0; v < NV; v++) acc[r][v] = _mm512_setzero_ps();                                   \
        for (size_t jp = 0; jp < lk2; jp++) {                                                               \
            __m512i x[NV];                                                                                  \
            for (int v = 0; v < NV; v++) x[v] = _mm512_loadu_si512(vp + (jp * ldv + c0 + 16 * v) * 2);     \
            for (int r = 0; r < LK_AR; r++) {                                                               \
                __m512i b = _mm512_set1_epi32((int)pp[r * ldp + jp]);                                       \
                for (int v = 0; v < NV; v++)                                                                \
                    acc[r][v] = _mm512_dpbf16_ps(acc[r][v], (__m512bh)b, (__m512bh)x[v]);                   \
            }                                                                                               \
        }                                                                                                   \
        for (size_t r = 0; r < rows; r++) {                                                                 \
            float tile[16 * NV];                                                                            \
            for (int v = 0; v < NV; v++)                                                                    \
                _mm512_storeu_ps(tile + 16 * v, _mm512_mul_ps(acc[r][v], _mm512_set1_ps(scale[r])));        \
            size_t n = dv - c0 < (size_t)(16 * NV) ? dv - c0 : (size_t)(16 * NV);                           \
            memcpy(out + r * ldo + c0, tile, n * sizeof(float));                                            \
        }                                                                                                   \
    }
LK_PV_TILE_BF16(1)
LK_PV_TILE_BF16(2)
LK_PV_TILE_BF16(3)

LK_ABF16_TARGET static void lk_attention_rows_bf16_avx(const float *q, size_t ldq, size_t rows, size_t dh,
                                                        float alpha, const uint16_t *packed, size_t lk, size_t ldk,
                                                        size_t dv, size_t ldv, float *out, size_t ldo,
                                                        long causal_row0, float *scratch) {
    const size_t dh2 = (dh + 1) / 2, lk2 = (lk + 1) / 2, ldp = ldk / 2;
    const uint16_t *kt = packed, *vp = packed + ldk * 2 * dh2;
    uint32_t *qp = (uint32_t *)scratch;            /* [LK_AR][dh2] */
    float *s = scratch + LK_AR * dh2;              /* [LK_AR][ldk] */
    uint32_t *pp = (uint32_t *)(s + LK_AR * ldk);  /* [LK_AR][ldk/2] pairs of bfloat16 */
    const float alpha2 = alpha * LK_LOG2E;
    for (size_t r0 = 0; r0 < rows; r0 += LK_AR) {
        size_t n = rows - r0 < LK_AR ? rows - r0 : LK_AR;
        for (size_t r = 0; r < LK_AR; r++)
            for (size_t p = 0; p < dh2; p++) {
                float x0 = 0.0f, x1 = 0.0f;
                if (r < n) {
                    x0 = alpha2 * q[(r0 + r) * ldq + 2 * p];
                    x1 = 2 * p + 1 < dh ? alpha2 * q[(r0 + r) * ldq + 2 * p + 1] : 0.0f;
                }
                qp[r * dh2 + p] = (uint32_t)lk_bf16_from_float(x0) | (uint32_t)lk_bf16_from_float(x1) << 16;
            }
        size_t c = 0;
        for (; c + 32 <= ldk; c += 32) lk_score_tile_bf16_2(qp, dh2, kt, c, s, ldk);
        for (; c < ldk; c += 16) lk_score_tile_bf16_1(qp, dh2, kt, c, s, ldk);
        float scale[LK_AR];
        for (size_t r = 0; r < LK_AR; r++) {
            float *row = s + r * ldk;
            scale[r] = lk_row_numerators(row, lk, causal_row0, r0 + r);
            if (lk < 2 * lk2) row[lk] = 0.0f; /* the odd key's partner */
            uint16_t *p16 = (uint16_t *)(pp + r * ldp);
            size_t i = 0;
            for (; i + 16 <= 2 * lk2; i += 16)
                _mm256_storeu_si256((__m256i *)(p16 + i), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(row + i)));
            for (; i < 2 * lk2; i++) p16[i] = lk_bf16_from_float(row[i]);
        }
        float *o = out + r0 * ldo;
        size_t c0 = 0;
        for (; c0 + 48 <= ldv; c0 += 48) lk_pv_tile_bf16_3(pp, ldp, lk2, vp, ldv, c0, scale, o, ldo, n, dv);
        if (ldv - c0 == 32) lk_pv_tile_bf16_2(pp, ldp, lk2, vp, ldv, c0, scale, o, ldo, n, dv);
        else if (ldv - c0 == 16) lk_pv_tile_bf16_1(pp, ldp, lk2, vp, ldv, c0, scale, o, ldo, n, dv);
    }
}
#endif

void lk_attention_rows_bf16(const float *q, size_t ldq, size_t rows, size_t dh, float alpha,
                            const uint16_t *packed, size_t lk, size_t ldk, size_t dv, size_t ldv,
                            float *out, size_t ldo, long causal_row0, float *scratch) {
#if LK_ABF16
    if (lk_bf16_kernel() == LK_BF16_KERNEL_NATIVE) {
        lk_attention_rows_bf16_avx(q, ldq, rows, dh, alpha, packed, lk, ldk, dv, ldv, out, ldo, causal_row0, scratch);
        return;
    }
#endif
    /* Portable: the same bfloat16 operands (products exact in float32), summed in another order.
     * The engine runs it only in tests; elsewhere bf16 attention needs AVX512-BF16. */
    const size_t dh2 = (dh + 1) / 2;
    const uint16_t *kt = packed, *vp = packed + ldk * 2 * dh2;
    float *srow = scratch, *qr = scratch + ldk; /* scores [ldk], the row's rounded query [dh] */
    const float alpha2 = alpha * LK_LOG2E;
    for (size_t r = 0; r < rows; r++) {
        for (size_t d = 0; d < dh; d++) qr[d] = lk_bf16_to_float(lk_bf16_from_float(alpha2 * q[r * ldq + d]));
        for (size_t j = 0; j < lk; j++) {
            const uint16_t *panel = kt + (j / 16) * 32 * dh2 + (j % 16) * 2;
            float acc = 0.0f;
            for (size_t d = 0; d < dh; d++) acc += qr[d] * lk_bf16_to_float(panel[(d / 2) * 32 + d % 2]);
            srow[j] = acc;
        }
        float inv = lk_row_numerators(srow, lk, causal_row0, r);
        for (size_t j = 0; j < lk; j++) srow[j] = lk_bf16_to_float(lk_bf16_from_float(srow[j]));
        for (size_t c = 0; c < dv; c++) {
            float acc = 0.0f;
            for (size_t j = 0; j < lk; j++) acc += srow[j] * lk_bf16_to_float(vp[((j / 2) * ldv + c) * 2 + j % 2]);
            out[r * ldo + c] = acc * inv;
        }
    }
}

/* ---- Attention for small heads (see lk_attention_rows_small in the header) ----
 * With heads of 4-16 floats (the built-in models' 16 heads of 4, 8 and 12), the tiles above spend
 * most of their work on padding (P V on 16-float rows of V), and a kernel that runs along the keys
 * of one query row spends as much again on reducing each row's vectors across lanes. Here the
 * vectors run across 16 query rows instead: for each key, the 16 rows' scores from broadcast
 * elements of K^T, then the numerators and P V from broadcast elements of V^T, so no sum or max
 * crosses lanes. Per block of 16 rows: Q^T in registers, the scores of every key and their running
 * max (pass 1), the numerators and their sums (pass 2), then O four columns at a time (pass 3).
 * scratch holds the block's [lk][16] scores. */

#define LK_SROWS 16 /* query rows per vector */

typedef int32_t lk_i16 __attribute__((vector_size(64)));

/* y = 2^x on 16 lanes: lk_exp2f_nonpositive written on vectors, for the small-head kernel's base-2
 * scores (x <= 0; below -126 gives 0, NaN stays NaN). */
static inline __attribute__((always_inline)) lk_v16 lk_exp2_16_nonpositive(lk_v16 x) {
    lk_v16 lo = lk_splat(-126.0f), magic = lk_splat(12582912.0f);
    lk_i16 below = x < lo;
    lk_v16 xc = (lk_v16)(((lk_i16)x & ~below) | ((lk_i16)lo & below));
    lk_v16 shifted = xc + magic;
    lk_v16 r = xc - (shifted - magic);
    lk_v16 p = lk_splat(LK_EXP2_C5);
    p = p * r + LK_EXP2_C4;
    p = p * r + LK_EXP2_C3;
    p = p * r + LK_EXP2_C2;
    p = p * r + LK_EXP2_C1;
    lk_v16 e = p * r + 1.0f;
    lk_i16 scale = (((lk_i16)shifted - 0x4B400000) + 127) << 23; /* n + 127 in [1, 127] */
    e = e * (lk_v16)scale;
    return (lk_v16)((lk_i16)e & ~below);
}

LK_CLONES
void lk_attention_pack_small(const float *k, size_t ldsrc, size_t lk, size_t dh, float *kt, size_t ldk,
                             const float *v, size_t ldvsrc, size_t dv, float *vt) {
    for (size_t d = 0; d < dh; d++) {
        float *row = kt + d * ldk;
        for (size_t j = 0; j < lk; j++) row[j] = k[j * ldsrc + d];
        for (size_t j = lk; j < ldk; j++) row[j] = 0.0f;
    }
    size_t dvp = (dv + 3) & ~(size_t)3;
    for (size_t c = 0; c < dvp; c++) {
        float *row = vt + c * ldk;
        if (c < dv)
            for (size_t j = 0; j < lk; j++) row[j] = v[j * ldvsrc + c];
        else
            for (size_t j = 0; j < lk; j++) row[j] = 0.0f;
        for (size_t j = lk; j < ldk; j++) row[j] = 0.0f;
    }
}

/* The kernel's body, inlined into each clone below (a 16-float vector may not cross a call in a
 * clone without AVX-512). */
static inline __attribute__((always_inline)) void lk_small_rows(const float *q, size_t ldq, size_t rows, size_t dh,
                                                                float alpha, const float *kt, size_t lk, size_t ldk,
                                                                const float *vt, size_t dv, float *out, size_t ldo,
                                                                long causal_row0, float *scratch) {
    const float alpha2 = alpha * LK_LOG2E; /* base-2 scores */
    for (size_t r0 = 0; r0 < rows; r0 += LK_SROWS) {
        size_t n = rows - r0 < LK_SROWS ? rows - r0 : LK_SROWS;
        float qt[16][LK_SROWS]; /* Q^T of the block; rows past n are 0 */
        lk_i16 lim = {0};       /* each row's count of keys it may see */
        for (size_t d = 0; d < dh; d++)
            for (size_t i = 0; i < LK_SROWS; i++) qt[d][i] = i < n ? alpha2 * q[(r0 + i) * ldq + d] : 0.0f;
        for (size_t i = 0; i < LK_SROWS; i++) lim[i] = (int32_t)lk_causal_valid(lk, causal_row0, r0 + (i < n ? i : n - 1));
        size_t keys = lk_causal_valid(lk, causal_row0, r0 + n - 1); /* the most any row of the block sees */
        float *s = scratch;
        lk_v16 mx = lk_splat(-INFINITY);
        const lk_v16 neg_inf = lk_splat(-INFINITY);
        /* Pass 1: scores and their max; the built-in head widths get unrolled loops. */
#define LK_SMALL_SCORES(DH)                                                                        \
    for (size_t j = 0; j < keys; j++) {                                                            \
        lk_v16 acc = {0};                                                                          \
        for (size_t d = 0; d < (DH); d++) acc += lk_load16(qt[d]) * kt[d * ldk + j];               \
        if (causal_row0 >= 0) {                                                                    \
            lk_i16 hidden = lim <= (int32_t)j;                                                     \
            acc = (lk_v16)(((lk_i16)acc & ~hidden) | ((lk_i16)neg_inf & hidden));                  \
        }                                                                                          \
        lk_store16(s + j * LK_SROWS, acc);                                                         \
        lk_i16 above = acc > mx; /* a NaN score is skipped here and makes its row NaN below */     \
        mx = (lk_v16)(((lk_i16)acc & above) | ((lk_i16)mx & ~above));                              \
    }
        switch (dh) {
        case 4: LK_SMALL_SCORES(4) break;
        case 8: LK_SMALL_SCORES(8) break;
        case 12: LK_SMALL_SCORES(12) break;
        case 16: LK_SMALL_SCORES(16) break;
        default: LK_SMALL_SCORES(dh) break;
        }
#undef LK_SMALL_SCORES
        /* Pass 2: the numerators (masked keys give 2^-inf = 0) and their sums. */
        lk_v16 sums = {0};
        for (size_t j = 0; j < keys; j++) {
            lk_v16 e = lk_exp2_16_nonpositive(lk_load16(s + j * LK_SROWS) - mx);
            lk_store16(s + j * LK_SROWS, e);
            sums += e;
        }
        lk_v16 inv = 1.0f / sums;
        /* Pass 3: O = P V / sums, four columns at a time from broadcast elements of V^T. */
        for (size_t c0 = 0; c0 < dv; c0 += 4) {
            lk_v16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
            const float *v0 = vt + c0 * ldk, *v1 = v0 + ldk, *v2 = v1 + ldk, *v3 = v2 + ldk;
            for (size_t j = 0; j < keys; j++) {
                lk_v16 e = lk_load16(s + j * LK_SROWS);
                a0 += e * v0[j];
                a1 += e * v1[j];
                a2 += e * v2[j];
                a3 += e * v3[j];
            }
            float o[4][LK_SROWS];
            lk_store16(o[0], a0 * inv);
            lk_store16(o[1], a1 * inv);
            lk_store16(o[2], a2 * inv);
            lk_store16(o[3], a3 * inv);
            size_t nc = dv - c0 < 4 ? dv - c0 : 4;
            for (size_t i = 0; i < n; i++)
                for (size_t c = 0; c < nc; c++) out[(r0 + i) * ldo + c0 + c] = o[c][i];
        }
    }
}

LK_CLONES
void lk_attention_rows_small(const float *q, size_t ldq, size_t rows, size_t dh, float alpha,
                             const float *kt, size_t lk, size_t ldk, const float *vt, size_t dv,
                             float *out, size_t ldo, long causal_row0, float *scratch) {
    lk_small_rows(q, ldq, rows, dh, alpha, kt, lk, ldk, vt, dv, out, ldo, causal_row0, scratch);
}

/* ---- im2col from a zero-padded input (see lk_im2col_padded in the header) ----
 * With the padding already in the input, every patch row is a plain copy (stride 1) or a strided
 * gather (stride 2), with no edge tests. Short rows (the built-in models' planes of 4-16 columns)
 * are copied in fixed 8- or 4-float pieces, the last one overlapping, so the compiler emits vector
 * moves instead of a memmove call per row. */

static inline __attribute__((always_inline)) void lk_copy_row(float *d, const float *s, size_t n) {
    if (n >= 8) {
        size_t i = 0;
        for (; i + 8 <= n; i += 8) memcpy(d + i, s + i, 8 * sizeof(float));
        if (i < n) memcpy(d + n - 8, s + n - 8, 8 * sizeof(float));
    } else if (n >= 4) {
        memcpy(d, s, 4 * sizeof(float));
        memcpy(d + n - 4, s + n - 4, 4 * sizeof(float));
    } else {
        for (size_t i = 0; i < n; i++) d[i] = s[i];
    }
}

void lk_pad_planes(const float *x, size_t planes, size_t h, size_t w, size_t top, size_t left, size_t bottom,
                   size_t right, float *out) {
    size_t hp = h + top + bottom, wp = w + left + right;
    for (size_t p = 0; p < planes; p++) {
        const float *src = x + p * h * w;
        float *dst = out + p * hp * wp;
        memset(dst, 0, top * wp * sizeof(float));
        for (size_t y = 0; y < h; y++) {
            float *row = dst + (top + y) * wp;
            for (size_t i = 0; i < left; i++) row[i] = 0.0f;
            lk_copy_row(row + left, src + y * w, w);
            for (size_t i = left + w; i < wp; i++) row[i] = 0.0f;
        }
        memset(dst + (top + h) * wp, 0, bottom * wp * sizeof(float));
    }
}

void lk_im2col_padded(const float *xpad, size_t hp, size_t wp, size_t kh, size_t kw, size_t stride, size_t row0,
                      size_t rows, size_t wo, float *col, size_t ldcol, size_t r_lo, size_t r_hi) {
    for (size_t r = r_lo; r < r_hi; r++) {
        size_t c = r / (kh * kw), ki = (r / kw) % kh, kj = r % kw;
        const float *src = xpad + c * hp * wp + kj;
        float *dst = col + r * ldcol;
        for (size_t oy = 0; oy < rows; oy++) {
            const float *s = src + ((row0 + oy) * stride + ki) * wp;
            float *d = dst + oy * wo;
            if (stride == 1) {
                lk_copy_row(d, s, wo);
            } else {
                for (size_t ox = 0; ox < wo; ox++) d[ox] = s[ox * stride];
            }
        }
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

/* Layer norm of `rows` rows of `dim` floats: statistics as lk_moments, then
 * y = (x - mean) * inv_std * w + b in float32. */
LK_CLONES
void lk_layer_norm_rows(const float *x, float *y, size_t rows, size_t dim, const float *w, const float *b, float eps) {
    for (size_t r = 0; r < rows; r++) {
        const float *s = x + r * dim;
        float *d = y + r * dim;
        double mean, variance;
        lk_moments(s, dim, &mean, &variance);
        float inv_std = (float)(1.0 / sqrt(variance + (double)eps));
        float m = (float)mean;
        for (size_t i = 0; i < dim; i++) d[i] = (s[i] - m) * inv_std * w[i] + b[i];
    }
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
