/* Winograd F(4x4, 3x3) convolution transforms (Lavin & Gray, "Fast Algorithms for
 * Convolutional Neural Networks", interpolation points 0, 1, -1, 2, -2, inf), see
 * include/likeness_kernels.h. A 3x3 stride-1 convolution becomes, per 4x4 output tile,
 *     Y = Aᵀ [ Σ_cin (G g Gᵀ) ⊙ (Bᵀ d B) ] A
 * with d the 6x6 input tile; the sum over input channels is 36 independent GEMMs
 * U_k [cout, cin] · V_k [cin, tiles] (done by the caller with sgemm), so the multiply count
 * per output falls from 9·cin to 36/16·cin = 2.25·cin.
 *
 * Both transforms are separable: a vertical 1-D pass over whole rows of a tile row (contiguous,
 * vectorised), then a horizontal 1-D pass on tile-strided columns that are first split into
 * per-phase arrays so that this pass is contiguous too. */
#include "likeness_kernels.h"
#include "likeness_bf16.h"
#include "vec16.h"

#include <stdlib.h>
#include <string.h>

#define WG_M 4 /* output tile */
#define WG_A 6 /* input tile, WG_M + 2 */

/* out[i][t] = (Bᵀ d)[i] for d = in[0..5][t], n entries. The rows are restrict parameters of a
 * function of their own (restrict on local copies gives clang no alias information), so that the
 * loop is vectorised without run-time overlap checks across its twelve rows. */
static inline __attribute__((always_inline)) void wg_bt_rows(const float *restrict d0, const float *restrict d1,
                                                             const float *restrict d2, const float *restrict d3,
                                                             const float *restrict d4, const float *restrict d5,
                                                             float *restrict o0, float *restrict o1, float *restrict o2,
                                                             float *restrict o3, float *restrict o4, float *restrict o5,
                                                             size_t n) {
    for (size_t t = 0; t < n; t++) {
        float a = d4[t] - 4.0f * d2[t];     /* d4 - 4 d2 */
        float b = d3[t] - 4.0f * d1[t];     /* d3 - 4 d1 */
        float c = d4[t] - d2[t];            /* d4 - d2 */
        float e = 2.0f * (d3[t] - d1[t]);   /* 2 (d3 - d1) */
        o0[t] = 4.0f * d0[t] - 5.0f * d2[t] + d4[t];
        o1[t] = a + b;
        o2[t] = a - b;
        o3[t] = c + e;
        o4[t] = c - e;
        o5[t] = 4.0f * d1[t] - 5.0f * d3[t] + d5[t];
    }
}

static inline __attribute__((always_inline)) void wg_bt(const float *const in[WG_A], float *const out[WG_A], size_t n) {
    wg_bt_rows(in[0], in[1], in[2], in[3], in[4], in[5], out[0], out[1], out[2], out[3], out[4], out[5], n);
}

/* out[q][t] = (Aᵀ m)[q] for m = in[0..5][t], n entries (restrict parameters, as wg_bt_rows). */
static inline __attribute__((always_inline)) void wg_at_rows(const float *restrict m0, const float *restrict m1,
                                                             const float *restrict m2, const float *restrict m3,
                                                             const float *restrict m4, const float *restrict m5,
                                                             float *restrict o0, float *restrict o1, float *restrict o2,
                                                             float *restrict o3, size_t n) {
    for (size_t t = 0; t < n; t++) {
        float s12 = m1[t] + m2[t], d12 = m1[t] - m2[t];
        float s34 = m3[t] + m4[t], d34 = m3[t] - m4[t];
        o0[t] = m0[t] + s12 + s34;
        o1[t] = d12 + 2.0f * d34;
        o2[t] = s12 + 4.0f * s34;
        o3[t] = d12 + 8.0f * d34 + m5[t];
    }
}

static inline __attribute__((always_inline)) void wg_at(const float *const in[WG_A], float *const out[WG_M], size_t n) {
    wg_at_rows(in[0], in[1], in[2], in[3], in[4], in[5], out[0], out[1], out[2], out[3], n);
}

/* Tile-strided columns of a row and back, 16 tiles (64 floats) at a time with clang/GCC vector
 * shuffles (lowered to permutes on each target clone). */
typedef float wg_v8 __attribute__((vector_size(32)));

/* ph[p][t] = r[4 t + p] for p < 4, t < n. */
static inline __attribute__((always_inline)) void wg_split4(const float *r, float *const ph[4], size_t n) {
    size_t t = 0;
#if defined(__clang__)
    for (; t + 16 <= n; t += 16) {
        lk_v16 a0 = lk_load16(r + 4 * t), a1 = lk_load16(r + 4 * t + 16), a2 = lk_load16(r + 4 * t + 32),
               a3 = lk_load16(r + 4 * t + 48);
#define WG_PHASE(P)                                                                                          \
        {                                                                                                    \
            wg_v8 lo = __builtin_shufflevector(a0, a1, P, P + 4, P + 8, P + 12, P + 16, P + 20, P + 24, P + 28); \
            wg_v8 hi = __builtin_shufflevector(a2, a3, P, P + 4, P + 8, P + 12, P + 16, P + 20, P + 24, P + 28); \
            lk_store16(ph[P] + t, __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)); \
        }
        WG_PHASE(0)
        WG_PHASE(1)
        WG_PHASE(2)
        WG_PHASE(3)
#undef WG_PHASE
    }
#endif
    for (; t < n; t++)
        for (int p = 0; p < 4; p++) ph[p][t] = r[4 * t + p];
}

/* r[4 t + b] = o[b][t] for b < 4, t < n. */
static inline __attribute__((always_inline)) void wg_merge4(float *const o[4], float *r, size_t n) {
    size_t t = 0;
#if defined(__clang__)
    for (; t + 16 <= n; t += 16) {
        lk_v16 o0 = lk_load16(o[0] + t), o1 = lk_load16(o[1] + t), o2 = lk_load16(o[2] + t), o3 = lk_load16(o[3] + t);
        lk_v16 x01 = __builtin_shufflevector(o0, o1, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        lk_v16 x23 = __builtin_shufflevector(o2, o3, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        lk_v16 y01 = __builtin_shufflevector(o0, o1, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        lk_v16 y23 = __builtin_shufflevector(o2, o3, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        lk_store16(r + 4 * t, __builtin_shufflevector(x01, x23, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23));
        lk_store16(r + 4 * t + 16, __builtin_shufflevector(x01, x23, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31));
        lk_store16(r + 4 * t + 32, __builtin_shufflevector(y01, y23, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23));
        lk_store16(r + 4 * t + 48, __builtin_shufflevector(y01, y23, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31));
    }
#endif
    for (; t < n; t++)
        for (int b = 0; b < 4; b++) r[4 * t + b] = o[b][t];
}

/* ---- The 36 products M_k = U_k V_k ----
 * U_k [coutp, cin] (rows padded to a multiple of WG_R with zeros), V_k [cin, ldv] with ldv a
 * multiple of 16, M_k [coutp, ldm]. Register tiles of WG_R rows x 2 (or 1) 16-float vectors: per
 * input channel two vector loads of V, WG_R broadcasts of U and 2 WG_R multiply-adds; the V block
 * of a tile column (cin x 32 floats) stays in L1/L2 while all row blocks pass over it. */
#define WG_R 8

static inline __attribute__((always_inline)) lk_v16 wg_splat(float x) {
    lk_v16 v = {x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x};
    return v;
}

#define WG_GEMM_TILE(NV)                                                                                     \
    static inline __attribute__((always_inline)) void wg_tile_##NV(const float *u, size_t cin, const float *v, \
                                                                   size_t ldv, float *m, size_t ldm) {        \
        lk_v16 acc[WG_R][NV];                                                                                \
        for (int r = 0; r < WG_R; r++)                                                                       \
            for (int j = 0; j < NV; j++) acc[r][j] = (lk_v16){0};                                            \
        for (size_t c = 0; c < cin; c++) {                                                                   \
            lk_v16 b[NV];                                                                                    \
            for (int j = 0; j < NV; j++) b[j] = lk_load16(v + c * ldv + 16 * j);                               \
            for (int r = 0; r < WG_R; r++) {                                                                 \
                lk_v16 a = wg_splat(u[r * cin + c]);                                                         \
                for (int j = 0; j < NV; j++) acc[r][j] += a * b[j];                                          \
            }                                                                                                \
        }                                                                                                    \
        for (int r = 0; r < WG_R; r++)                                                                       \
            for (int j = 0; j < NV; j++) lk_store16(m + r * ldm + 16 * j, acc[r][j]);                          \
    }
WG_GEMM_TILE(1)
WG_GEMM_TILE(2)

/* Without AVX-512 (16 vector registers of 8 floats) the tiles above spill their accumulators, and a
 * spilled accumulator puts a store and a reload on every iteration's dependency chain. There the
 * tiles are 2 rows x NV8 8-float vectors: 12 accumulators at NV8 = 6 (48 columns), the two
 * broadcasts and one column vector at a time, 15 registers; 32 or 16 columns at a row's end.
 * (On a Zen 3 core, 64 -> 64 channels over 64 tiles: 65-70 GFLOP/s against 46-50 for 4 x 3 tiles,
 * which spill one accumulator, and 64-66 for 8 x 1.) */
static inline __attribute__((always_inline)) wg_v8 wg_load8(const float *p) {
    wg_v8 v;
    memcpy(&v, p, sizeof v);
    return v;
}

#define WG_R8 2
#define WG_GEMM_TILE8(NV)                                                                                    \
    static inline __attribute__((always_inline)) void wg_tile8_##NV(const float *u, size_t cin, const float *v, \
                                                                    size_t ldv, float *m, size_t ldm) {       \
        wg_v8 acc[WG_R8][NV];                                                                                \
        for (int r = 0; r < WG_R8; r++)                                                                      \
            for (int j = 0; j < NV; j++) acc[r][j] = (wg_v8){0};                                             \
        for (size_t c = 0; c < cin; c++) {                                                                   \
            wg_v8 a[WG_R8];                                                                                  \
            for (int r = 0; r < WG_R8; r++) {                                                                \
                float x = u[r * cin + c];                                                                    \
                a[r] = (wg_v8){x, x, x, x, x, x, x, x};                                                      \
            }                                                                                                \
            for (int j = 0; j < NV; j++) {                                                                   \
                wg_v8 b = wg_load8(v + c * ldv + 8 * j);                                                     \
                for (int r = 0; r < WG_R8; r++) acc[r][j] += a[r] * b;                                       \
            }                                                                                                \
        }                                                                                                    \
        for (int r = 0; r < WG_R8; r++)                                                                      \
            for (int j = 0; j < NV; j++) memcpy(m + r * ldm + 8 * j, &acc[r][j], sizeof acc[r][j]);          \
    }
WG_GEMM_TILE8(2)
WG_GEMM_TILE8(4)
WG_GEMM_TILE8(6)

/* The 36 products with the AVX-512 tiles TILE##_2 (32 columns) and TILE##_1 (16): U_k [coutp][kdim],
 * V_k [kdim][ldv] of element type T (float, or a pair of bfloat16 channels). Row blocks outer: a
 * block's rows of U_k (WG_R x kdim) stay in L1 while V_k (kdim x ldv) is read from L2; U_k as a
 * whole (up to 1 MB at 512 channels) is read once. */
#define WG_PRODUCTS(T, kdim, TILE)                                                                           \
    for (int k = 0; k < WG_A * WG_A; k++) {                                                                  \
        const T *uk = u + (size_t)k * coutp * (kdim), *vk = v + (size_t)k * (kdim) * ldv;                    \
        float *mk = m + (size_t)k * coutp * ldm;                                                             \
        for (size_t co = 0; co < coutp; co += WG_R) {                                                        \
            size_t t = 0;                                                                                    \
            for (; t + 32 <= ncols; t += 32) TILE##_2(uk + co * (kdim), kdim, vk + t, ldv, mk + co * ldm + t, ldm); \
            for (; t < ncols; t += 16) TILE##_1(uk + co * (kdim), kdim, vk + t, ldv, mk + co * ldm + t, ldm);      \
        }                                                                                                    \
    }

size_t lk_winograd_rows(size_t cout) { return (cout + WG_R - 1) / WG_R * WG_R; }

LK_CLONES
void lk_winograd_gemm(const float *u, size_t coutp, size_t cin, const float *v, size_t ldv, size_t ncols, float *m,
                      size_t ldm) {
    if (!__builtin_cpu_supports("avx512f")) {
        for (int k = 0; k < WG_A * WG_A; k++) {
            const float *uk = u + (size_t)k * coutp * cin, *vk = v + (size_t)k * cin * ldv;
            float *mk = m + (size_t)k * coutp * ldm;
            for (size_t co = 0; co < coutp; co += WG_R8) {
                const float *ub = uk + co * cin;
                float *mb = mk + co * ldm;
                size_t t = 0;
                for (; t + 48 <= ncols; t += 48) wg_tile8_6(ub, cin, vk + t, ldv, mb + t, ldm);
                if (t + 32 <= ncols) wg_tile8_4(ub, cin, vk + t, ldv, mb + t, ldm);
                else if (t < ncols) wg_tile8_2(ub, cin, vk + t, ldv, mb + t, ldm);
            }
        }
        return;
    }
    WG_PRODUCTS(float, cin, wg_tile);
}

/* ---- The 36 products on bfloat16 operands (AVX512-BF16) ----
 * U_k and V_k are rounded to bfloat16 and held as pairs of neighbouring input channels in one
 * 32-bit word (the lower half the even channel), so that one vdpbf16ps adds the products of two
 * channels into each float32 lane: U2 [36][coutp][cin2], V2 [36][cin2][ldv] with cin2 = (cin+1)/2
 * and a zero odd channel past cin. The same register tile as the float32 path (WG_R rows x 32
 * columns), each step covering two channels. */
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#define WG_BF16 1
#define WG_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))
#else
#define WG_BF16 0
#endif

size_t lk_winograd_pairs(size_t cin) { return (cin + 1) / 2; }

static inline uint32_t wg_pair(float even, float odd) {
    return (uint32_t)lk_bf16_from_float(even) | (uint32_t)lk_bf16_from_float(odd) << 16;
}

#if WG_BF16
/* 16 lanes of two float32 rows -> 16 pairs (round to nearest even, as lk_bf16_from_float). */
WG_BF16_TARGET static inline __m512i wg_pairs16(__m512 even, __m512 odd) {
    __m512i lo = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(even));
    __m512i hi = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(odd));
    return _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16));
}

/* One pair row: d[t] = the pairs of rows e and o (o NULL: a zero odd channel), t < ncols. */
WG_BF16_TARGET static void wg_pack_row_avx(const float *e, const float *o, uint32_t *d, size_t ncols) {
    for (size_t t = 0; t < ncols; t += 16)
        _mm512_storeu_si512(d + t, wg_pairs16(_mm512_loadu_ps(e + t), o ? _mm512_loadu_ps(o + t) : _mm512_setzero_ps()));
}

#define WG_BF16_TILE(NV)                                                                                     \
    WG_BF16_TARGET static inline __attribute__((always_inline)) void wg_tile_bf16_##NV(                      \
        const uint32_t *u, size_t cin2, const uint32_t *v, size_t ldv, float *m, size_t ldm) {               \
        __m512 acc[WG_R][NV];                                                                                \
        for (int r = 0; r < WG_R; r++)                                                                       \
            for (int j = 0; j < NV; j++) acc[r][j] = _mm512_setzero_ps();                                    \
        for (size_t p = 0; p < cin2; p++) {                                                                  \
            __m512i b[NV];                                                                                   \
            for (int j = 0; j < NV; j++) b[j] = _mm512_loadu_si512(v + p * ldv + 16 * j);                     \
            for (int r = 0; r < WG_R; r++) {                                                                 \
                __m512i a = _mm512_set1_epi32((int)u[r * cin2 + p]);                                         \
                for (int j = 0; j < NV; j++) acc[r][j] = _mm512_dpbf16_ps(acc[r][j], (__m512bh)a, (__m512bh)b[j]); \
            }                                                                                                \
        }                                                                                                    \
        for (int r = 0; r < WG_R; r++)                                                                       \
            for (int j = 0; j < NV; j++) _mm512_storeu_ps(m + r * ldm + 16 * j, acc[r][j]);                  \
    }
WG_BF16_TILE(1)
WG_BF16_TILE(2)

WG_BF16_TARGET static void wg_gemm_bf16_avx(const uint32_t *u, size_t coutp, size_t cin2, const uint32_t *v,
                                            size_t ldv, size_t ncols, float *m, size_t ldm) {
    WG_PRODUCTS(uint32_t, cin2, wg_tile_bf16);
}
#endif

void lk_winograd_pack_bf16(const float *v, size_t cin, size_t ldv, size_t ncols, uint32_t *v2, size_t ld2) {
    const size_t cin2 = lk_winograd_pairs(cin);
    const int native = lk_bf16_kernel() == LK_BF16_KERNEL_NATIVE;
    for (int k = 0; k < WG_A * WG_A; k++)
        for (size_t p = 0; p < cin2; p++) {
            const float *e = v + ((size_t)k * cin + 2 * p) * ldv, *o = 2 * p + 1 < cin ? e + ldv : NULL;
            uint32_t *d = v2 + ((size_t)k * cin2 + p) * ld2;
#if WG_BF16
            if (native) {
                wg_pack_row_avx(e, o, d, ncols);
                continue;
            }
#endif
            for (size_t t = 0; t < ncols; t++) d[t] = wg_pair(e[t], o ? o[t] : 0.0f);
        }
    (void)native;
}

void lk_winograd_gemm_bf16(const uint32_t *u2, size_t coutp, size_t cin, const uint32_t *v2, size_t ldv, size_t ncols,
                           float *m, size_t ldm) {
    const size_t cin2 = lk_winograd_pairs(cin);
#if WG_BF16
    if (lk_bf16_kernel() == LK_BF16_KERNEL_NATIVE) {
        wg_gemm_bf16_avx(u2, coutp, cin2, v2, ldv, ncols, m, ldm);
        return;
    }
#endif
    /* Portable: the same rounded operands, each pair's two products summed in float32. */
    for (int k = 0; k < WG_A * WG_A; k++)
        for (size_t co = 0; co < coutp; co++) {
            const uint32_t *ur = u2 + ((size_t)k * coutp + co) * cin2;
            float *mr = m + ((size_t)k * coutp + co) * ldm;
            for (size_t t = 0; t < ncols; t++) mr[t] = 0;
            for (size_t p = 0; p < cin2; p++) {
                float a0 = lk_bf16_to_float((uint16_t)ur[p]), a1 = lk_bf16_to_float((uint16_t)(ur[p] >> 16));
                const uint32_t *vr = v2 + ((size_t)k * cin2 + p) * ldv;
                for (size_t t = 0; t < ncols; t++)
                    mr[t] += a0 * lk_bf16_to_float((uint16_t)vr[t]) + a1 * lk_bf16_to_float((uint16_t)(vr[t] >> 16));
            }
        }
}

/* The 1-D passes run over whole 16-float vectors (no scalar tails): a segment of ntx tiles is
 * computed as wg_len(ntx) tiles in scratch, the extra ones discarded. */
static inline size_t wg_len(size_t ntx) { return (ntx + 1 + 15) / 16 * 16; }

size_t lk_winograd_scratch_floats(size_t ntx) {
    size_t ld = wg_len(ntx) + 16, span = WG_M * ld;
    /* input: 6 transformed rows and a zero row of span, 4 phase arrays of ld, 6 rows of span / 2 + 16,
     * 6 normalised input rows of span; output: 24 + 16 arrays of ld and one row of span. */
    size_t in = 16 * span + 4 * ld + 96;
    size_t out = 40 * ld + span;
    return in > out ? in : out;
}

/* G g Gᵀ for output channels co0..<co1, from float32 w [cout, cin, 3, 3] or bfloat16 rows w16
 * (row stride ldw16), into float32 u [36][coutp][cin] or bfloat16 rows u16 of stride ld16. */
static inline __attribute__((always_inline)) void wg_weights(const float *w, const uint16_t *w16, size_t ldw16, size_t coutp, size_t cin, size_t co0,
                       size_t co1, float *u, uint16_t *u16, size_t ld16) {
    static const float G[WG_A][3] = {
        {1.0f / 4, 0, 0},
        {-1.0f / 6, -1.0f / 6, -1.0f / 6},
        {-1.0f / 6, 1.0f / 6, -1.0f / 6},
        {1.0f / 24, 1.0f / 12, 1.0f / 6},
        {1.0f / 24, -1.0f / 12, 1.0f / 6},
        {0, 0, 1},
    };
    /* Per output channel: the 9 taps as rows over the input channels, then G g Gᵀ for all
     * input channels at once (contiguous over ci, as u is laid out). */
    float *gt = malloc(9 * cin * sizeof(float)), *tmp = malloc(WG_A * 3 * cin * sizeof(float)),
          *row = malloc(cin * sizeof(float));
    if (!gt || !tmp || !row) abort();
    for (size_t co = co0; co < co1; co++) {
        for (size_t ci = 0; ci < cin; ci++)
            for (int r = 0; r < 9; r++)
                gt[r * cin + ci] = w16 ? lk_bf16_to_float(w16[co * ldw16 + ci * 9 + r]) : w[(co * cin + ci) * 9 + r];
        for (int i = 0; i < WG_A; i++)
            for (int j = 0; j < 3; j++) {
                float *restrict t = tmp + (i * 3 + j) * cin;
                const float *restrict g0 = gt + (0 * 3 + j) * cin, *restrict g1 = gt + (1 * 3 + j) * cin,
                                      *restrict g2 = gt + (2 * 3 + j) * cin;
                float a = G[i][0], b = G[i][1], c = G[i][2];
                for (size_t ci = 0; ci < cin; ci++) t[ci] = a * g0[ci] + b * g1[ci] + c * g2[ci];
            }
        for (int i = 0; i < WG_A; i++)
            for (int k = 0; k < WG_A; k++) {
                size_t at = (size_t)(i * WG_A + k) * coutp + co;
                float *restrict out = u16 ? row : u + at * cin;
                const float *restrict t0 = tmp + (i * 3 + 0) * cin, *restrict t1 = tmp + (i * 3 + 1) * cin,
                                      *restrict t2 = tmp + (i * 3 + 2) * cin;
                float a = G[k][0], b = G[k][1], c = G[k][2];
                for (size_t ci = 0; ci < cin; ci++) out[ci] = t0[ci] * a + t1[ci] * b + t2[ci] * c;
                if (u16) lk_bf16_convert_rows(row, cin, 1, cin, u16 + at * ld16, ld16);
            }
    }
    free(gt);
    free(tmp);
    free(row);
}

LK_CLONES
void lk_winograd_weights(const float *w, size_t coutp, size_t cin, size_t co0, size_t co1, float *u) {
    wg_weights(w, NULL, 0, coutp, cin, co0, co1, u, NULL, 0);
}

LK_CLONES
void lk_winograd_weights_bf16(const uint16_t *w16, size_t ldw16, size_t coutp, size_t cin, size_t co0, size_t co1,
                              uint32_t *u2) {
    wg_weights(NULL, w16, ldw16, coutp, cin, co0, co1, NULL, (uint16_t *)u2, 2 * lk_winograd_pairs(cin));
}

/* r[s] = l[(s + odd) / 2] for s < n: each value of the low-resolution row twice (the nearest 2x
 * upsample of one row), starting with its second copy when odd. */
static inline __attribute__((always_inline)) void wg_double(const float *l, int odd, float *r, size_t n) {
    size_t s = 0;
    if (odd && n > 0) r[s++] = *l++;
#if defined(__clang__)
    for (; s + 16 <= n; s += 16, l += 8) {
        wg_v8 a = wg_load8(l);
        lk_store16(r + s, __builtin_shufflevector(a, a, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7));
    }
#endif
    for (size_t q = 0; s < n; s++, q++) r[s] = l[q / 2];
}

LK_CLONES
void lk_winograd_input(const float *x, size_t cin, size_t h, size_t w, int up, long pad_top, long pad_left,
                       const float *act_scale, const float *act_shift,
                       size_t ty, size_t tx0, size_t ntx, float *v, size_t ldv, float *scratch) {
    /* n: tiles computed (whole vectors, >= ntx + 1 so that tile ntx's phases 0 and 1 exist). */
    size_t n = wg_len(ntx), ld = n + 16, span = WG_M * n;
    /* The convolution's input: x, or x's nearest 2x upsample (read from x, never built). */
    size_t hin = up ? 2 * h : h, win = up ? 2 * w : w;
    float *trows[WG_A], *ph[WG_A], *lrows[WG_A];
    float *zero = scratch + WG_A * span;
    for (int i = 0; i < WG_A; i++) {
        trows[i] = scratch + i * span;
        if (i < 4) ph[i] = scratch + (WG_A + 1) * span + i * ld;
        lrows[i] = scratch + (WG_A + 1) * span + 4 * ld + i * (span / 2 + 16);
    }
    ph[4] = ph[0] + 1;
    ph[5] = ph[1] + 1;
    /* With act_scale: silu(x * scale + shift) of each row segment read, then the transform. */
    float *arows[WG_A];
    for (int i = 0; i < WG_A; i++) arows[i] = scratch + 10 * span + 4 * ld + 96 + i * span;
    long x0 = (long)(tx0 * WG_M) - pad_left; /* input column of trows[.][0] */
    long y0 = (long)(ty * WG_M) - pad_top;
    /* Valid columns of the span: 0 <= x0 + s < win; the others are zero padding (or past the
     * segment) and stay zero in the transformed rows, as Bᵀ maps zero columns to zero. */
    long lo = x0 < 0 ? -x0 : 0;
    long hi = (long)win - x0;
    if (hi > (long)span) hi = (long)span;
    if (hi < lo) hi = lo;
    for (int i = 0; i < WG_A; i++) {
        memset(trows[i], 0, (size_t)lo * sizeof(float));
        memset(trows[i] + hi, 0, (span - (size_t)hi) * sizeof(float));
    }
    memset(zero, 0, span * sizeof(float));
    /* With the upsample: valid columns lo..<hi read low-resolution columns lx0 ... lx0 + nl - 1. */
    long lx0 = up ? (x0 + lo) / 2 : 0, nl = up && hi > lo ? (x0 + hi - 1) / 2 - lx0 + 1 : 0;
    size_t m = n - 16 >= ntx ? n - 16 : n;
    for (size_t c = 0; c < cin; c++) {
        const float *src = x + c * h * w;
        /* Vertical pass straight from the input's rows (zero rows above and below the plane). */
        const float *in[WG_A];
        for (int j = 0; j < WG_A; j++) {
            long iy = y0 + j;
            const float *row = iy < 0 || iy >= (long)hin ? NULL : src + (up ? iy / 2 : iy) * (long)w;
            if (up) in[j] = row ? row + lx0 : zero;
            else in[j] = row ? row + x0 + lo : zero;
            if (act_scale && row && hi > lo) {
                lk_scale_shift_silu(in[j], arows[j], up ? (size_t)nl : (size_t)(hi - lo), act_scale[c], act_shift[c]);
                in[j] = arows[j];
            }
        }
        if (hi > lo) {
            if (up) {
                wg_bt(in, lrows, (size_t)nl);
                for (int i = 0; i < WG_A; i++) wg_double(lrows[i], (int)((x0 + lo) & 1), trows[i] + lo, (size_t)(hi - lo));
            } else {
                float *out[WG_A];
                for (int i = 0; i < WG_A; i++) out[i] = trows[i] + lo;
                wg_bt(in, out, (size_t)(hi - lo));
            }
        }
        /* Horizontal pass, written straight into v (up to 15 columns past ntx: the caller's room). */
        for (int i = 0; i < WG_A; i++) {
            /* Columns 4t + p: phases 0-3 of tile t; 4t + 4 and 4t + 5 are phases 0 and 1 of tile t + 1. */
            wg_split4(trows[i], ph, n);
            float *out[WG_A];
            for (int k = 0; k < WG_A; k++) out[k] = v + ((size_t)(i * WG_A + k) * cin + c) * ldv;
            wg_bt((const float *const *)ph, out, m);
        }
    }
}

LK_CLONES
void lk_winograd_output(const float *mm, size_t ldm, size_t cout, size_t coutp, size_t ty, size_t tx0, size_t ntx,
                        const float *bias, const float *residual, int relu, float *y, size_t ho, size_t wo,
                        float *scratch) {
    size_t n = (ntx + 15) / 16 * 16, ld = wg_len(ntx) + 16;
    float *s[WG_M][WG_A], *o[WG_M][WG_M];
    for (int q = 0; q < WG_M; q++)
        for (int k = 0; k < WG_A; k++) s[q][k] = scratch + (q * WG_A + k) * ld;
    for (int q = 0; q < WG_M; q++)
        for (int b = 0; b < WG_M; b++) o[q][b] = scratch + (WG_M * WG_A + q * WG_M + b) * ld;
    float *row = scratch + 40 * ld;
    size_t oy0 = ty * WG_M, ox0 = tx0 * WG_M;
    if (oy0 >= ho || ox0 >= wo) return;
    size_t ncols = wo - ox0 < ntx * WG_M ? wo - ox0 : ntx * WG_M;
    size_t nrows = ho - oy0 < WG_M ? ho - oy0 : WG_M;
    for (size_t c = 0; c < cout; c++) {
        /* Vertical: for each tile column k, rows i = 0..5 → q = 0..3. */
        for (int k = 0; k < WG_A; k++) {
            const float *in[WG_A];
            for (int i = 0; i < WG_A; i++) in[i] = mm + ((size_t)(i * WG_A + k) * coutp + c) * ldm;
            float *out[WG_M] = {s[0][k], s[1][k], s[2][k], s[3][k]};
            wg_at(in, out, n);
        }
        float bv = bias ? bias[c] : 0.0f;
        for (size_t q = 0; q < nrows; q++) {
            wg_at((const float *const *)s[q], o[q], n);
            wg_merge4(o[q], row, n);
            size_t at = (c * ho + oy0 + q) * wo + ox0;
            float *restrict dst = y + at;
            const float *restrict rw = row;
            if (residual) {
                const float *restrict res = residual + at;
                if (relu)
                    for (size_t i = 0; i < ncols; i++) {
                        float z = rw[i] + bv + res[i];
                        dst[i] = z < 0.0f ? 0.0f : z; /* NaN stays NaN, as torch.relu */
                    }
                else
                    for (size_t i = 0; i < ncols; i++) dst[i] = rw[i] + bv + res[i];
            } else if (relu)
                for (size_t i = 0; i < ncols; i++) {
                    float z = rw[i] + bv;
                    dst[i] = z < 0.0f ? 0.0f : z; /* NaN stays NaN, as torch.relu */
                }
            else
                for (size_t i = 0; i < ncols; i++) dst[i] = rw[i] + bv;
        }
    }
}
