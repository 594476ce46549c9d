/* bfloat16 GEMM with float32 accumulation for the engine's `bf16` precision:
 * C[m, n] = beta * C + A[m, k] * B[k, n], both operands rounded to bfloat16 (round to nearest
 * even), products summed in float32 (AVX512-BF16 vdpbf16ps: pairs of neighbouring k).
 *
 * A is read as bfloat16 rows ([m, lda] with lda even, k padded with zeros to an even count):
 * weights converted once at load (convolutions) or activations converted per call. B is read
 * in panels of LK_BF16_NR columns, [k/2][LK_BF16_NR][2] bfloat16, zero-padded: weights packed
 * once at load (linear layers) or activations packed on the fly, a cache block at a time.
 *
 * On CPUs without AVX512-BF16 (lk_bf16_supported() == 0) the same functions run the widening
 * kernel where the CPU has AVX2 and FMA (the bfloat16 operands widened to float32 and multiplied
 * with FMA: the same products, weights still 2 bytes in memory), else a portable scalar path with
 * the same rounding of the inputs (slow; the engine then uses float32). */
#ifndef LIKENESS_BF16_H
#define LIKENESS_BF16_H

#include <stddef.h>
#include <stdint.h>

#define LK_BF16_MR 6
#define LK_BF16_NR 64

/* 1 when the CPU runs AVX512-BF16 (with AVX512F/BW/VL), else 0. */
int lk_bf16_supported(void);

/* Which kernel lk_bf16_gemm runs on this CPU. LIKENESS_BF16_KERNEL=native|widening|portable in
 * the environment picks a slower one (tests). */
#define LK_BF16_KERNEL_PORTABLE 0
#define LK_BF16_KERNEL_WIDENING 1
#define LK_BF16_KERNEL_NATIVE 2
int lk_bf16_kernel(void);
/* Tests: runs kernel k from now on where this CPU can (else keeps the current one); returns the
 * kernel that ran before. Not while another thread is in a bfloat16 function. */
int lk_bf16_use_kernel(int k);

/* Row stride (elements) of a bfloat16 A with k columns: k rounded up to even. */
size_t lk_bf16_row_stride(size_t k);

/* Converts rows x cols float32 (row stride lds) to bfloat16 rows of stride ldd (even, >= cols),
 * zero-filling columns cols..<ldd. */
void lk_bf16_convert_rows(const float *src, size_t lds, size_t rows, size_t cols, uint16_t *dst, size_t ldd);
/* The same from IEEE half (is_bf16 == 0) or bfloat16 (is_bf16 == 1) bits, e.g. a file's weights. */
void lk_bf16_convert_rows_half(const uint16_t *src, int is_bf16, size_t rows, size_t cols, uint16_t *dst, size_t ldd);

/* bfloat16 elements of B [k, n] packed in panels. */
size_t lk_bf16_packed_b_count(size_t k, size_t n);
/* Packs B from its transpose B^T [n, k] (row stride ldbt): a linear layer's weight [out, in].
 * src_kind: 0 float32 (bt), 1 IEEE half, 2 bfloat16 (bt16). */
void lk_bf16_pack_b_trans(const float *bt, const uint16_t *bt16, int src_kind, size_t ldbt,
                          size_t k, size_t n, uint16_t *packed);

/* C = beta * C + A * B, beta 0 or 1, single-threaded. A: a16 (bfloat16 rows, stride lda16, from
 * lk_bf16_convert_rows). B: either b (float32 [k, n], row stride ldb; packed on the fly) or pb
 * (packed for the whole n; columns n0..<n0+n are used, n0 a multiple of LK_BF16_NR, and
 * pb_n is the n it was packed for). */
void lk_bf16_gemm(size_t m, size_t n, size_t k,
                  const uint16_t *a16, size_t lda16,
                  const float *b, size_t ldb,
                  const uint16_t *pb, size_t pb_n, size_t n0,
                  float beta, float *c, size_t ldc);

/* bfloat16 rows (stride lds) -> float32 rows (stride ldd), exactly. */
void lk_bf16_widen_rows(const uint16_t *src, size_t lds, size_t rows, size_t cols, float *dst, size_t ldd);

/* float32 -> bfloat16 bits (round to nearest even; NaN stays NaN) and back. */
uint16_t lk_bf16_from_float(float x);
float lk_bf16_to_float(uint16_t h);

#endif
