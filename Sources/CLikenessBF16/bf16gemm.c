/* bfloat16 GEMM, float32 accumulation (see include/likeness_bf16.h).
 *
 * Micro-kernel: a 6 x 64 tile of C in 24 zmm accumulators; per pair of k it loads four B
 * vectors (16 columns x 2 k each) and broadcasts one (k, k+1) pair of each of six A rows, then
 * issues 24 vdpbf16ps (each 32 multiply-adds). B is cache-blocked in KCP-pair slices of one panel
 * (64 columns x 256 k = 32 KB, L1); see lk_bf16_gemm for the loop orders.
 * Only the functions marked LK_BF16_TARGET use AVX-512 instructions; they run only after
 * lk_bf16_supported() said yes, so the library loads and works on any x86-64 (and elsewhere).
 *
 * Without AVX512-BF16, CPUs with AVX2 and FMA run the widening kernel (LK_AVX2_TARGET): the same
 * bfloat16 operands, widened to float32 a cache block at a time (A: mc x kc rows, B: one kc x 64
 * panel slice) and multiplied by a 6 x 16 float32 FMA micro-kernel (12 ymm accumulators). The
 * weights stay 2 bytes in memory; the products are the same as the native kernel's up to the
 * order of the float32 sums. */
#include "likeness_bf16.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define LK_HAVE_X86 1
#include <immintrin.h>
#define LK_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))
#define LK_AVX2_TARGET __attribute__((target("avx2,fma,f16c")))
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

static int detected = -1, kernel = -1;

/* LIKENESS_BF16_KERNEL=native|widening|portable picks a kernel this CPU can run (tests run each). */
static const char *forced_kernel(void) {
    const char *force = getenv("LIKENESS_BF16_KERNEL");
    return force && force[0] ? force : NULL;
}

int lk_bf16_supported(void) {
    if (detected < 0) {
#if LK_HAVE_X86
        __builtin_cpu_init();
        detected = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                   __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
                   __builtin_cpu_supports("avx512bf16");
        const char *force = forced_kernel();
        if (force && strcmp(force, "native") != 0) detected = 0;
#else
        detected = 0;
#endif
    }
    return detected;
}

int lk_bf16_use_kernel(int k) {
    int before = lk_bf16_kernel();
    if (k <= LK_BF16_KERNEL_PORTABLE) kernel = LK_BF16_KERNEL_PORTABLE;
    else if (k == LK_BF16_KERNEL_NATIVE) kernel = lk_bf16_supported() ? LK_BF16_KERNEL_NATIVE : before;
#if LK_HAVE_X86
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
        kernel = LK_BF16_KERNEL_WIDENING;
#endif
    return before;
}

int lk_bf16_kernel(void) {
    if (kernel < 0) {
        int k = LK_BF16_KERNEL_PORTABLE;
#if LK_HAVE_X86
        __builtin_cpu_init();
        if (lk_bf16_supported()) k = LK_BF16_KERNEL_NATIVE;
        else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
            k = LK_BF16_KERNEL_WIDENING;
        const char *force = forced_kernel();
        if (force && strcmp(force, "portable") == 0) k = LK_BF16_KERNEL_PORTABLE;
#endif
        kernel = k;
    }
    return kernel;
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

#if LK_HAVE_X86
/* float32 lanes rounded to bfloat16 (nearest even; NaN quiet), still as float32 bit patterns
 * (low 16 bits zero): the same values as lk_bf16_from_float. */
LK_AVX2_TARGET static inline __m256i round_bf16_avx2(__m256 x) {
    __m256i u = _mm256_castps_si256(x);
    __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    __m256i r = _mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7fff)), lsb);
    __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff)), _mm256_set1_epi32(0x7f800000));
    __m256i quiet = _mm256_or_si256(u, _mm256_set1_epi32(0x00400000));
    return _mm256_and_si256(_mm256_blendv_epi8(r, quiet, nan), _mm256_set1_epi32((int)0xffff0000u));
}

/* 16 float32 (two vectors) -> 16 bfloat16 bits in order. */
LK_AVX2_TARGET static inline __m256i narrow16_avx2(__m256 lo, __m256 hi) {
    __m256i a = _mm256_srli_epi32(round_bf16_avx2(lo), 16), b = _mm256_srli_epi32(round_bf16_avx2(hi), 16);
    return _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b), 0xd8);
}

LK_AVX2_TARGET static void convert_rows_avx2(const float *src, size_t lds, size_t rows, size_t cols,
                                             uint16_t *dst, size_t ldd) {
    for (size_t r = 0; r < rows; r++) {
        const float *s = src + r * lds;
        uint16_t *d = dst + r * ldd;
        size_t i = 0;
        for (; i + 16 <= cols; i += 16)
            _mm256_storeu_si256((__m256i *)(d + i), narrow16_avx2(_mm256_loadu_ps(s + i), _mm256_loadu_ps(s + i + 8)));
        for (; i < cols; i++) d[i] = lk_bf16_from_float(s[i]);
        for (; i < ldd; i++) d[i] = 0;
    }
}

LK_AVX2_TARGET static void convert_rows_half_avx2(const uint16_t *src, size_t rows, size_t cols, uint16_t *dst, size_t ldd) {
    for (size_t r = 0; r < rows; r++) {
        const uint16_t *s = src + r * cols;
        uint16_t *d = dst + r * ldd;
        size_t i = 0;
        for (; i + 16 <= cols; i += 16) {
            __m256 lo = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s + i)));
            __m256 hi = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s + i + 8)));
            _mm256_storeu_si256((__m256i *)(d + i), narrow16_avx2(lo, hi));
        }
        for (; i < cols; i++) d[i] = lk_bf16_from_float(half_to_float(s[i]));
        for (; i < ldd; i++) d[i] = 0;
    }
}
#endif

void lk_bf16_convert_rows(const float *src, size_t lds, size_t rows, size_t cols, uint16_t *dst, size_t ldd) {
#if LK_HAVE_X86
    if (lk_bf16_kernel() == LK_BF16_KERNEL_NATIVE) { convert_rows_avx(src, lds, rows, cols, dst, ldd); return; }
    if (lk_bf16_kernel() == LK_BF16_KERNEL_WIDENING) { convert_rows_avx2(src, lds, rows, cols, dst, ldd); return; }
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
    if (!is_bf16 && lk_bf16_kernel() == LK_BF16_KERNEL_NATIVE) { convert_rows_half_avx(src, rows, cols, dst, ldd); return; }
    if (!is_bf16 && lk_bf16_kernel() == LK_BF16_KERNEL_WIDENING) { convert_rows_half_avx2(src, rows, cols, dst, ldd); return; }
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

/* C[mv, nv] (+)= A B for one MR x NR tile, NV of its four 16-column vectors computed: a slice
 * narrower than NR (a convolution's 4x4 plane, 32 or 48 pixels at batch 2 or 3) skips the
 * products of the panel's zero columns. */
#define LK_KERNEL_AVX(NV)                                                                                \
    LK_BF16_TARGET static void kernel_avx_##NV(const uint16_t *a, size_t lda, const uint16_t *b, size_t kc, \
                                               float *c, size_t ldc, int mv, int nv, int accumulate) {   \
        __m512 acc[MR][NV];                                                                              \
        for (int i = 0; i < MR; i++)                                                                     \
            for (int v = 0; v < NV; v++) acc[i][v] = _mm512_setzero_ps();                                \
        const uint16_t *ar[MR];                                                                          \
        for (int i = 0; i < MR; i++) ar[i] = a + (size_t)(i < mv ? i : 0) * lda;                         \
        for (size_t p = 0; p < kc; p++) {                                                                \
            const uint16_t *bp = b + p * NR * 2;                                                         \
            __m512bh bv[NV];                                                                             \
            for (int v = 0; v < NV; v++) bv[v] = (__m512bh)_mm512_loadu_si512((const void *)(bp + 32 * v)); \
            for (int i = 0; i < MR; i++) {                                                               \
                int32_t pair;                                                                            \
                memcpy(&pair, ar[i] + 2 * p, 4);                                                         \
                __m512bh ai = (__m512bh)_mm512_set1_epi32(pair);                                         \
                for (int v = 0; v < NV; v++) acc[i][v] = _mm512_dpbf16_ps(acc[i][v], ai, bv[v]);        \
            }                                                                                            \
        }                                                                                                \
        for (int i = 0; i < mv; i++) {                                                                   \
            float *ci = c + (size_t)i * ldc;                                                             \
            for (int v = 0; v < NV; v++) {                                                               \
                int c0 = v * 16;                                                                         \
                if (c0 >= nv) break;                                                                     \
                __mmask16 m = nv - c0 >= 16 ? 0xffff : (__mmask16)((1u << (nv - c0)) - 1);              \
                __m512 r = acc[i][v];                                                                    \
                if (accumulate) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(m, ci + c0));                 \
                _mm512_mask_storeu_ps(ci + c0, m, r);                                                    \
            }                                                                                            \
        }                                                                                                \
    }
LK_KERNEL_AVX(1)
LK_KERNEL_AVX(2)
LK_KERNEL_AVX(3)
LK_KERNEL_AVX(4)

static void kernel_avx(const uint16_t *a, size_t lda, const uint16_t *b, size_t kc, float *c, size_t ldc, int mv,
                       int nv, int accumulate) {
    switch ((nv + 15) / 16) {
    case 1: kernel_avx_1(a, lda, b, kc, c, ldc, mv, nv, accumulate); break;
    case 2: kernel_avx_2(a, lda, b, kc, c, ldc, mv, nv, accumulate); break;
    case 3: kernel_avx_3(a, lda, b, kc, c, ldc, mv, nv, accumulate); break;
    default: kernel_avx_4(a, lda, b, kc, c, ldc, mv, nv, accumulate); break;
    }
}
#endif

#if LK_HAVE_X86
LK_AVX2_TARGET static void widen_rows_avx2(const uint16_t *src, size_t lds, size_t rows, size_t cols, float *dst, size_t ldd) {
    for (size_t r = 0; r < rows; r++) {
        const uint16_t *s = src + r * lds;
        float *d = dst + r * ldd;
        size_t i = 0;
        for (; i + 8 <= cols; i += 8) {
            __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(s + i)));
            _mm256_storeu_ps(d + i, _mm256_castsi256_ps(_mm256_slli_epi32(w, 16)));
        }
        for (; i < cols; i++) d[i] = lk_bf16_to_float(s[i]);
    }
}
#endif

void lk_bf16_widen_rows(const uint16_t *src, size_t lds, size_t rows, size_t cols, float *dst, size_t ldd) {
#if LK_HAVE_X86
    if (lk_bf16_kernel() != LK_BF16_KERNEL_PORTABLE) { widen_rows_avx2(src, lds, rows, cols, dst, ldd); return; }
#endif
    for (size_t r = 0; r < rows; r++)
        for (size_t i = 0; i < cols; i++) dst[r * ldd + i] = lk_bf16_to_float(src[r * lds + i]);
}

/* ---- widening kernel (AVX2 + FMA) -------------------------------------------------------- */

#if LK_HAVE_X86
#define WMR 6  /* rows of the widening micro-kernel */
#define WNR 16 /* columns: two ymm */
#define WMC 96 /* rows of A widened at a time */

/* One packed panel slice [kc][NR][2] (bfloat16) -> float32 [2 * kc][NR] (row 2p: even k, 2p + 1: odd). */
LK_AVX2_TARGET static void widen_panel_avx2(const uint16_t *panel, size_t kc, float *out) {
    const __m256i high = _mm256_set1_epi32((int)0xffff0000u);
    for (size_t p = 0; p < kc; p++) {
        const uint16_t *s = panel + p * NR * 2;
        float *even = out + 2 * p * NR, *odd = even + NR;
        for (int c = 0; c < NR; c += 8) {
            __m256i u = _mm256_loadu_si256((const __m256i *)(s + 2 * c));
            _mm256_storeu_ps(even + c, _mm256_castsi256_ps(_mm256_slli_epi32(u, 16)));
            _mm256_storeu_ps(odd + c, _mm256_castsi256_ps(_mm256_and_si256(u, high)));
        }
    }
}

/* Rows 2*p0 .. 2*(p0 + kc) of B [k, n] (float32, stride ldb), columns j0..<j0+nv, rounded to
 * bfloat16 values as float32 [2 * kc][NR], zero beyond k and nv. */
LK_AVX2_TARGET static void round_slice_avx2(const float *b, size_t ldb, size_t k, size_t p0, size_t kc, size_t j0,
                                            size_t nv, float *out) {
    for (size_t r = 0; r < 2 * kc; r++) {
        size_t row = 2 * p0 + r;
        float *d = out + r * NR;
        if (row >= k) { memset(d, 0, NR * sizeof(float)); continue; }
        const float *s = b + row * ldb + j0;
        size_t c = 0;
        for (; c + 8 <= nv; c += 8) _mm256_storeu_ps(d + c, _mm256_castsi256_ps(round_bf16_avx2(_mm256_loadu_ps(s + c))));
        for (; c < nv; c++) d[c] = lk_bf16_to_float(lk_bf16_from_float(s[c]));
        for (; c < NR; c++) d[c] = 0;
    }
}

/* C[mv, nv] (+)= A[mv, kc2] B[kc2, WNR]; A float32 rows (stride lda), B float32 rows of stride NR. */
LK_AVX2_TARGET static void kernel_widening(const float *a, size_t lda, const float *b, size_t kc2, float *c, size_t ldc,
                                           int mv, int nv, int accumulate) {
    __m256 acc[WMR][2];
    for (int i = 0; i < WMR; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    const float *ar[WMR];
    for (int i = 0; i < WMR; i++) ar[i] = a + (size_t)(i < mv ? i : 0) * lda;
    for (size_t p = 0; p < kc2; p++) {
        __m256 b0 = _mm256_loadu_ps(b + p * NR), b1 = _mm256_loadu_ps(b + p * NR + 8);
        for (int i = 0; i < WMR; i++) {
            __m256 ai = _mm256_broadcast_ss(ar[i] + p);
            acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
        }
    }
    if (nv == WNR) {
        for (int i = 0; i < mv; i++) {
            float *ci = c + (size_t)i * ldc;
            __m256 r0 = acc[i][0], r1 = acc[i][1];
            if (accumulate) { r0 = _mm256_add_ps(r0, _mm256_loadu_ps(ci)); r1 = _mm256_add_ps(r1, _mm256_loadu_ps(ci + 8)); }
            _mm256_storeu_ps(ci, r0);
            _mm256_storeu_ps(ci + 8, r1);
        }
        return;
    }
    float t[WNR];
    for (int i = 0; i < mv; i++) {
        float *ci = c + (size_t)i * ldc;
        _mm256_storeu_ps(t, acc[i][0]);
        _mm256_storeu_ps(t + 8, acc[i][1]);
        for (int j = 0; j < nv; j++) ci[j] = accumulate ? ci[j] + t[j] : t[j];
    }
}

/* The widening driver: lk_bf16_gemm's two loop orders, each block of A and B widened once. */
LK_AVX2_TARGET static void gemm_widening(size_t m, size_t n, size_t k, const uint16_t *a16, size_t lda16,
                                         const float *b, size_t ldb, const uint16_t *pb, size_t n0,
                                         float beta, float *c, size_t ldc) {
    size_t kp = lk_bf16_row_stride(k) / 2, panels = (n + NR - 1) / NR;
    float bw[KCP * 2 * NR] __attribute__((aligned(32)));
    size_t mc = pb ? WMC : m;
    float *aw = malloc(sizeof(float) * (mc < m ? mc : m) * KCP * 2);
    if (!aw) abort();
    for (size_t ib = 0; ib < m; ib += mc) {
        size_t mend = m - ib < mc ? m : ib + mc;
        for (size_t p0 = 0; p0 < kp; p0 += KCP) {
            size_t kc = kp - p0 < KCP ? kp - p0 : KCP, kc2 = 2 * kc;
            int accumulate = p0 > 0 || beta != 0;
            widen_rows_avx2(a16 + ib * lda16 + 2 * p0, lda16, mend - ib, kc2, aw, kc2);
            for (size_t np = 0; np < panels; np++) {
                size_t j0 = np * NR, nv = n - j0 < NR ? n - j0 : NR;
                if (pb) widen_panel_avx2(pb + ((n0 + j0) / NR) * kp * NR * 2 + p0 * NR * 2, kc, bw);
                else round_slice_avx2(b, ldb, k, p0, kc, j0, nv, bw);
                for (size_t i0 = ib; i0 < mend; i0 += WMR) {
                    int mv = (int)(mend - i0 < WMR ? mend - i0 : WMR);
                    for (size_t jc = 0; jc < nv; jc += WNR)
                        kernel_widening(aw + (i0 - ib) * kc2, kc2, bw + jc, kc2, c + i0 * ldc + j0 + jc, ldc, mv,
                                        (int)(nv - jc < WNR ? nv - jc : WNR), accumulate);
                }
            }
        }
    }
    free(aw);
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
#if LK_HAVE_X86
    if (lk_bf16_kernel() == LK_BF16_KERNEL_WIDENING) {
        gemm_widening(m, n, k, a16, lda16, b, ldb, pb, n0, beta, c, ldc);
        return;
    }
#endif
    int fast = lk_bf16_kernel() == LK_BF16_KERNEL_NATIVE;
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
