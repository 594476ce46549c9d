/* Float32 GEMM for small products over a pre-packed B (see include/likeness_kernels.h).
 *
 * A linear layer's weight W [n, k] is packed once into panels of LK_SGEMM_NR columns of B = W^T,
 * each [k][LK_SGEMM_NR] with zeros past n. The micro-kernel keeps a 6 x 16 tile of C in six 16-float
 * vectors (twelve ymm registers on AVX2, six zmm on AVX-512), and per k loads one panel row and
 * broadcasts one element of each of six A rows, which it reads in place: nothing is packed per
 * call, which is most of the time OpenBLAS spends outside its kernel on the Toybox UNet's
 * [64..768] x [32..512] x [64..256] products. Rows go in blocks of MB (96) so a block of A
 * stays in L2 while every panel passes over it; a panel (k x 64 bytes) stays in L1.
 * Each C element is bias (or 0, or C with accumulate) plus the products in increasing k: the
 * same row of A gives the same row of C whatever the other rows, the block or the thread. */
#include "likeness_kernels.h"
#include "vec16.h"

#include <string.h>

#define NR LK_SGEMM_NR
#define MR 6
#define MB 96

size_t lk_sgemm_packed_count(size_t k, size_t n) { return (n + NR - 1) / NR * NR * k; }

void lk_sgemm_pack_bt(const float *bt, size_t ldbt, size_t k, size_t n, float *packed) {
    for (size_t j0 = 0; j0 < n; j0 += NR) {
        float *dst = packed + j0 * k;
        size_t nj = n - j0 < NR ? n - j0 : NR;
        for (size_t kk = 0; kk < k; kk++) {
            size_t j = 0;
            for (; j < nj; j++) dst[kk * NR + j] = bt[(j0 + j) * ldbt + kk];
            for (; j < NR; j++) dst[kk * NR + j] = 0;
        }
    }
}

/* Writes one row v of a tile to c: the first nc of 16 values, added to C with accumulate (a macro:
 * a 16-float vector may not cross a call in the baseline clone). */
#define PUT_ROW(c, v, nc, accumulate)                                                                      \
    do {                                                                                                   \
        if ((nc) == NR) {                                                                                  \
            lk_store16((c), (accumulate) ? (v) + lk_load16(c) : (v));                                      \
        } else {                                                                                           \
            float t_[NR];                                                                                  \
            lk_store16(t_, (v));                                                                           \
            for (size_t j_ = 0; j_ < (nc); j_++) (c)[j_] = (accumulate) ? (c)[j_] + t_[j_] : t_[j_];         \
        }                                                                                                  \
    } while (0)

static inline __attribute__((always_inline)) void tile6(size_t k, const float *a, size_t lda, const float *b,
                                                        const float *init, float *c, size_t ldc, size_t nc,
                                                        int accumulate) {
    lk_v16 c0 = lk_load16(init), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
    const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda, *a4 = a + 4 * lda, *a5 = a + 5 * lda;
    for (size_t kk = 0; kk < k; kk++) {
        lk_v16 bv = lk_load16(b + kk * NR);
        c0 += lk_splat(a0[kk]) * bv;
        c1 += lk_splat(a1[kk]) * bv;
        c2 += lk_splat(a2[kk]) * bv;
        c3 += lk_splat(a3[kk]) * bv;
        c4 += lk_splat(a4[kk]) * bv;
        c5 += lk_splat(a5[kk]) * bv;
    }
    PUT_ROW(c, c0, nc, accumulate);
    PUT_ROW(c + ldc, c1, nc, accumulate);
    PUT_ROW(c + 2 * ldc, c2, nc, accumulate);
    PUT_ROW(c + 3 * ldc, c3, nc, accumulate);
    PUT_ROW(c + 4 * ldc, c4, nc, accumulate);
    PUT_ROW(c + 5 * ldc, c5, nc, accumulate);
}

static inline __attribute__((always_inline)) void tile1(size_t k, const float *a, const float *b, const float *init,
                                                        float *c, size_t nc, int accumulate) {
    lk_v16 c0 = lk_load16(init);
    for (size_t kk = 0; kk < k; kk++) c0 += lk_splat(a[kk]) * lk_load16(b + kk * NR);
    PUT_ROW(c, c0, nc, accumulate);
}

LK_CLONES
void lk_sgemm_packed(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *packed, size_t n0,
                     const float *bias, int accumulate, float *c, size_t ldc) {
    for (size_t i0 = 0; i0 < m; i0 += MB) {
        size_t i1 = m - i0 < MB ? m : i0 + MB;
        for (size_t j = 0; j < n; j += NR) {
            size_t nc = n - j < NR ? n - j : NR;
            const float *b = packed + (n0 + j) * k;
            float bv[NR] = {0};
            if (bias) memcpy(bv, bias + n0 + j, nc * sizeof(float));
            size_t i = i0;
            for (; i + MR <= i1; i += MR) tile6(k, a + i * lda, lda, b, bv, c + i * ldc + j, ldc, nc, accumulate);
            for (; i < i1; i++) tile1(k, a + i * lda, b, bv, c + i * ldc + j, nc, accumulate);
        }
    }
}
