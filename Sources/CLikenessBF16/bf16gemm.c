/* bfloat16 GEMM, float32 accumulation (see include/likeness_bf16.h).
 *
 * Micro-kernel: a 6 x 64 tile of C in 24 zmm accumulators; per pair of k it loads four B
 * vectors (16 columns x 2 k each) and broadcasts one (k, k+1) pair of each of six A rows, then
 * issues 24 vdpbf16ps (each 32 multiply-adds). B is cache-blocked in KCP-pair slices of one panel
 * (64 columns x 256 k = 32 KB, L1); see lk_bf16_gemm for the loop orders.
 * Only the functions marked LK_BF16_TARGET use AVX-512 instructions; they run only after
 * lk_bf16_supported() said yes, so the library loads and works on any x86-64 (and elsewhere). */
#include "likeness_bf16.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define LK_HAVE_X86 1
#include <immintrin.h>
#define LK_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))
#else
#define LK_HAVE_X86 0
#endif

#define MR LK_BF16_MR
#define NR LK_BF16_NR
#define KCP 128 /* pairs of k per cache block */

uint16_t lk_bf16_from_float(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float lk_bf16_to_float(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float x;
    memcpy(&x, &u, 4);
    return x;
}

static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ffu, u;
    if (exp == 0) {
        if (man == 0) {
            u = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do { e++; man <<= 1; } while (!(man & 0x400u));
            u = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ffu) << 13);
        }
    } else if (exp == 31) {
        u = sign | 0x7f800000u | (man << 13);
    } else {
        u = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float x;
    memcpy(&x, &u, 4);
    return x;
}

static int detected = -1;

int lk_bf16_supported(void) {
    if (detected < 0) {
#if LK_HAVE_X86
        __builtin_cpu_init();
        detected = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                   __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
                   __builtin_cpu_supports("avx512bf16");
        const char *force = getenv("LIKENESS_BF16_PORTABLE"); /* tests: the portable path */
        if (force && force[0] == '1') detected = 0;
#else
        detected = 0;
#endif
    }
    return detected;
}

size_t lk_bf16_row_stride(size_t k) { return (k + 1) & ~(size_t)1; }

size_t lk_bf16_packed_b_count(size_t k, size_t n) {
    return ((n + NR - 1) / NR) * NR * lk_bf16_row_stride(k);
}

/* ---- conversions ------------------------------------------------------------------------ */

#if LK_HAVE_X86
LK_BF16_TARGET static void convert_rows_avx(const float *src, size_t lds, size_t rows, size_t cols,
                                            uint16_t *dst, size_t ldd) {
    for (size_t r = 0; r < rows; r++) {
        const float *s = src + r * lds;
        uint16_t *d = dst + r * ldd;
        size_t i = 0;
        for (; i + 32 <= cols; i += 32) {
            __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(s + i + 16), _mm512_loadu_ps(s + i));
            _mm512_storeu_si512((void *)(d + i), (__m512i)v);
        }
        for (; i < cols; i++) d[i] = lk_bf16_from_float(s[i]);
        for (; i < ldd; i++) d[i] = 0;
    }
}
#endif

void lk_bf16_convert_rows(const float *src, size_t lds, size_t rows, size_t cols, uint16_t *dst, size_t ldd) {
#if LK_HAVE_X86
    if (lk_bf16_supported()) { convert_rows_avx(src, lds, rows, cols, dst, ldd); return; }
#endif
    for (size_t r = 0; r < rows; r++) {
        size_t i = 0;
        for (; i < cols; i++) dst[r * ldd + i] = lk_bf16_from_float(src[r * lds + i]);
        for (; i < ldd; i++) dst[r * ldd + i] = 0;
    }
}

#if LK_HAVE_X86
/* IEEE half rows to bfloat16: widened exactly (vcvtph2ps), then rounded once as lk_bf16_from_float. */
LK_BF16_TARGET static void convert_rows_half_avx(const uint16_t *src, size_t rows, size_t cols, uint16_t *dst, size_t ldd) {
    for (size_t r = 0; r < rows; r++) {
        const uint16_t *s = src + r * cols;
        uint16_t *d = dst + r * ldd;
        size_t i = 0;
        for (; i + 32 <= cols; i += 32) {
            __m512 lo = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(s + i)));
            __m512 hi = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(s + i + 16)));
            _mm512_storeu_si512((void *)(d + i), (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
        }
        for (; i < cols; i++) d[i] = lk_bf16_from_float(half_to_float(s[i]));
        for (; i < ldd; i++) d[i] = 0;
    }
}
#endif

void lk_bf16_convert_rows_half(const uint16_t *src, int is_bf16, size_t rows, size_t cols, uint16_t *dst, size_t ldd) {
#if LK_HAVE_X86
    if (!is_bf16 && lk_bf16_supported()) { convert_rows_half_avx(src, rows, cols, dst, ldd); return; }
#endif
    for (size_t r = 0; r < rows; r++) {
        size_t i = 0;
        if (is_bf16) {
            memcpy(dst + r * ldd, src + r * cols, cols * 2);
            i = cols;
        } else {
            for (; i < cols; i++) dst[r * ldd + i] = lk_bf16_from_float(half_to_float(src[r * cols + i]));
        }
        for (; i < ldd; i++) dst[r * ldd + i] = 0;
    }
}

static uint16_t source_bf16(const float *bt, const uint16_t *bt16, int kind, size_t idx) {
    if (kind == 0) return lk_bf16_from_float(bt[idx]);
    if (kind == 2) return bt16[idx];
    return lk_bf16_from_float(half_to_float(bt16[idx]));
}

void lk_bf16_pack_b_trans(const float *bt, const uint16_t *bt16, int src_kind, size_t ldbt,
                          size_t k, size_t n, uint16_t *packed) {
    size_t kp = lk_bf16_row_stride(k) / 2, panels = (n + NR - 1) / NR;
    for (size_t np = 0; np < panels; np++) {
        uint16_t *panel = packed + np * kp * NR * 2;
        for (size_t col = 0; col < NR; col++) {
            size_t j = np * NR + col;
            for (size_t p = 0; p < kp; p++) {
                uint16_t lo = 0, hi = 0;
                if (j < n) {
                    lo = source_bf16(bt, bt16, src_kind, j * ldbt + 2 * p);
                    if (2 * p + 1 < k) hi = source_bf16(bt, bt16, src_kind, j * ldbt + 2 * p + 1);
                }
                panel[(p * NR + col) * 2] = lo;
                panel[(p * NR + col) * 2 + 1] = hi;
            }
        }
    }
}

/* Packs rows 2*p0 .. of B [k, n] (float32, stride ldb), columns j0..<j0+nv, pairs p0..<p0+kc,
 * into one panel slice [kc][NR][2]. */
static void pack_b_slice_scalar(const float *b, size_t ldb, size_t k, size_t p0, size_t kc, size_t j0, size_t nv,
                                uint16_t *out) {
    for (size_t p = 0; p < kc; p++) {
        size_t r0 = 2 * (p0 + p), r1 = r0 + 1;
        for (size_t col = 0; col < NR; col++) {
            uint16_t lo = 0, hi = 0;
            if (col < nv) {
                lo = lk_bf16_from_float(b[r0 * ldb + j0 + col]);
                if (r1 < k) hi = lk_bf16_from_float(b[r1 * ldb + j0 + col]);
            }
            out[(p * NR + col) * 2] = lo;
            out[(p * NR + col) * 2 + 1] = hi;
        }
    }
}

/* ---- micro-kernels ---------------------------------------------------------------------- */

static void kernel_scalar(const uint16_t *a, size_t lda, const uint16_t *b, size_t kc, float *c, size_t ldc,
                          int mv, int nv, int accumulate) {
    for (int i = 0; i < mv; i++) {
        for (int j = 0; j < nv; j++) {
            float s = accumulate ? c[i * ldc + j] : 0.0f;
            for (size_t p = 0; p < kc; p++) {
                s += lk_bf16_to_float(a[i * lda + 2 * p]) * lk_bf16_to_float(b[(p * NR + j) * 2]);
                s += lk_bf16_to_float(a[i * lda + 2 * p + 1]) * lk_bf16_to_float(b[(p * NR + j) * 2 + 1]);
            }
            c[i * ldc + j] = s;
        }
    }
}

#if LK_HAVE_X86
LK_BF16_TARGET static void pack_b_slice_avx(const float *b, size_t ldb, size_t k, size_t p0, size_t kc, size_t j0,
                                            size_t nv, uint16_t *out) {
    for (size_t p = 0; p < kc; p++) {
        size_t r0 = 2 * (p0 + p), r1 = r0 + 1;
        const float *s0 = b + r0 * ldb + j0, *s1 = b + r1 * ldb + j0;
        for (int v = 0; v < NR / 16; v++) {
            size_t c0 = (size_t)v * 16;
            __mmask16 m = c0 >= nv ? 0 : (nv - c0 >= 16 ? 0xffff : (__mmask16)((1u << (nv - c0)) - 1));
            __m512 x0 = _mm512_maskz_loadu_ps(m, s0 + c0);
            __m512 x1 = r1 < k ? _mm512_maskz_loadu_ps(m, s1 + c0) : _mm512_setzero_ps();
            __m256i lo = (__m256i)_mm512_cvtneps_pbh(x0), hi = (__m256i)_mm512_cvtneps_pbh(x1);
            __m512i w = _mm512_or_si512(_mm512_cvtepu16_epi32(lo), _mm512_slli_epi32(_mm512_cvtepu16_epi32(hi), 16));
            _mm512_storeu_si512((void *)(out + (p * NR + c0) * 2), w);
        }
    }
}

LK_BF16_TARGET static void kernel_avx(const uint16_t *a, size_t lda, const uint16_t *b, size_t kc, float *c,
                                      size_t ldc, int mv, int nv, int accumulate) {
    __m512 acc[MR][4];
    for (int i = 0; i < MR; i++)
        for (int v = 0; v < 4; v++) acc[i][v] = _mm512_setzero_ps();
    const uint16_t *ar[MR];
    for (int i = 0; i < MR; i++) ar[i] = a + (size_t)(i < mv ? i : 0) * lda;
    for (size_t p = 0; p < kc; p++) {
        const uint16_t *bp = b + p * NR * 2;
        __m512bh b0 = (__m512bh)_mm512_loadu_si512((const void *)(bp));
        __m512bh b1 = (__m512bh)_mm512_loadu_si512((const void *)(bp + 32));
        __m512bh b2 = (__m512bh)_mm512_loadu_si512((const void *)(bp + 64));
        __m512bh b3 = (__m512bh)_mm512_loadu_si512((const void *)(bp + 96));
        for (int i = 0; i < MR; i++) {
            int32_t pair;
            memcpy(&pair, ar[i] + 2 * p, 4);
            __m512bh ai = (__m512bh)_mm512_set1_epi32(pair);
            acc[i][0] = _mm512_dpbf16_ps(acc[i][0], ai, b0);
            acc[i][1] = _mm512_dpbf16_ps(acc[i][1], ai, b1);
            acc[i][2] = _mm512_dpbf16_ps(acc[i][2], ai, b2);
            acc[i][3] = _mm512_dpbf16_ps(acc[i][3], ai, b3);
        }
    }
    for (int i = 0; i < mv; i++) {
        float *ci = c + (size_t)i * ldc;
        for (int v = 0; v < 4; v++) {
            int c0 = v * 16;
            if (c0 >= nv) break;
            __mmask16 m = nv - c0 >= 16 ? 0xffff : (__mmask16)((1u << (nv - c0)) - 1);
            __m512 r = acc[i][v];
            if (accumulate) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(m, ci + c0));
            _mm512_mask_storeu_ps(ci + c0, m, r);
        }
    }
}
#endif

/* ---- driver ----------------------------------------------------------------------------- */

static inline void tile(int fast, const uint16_t *a, size_t lda, const uint16_t *b, size_t kc, float *c, size_t ldc,
                        int mv, int nv, int accumulate) {
#if LK_HAVE_X86
    if (fast) { kernel_avx(a, lda, b, kc, c, ldc, mv, nv, accumulate); return; }
#endif
    (void)fast;
    kernel_scalar(a, lda, b, kc, c, ldc, mv, nv, accumulate);
}

void lk_bf16_gemm(size_t m, size_t n, size_t k,
                  const uint16_t *a16, size_t lda16,
                  const float *b, size_t ldb,
                  const uint16_t *pb, size_t pb_n, size_t n0,
                  float beta, float *c, size_t ldc) {
    if (m == 0 || n == 0) return;
    size_t kp = lk_bf16_row_stride(k) / 2;
    if (kp == 0) {
        if (beta == 0)
            for (size_t i = 0; i < m; i++) memset(c + i * ldc, 0, n * sizeof(float));
        return;
    }
    int fast = lk_bf16_supported();
    uint16_t slice[KCP * NR * 2] __attribute__((aligned(64)));
    size_t panels = (n + NR - 1) / NR;
    (void)pb_n;
    if (pb) {
        /* Packed weights: rows in blocks whose A (mc x k bfloat16, about 256 KB) stays in L2; for
         * each column panel the whole k is swept (B slices stream from the packed weights) while
         * the mc x 64 block of C stays in cache across the k blocks. */
        size_t mc = (size_t)(256 * 1024) / (kp * 4) / MR * MR;
        if (mc < 4 * MR) mc = 4 * MR;
        if (mc > 1020) mc = 1020;
        for (size_t ib = 0; ib < m; ib += mc) {
            size_t mend = m - ib < mc ? m : ib + mc;
            for (size_t np = 0; np < panels; np++) {
                size_t j0 = np * NR, nv = n - j0 < NR ? n - j0 : NR;
                const uint16_t *panel = pb + ((n0 + j0) / NR) * kp * NR * 2;
                for (size_t p0 = 0; p0 < kp; p0 += KCP) {
                    size_t kc = kp - p0 < KCP ? kp - p0 : KCP;
                    int accumulate = p0 > 0 || beta != 0;
                    for (size_t i0 = ib; i0 < mend; i0 += MR)
                        tile(fast, a16 + i0 * lda16 + 2 * p0, lda16, panel + p0 * NR * 2, kc, c + i0 * ldc + j0, ldc,
                             (int)(mend - i0 < MR ? mend - i0 : MR), (int)nv, accumulate);
                }
            }
        }
        return;
    }
    /* Activations packed on the fly (a convolution's im2col patches): each slice of B is packed
     * once and swept over all rows of A (a convolution's weights, Cout <= 1280 rows x 256 k in L2). */
    for (size_t p0 = 0; p0 < kp; p0 += KCP) {
        size_t kc = kp - p0 < KCP ? kp - p0 : KCP;
        int accumulate = p0 > 0 || beta != 0;
        for (size_t np = 0; np < panels; np++) {
            size_t j0 = np * NR, nv = n - j0 < NR ? n - j0 : NR;
#if LK_HAVE_X86
            if (fast) pack_b_slice_avx(b, ldb, k, p0, kc, j0, nv, slice);
            else
#endif
                pack_b_slice_scalar(b, ldb, k, p0, kc, j0, nv, slice);
            for (size_t i0 = 0; i0 < m; i0 += MR)
                tile(fast, a16 + i0 * lda16 + 2 * p0, lda16, slice, kc, c + i0 * ldc + j0, ldc,
                     (int)(m - i0 < MR ? m - i0 : MR), (int)nv, accumulate);
        }
    }
}
