/* Vectorised float32 kernels for the engine's elementwise hot loops (softmax rows, SiLU,
 * QuickGELU, GELU/GEGLU). Each is built for AVX-512, AVX2 and baseline x86-64 and picked at
 * run time (GCC/Clang target_clones). See kernels.c for what each one matches. */
#ifndef LIKENESS_KERNELS_H
#define LIKENESS_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* In place softmax of each of `rows` rows (row r starts at x + r*stride). Only the first
 * valid[r] entries of a row take part (valid == NULL: all `cols`); the rest are set to 0. */
void lk_softmax_rows(float *x, size_t rows, size_t cols, size_t stride, const size_t *valid);

/* In place x * sigmoid(x) (torch.nn.functional.silu). */
void lk_silu(float *x, size_t n);

/* In place x * sigmoid(1.702 x) (transformers QuickGELUActivation). */
void lk_quick_gelu(float *x, size_t n);

/* In place 0.5 x (1 + erf(x / sqrt 2)) (torch.nn.functional.gelu, approximate="none"). */
void lk_gelu(float *x, size_t n);

/* out[r, i] = x[r, i] * gelu(x[r, f + i]) for rows of width 2f (diffusers GEGLU). */
void lk_geglu(const float *x, float *out, size_t rows, size_t f);

/* Fused multi-head attention for one head (Ops.scaledDotProductAttention).
 * lk_attention_pack: kt = K^T zero-padded to ldk keys (ldk a multiple of 16) in panels of 16 keys,
 * kt[(j / 16) * 16 * dh + d * 16 + j % 16] = k[j, d], from k [lk, dh] with row stride ldsrc; vp [lk, ldv] = V zero-padded to ldv columns (a multiple of
 * 16) from v [lk, dv] with row stride ldvsrc.
 * lk_attention_rows: out[r, 0..dv) = softmax(alpha q[r] K^T) V for `rows` query rows (row
 * strides ldq, ldo). causal_row0 >= 0 masks keys j > causal_row0 + r (is_causal with the first
 * row at position causal_row0); -1 disables the mask. scratch: lk_attention_scratch_floats(dh, ldk, ldv)
 * floats. lk_set_attention_tiles picks the kernel (0: by CPU, the default; 1: 16-float tiles over all keys;
 * 2: 8-float tiles over all keys; 3: 8-float tiles over blocks of 256 keys with an online
 * softmax), so tests can run each on any CPU. */
void lk_set_attention_tiles(int tiles);
int lk_get_attention_tiles(void);
size_t lk_attention_scratch_floats(size_t dh, size_t ldk, size_t ldv);
void lk_attention_pack(const float *k, size_t ldsrc, size_t lk, size_t dh, float *kt, size_t ldk,
                       const float *v, size_t ldvsrc, size_t dv, float *vp, size_t ldv);
void lk_attention_rows(const float *q, size_t ldq, size_t rows, size_t dh, float alpha,
                       const float *kt, size_t lk, size_t ldk, const float *vp, size_t dv, size_t ldv,
                       float *out, size_t ldo, long causal_row0, float *scratch);

/* bfloat16 attention for ComputePrecision.bf16 (the same contract as lk_attention_rows): Q K^T and
 * P V with AVX512-BF16 vdpbf16ps on bfloat16 operands (queries scaled, then rounded; keys, values
 * and the softmax numerators rounded), scores, softmax and sums in float32.
 * lk_attention_pack_bf16 writes one head's K and V into `packed`
 * (lk_attention_bf16_packed_count(dh, ldk, ldv) elements; ldk, ldv multiples of 16): K in panels
 * of 16 keys, [ldk / 16][ceil(dh / 2)][16][2] (pairs of the head dimension), then V as
 * [ldk / 2][ldv][2] (pairs of keys), zero-padded. scratch: lk_attention_bf16_scratch_floats(dh, ldk)
 * floats. Where lk_bf16_kernel() is not the native one (no AVX512-BF16, or a slower kernel forced
 * for tests), lk_attention_rows_bf16 runs a slow portable loop on the same operands. */
size_t lk_attention_bf16_packed_count(size_t dh, size_t ldk, size_t ldv);
size_t lk_attention_bf16_scratch_floats(size_t dh, size_t ldk);
void lk_attention_pack_bf16(const float *k, size_t ldsrc, size_t lk, size_t dh, uint16_t *packed, size_t ldk,
                            const float *v, size_t ldvsrc, size_t dv, size_t ldv);
void lk_attention_rows_bf16(const float *q, size_t ldq, size_t rows, size_t dh, float alpha,
                            const uint16_t *packed, size_t lk, size_t ldk, size_t dv, size_t ldv,
                            float *out, size_t ldo, long causal_row0, float *scratch);

/* Attention for small heads (dh <= 16, dv <= 16), same contract as above with V held
 * transposed: lk_attention_pack_small writes kt [dh, ldk] as lk_attention_pack does and
 * vt [round_up(dv, 4), ldk] = V^T, zero-padded (rows past dv and columns past lk).
 * lk_attention_rows_small: out[r, 0..dv) = softmax(alpha q[r] K^T) V; scratch: 16 * lk floats. */
void lk_attention_pack_small(const float *k, size_t ldsrc, size_t lk, size_t dh, float *kt, size_t ldk,
                             const float *v, size_t ldvsrc, size_t dv, float *vt);
void lk_attention_rows_small(const float *q, size_t ldq, size_t rows, size_t dh, float alpha,
                             const float *kt, size_t lk, size_t ldk, const float *vt, size_t dv,
                             float *out, size_t ldo, long causal_row0, float *scratch);

/* Convolution patches (Ops.conv2d's im2col). lk_pad_planes: out [planes, h + top + bottom,
 * w + left + right] = x [planes, h, w] with zeros around. lk_im2col_padded: for patch rows
 * r in [r_lo, r_hi) of a kh x kw kernel (r = (c * kh + ki) * kw + kj), col[r, oy * wo + ox] =
 * xpad[c, (row0 + oy) * stride + ki, ox * stride + kj] for oy < rows, ox < wo, from a padded
 * input [C, hp, wp]; col's rows are ldcol apart. */
void lk_pad_planes(const float *x, size_t planes, size_t h, size_t w, size_t top, size_t left, size_t bottom,
                   size_t right, float *out);
void lk_im2col_padded(const float *xpad, size_t hp, size_t wp, size_t kh, size_t kw, size_t stride, size_t row0,
                      size_t rows, size_t wo, float *col, size_t ldcol, size_t r_lo, size_t r_hi);

/* Runs fn(ctx, i) for i in [0, iterations) on the calling thread and up to threads - 1 pool
 * workers (created on first use, spinning briefly between jobs). Returns 1 when done, or 0
 * without running anything when the pool is busy (another job, or a call from inside a job)
 * or threads < 2: the caller then runs the loop itself. See pool.c. */
typedef void (*lk_task_fn)(void *ctx, long index);
int lk_pool_run(long iterations, int threads, lk_task_fn fn, void *ctx);

/* Sets the calling thread's nice value (Linux: per thread); 0 on success. Raising it is always
 * allowed; lowering below the start value needs privileges. */
int lk_set_current_thread_nice(int nice);

/* Nice value the pool's workers take on at their next wake-up (0 at start). An engine running
 * beside a front end raises it so the front end's thread gets a core as soon as it wakes. */
void lk_pool_set_worker_nice(int nice);

/* CPUs this process may run on (its affinity mask), or 0 where unknown. */
int lk_available_cpus(void);

/* Mean and biased variance of n floats, accumulated in double (vectorised lanes). */
void lk_moments(const float *x, size_t n, double *mean, double *variance);

/* Layer norm over rows of `dim` floats (Ops.layerNorm): mean and biased variance as lk_moments,
 * then y = (x - mean) / sqrt(var + eps) * w + b. */
void lk_layer_norm_rows(const float *x, float *y, size_t rows, size_t dim, const float *w, const float *b, float eps);

/* y[i] = x[i] * scale + shift (y may be x). */
void lk_scale_shift(const float *x, float *y, size_t n, float scale, float shift);

/* y[i] = silu(x[i] * scale + shift), in one pass (y may be x). */
void lk_scale_shift_silu(const float *x, float *y, size_t n, float scale, float shift);

/* Winograd F(4x4, 3x3) for 3x3 stride-1 convolutions (winograd.c). Tiles of 4x4 outputs; a
 * segment is `ntx` tiles of tile row `ty` starting at tile column `tx0`. coutp is cout rounded
 * up by lk_winograd_rows (the rows of U and M; U's extra rows must be zero).
 * lk_winograd_weights: w [cout, cin, 3, 3] -> u [36][coutp][cin] (G g Gᵀ) for rows co0..<co1.
 * lk_winograd_input: x [cin, h, w] (one image; zero padding pad_top/pad_left), or with up != 0 its
 *   nearest 2x upsample [cin, 2h, 2w] (read from x, never built); with act_scale (and act_shift,
 *   [cin] each) silu(x * act_scale[c] + act_shift[c]) in place of x (a GroupNorm + SiLU read on the
 *   fly, as lk_scale_shift_silu computes it; the padding stays zero) -> the segment's Bᵀ d B into
 *   v[(k*cin + c)*ldv + t], t < ntx (k = 6 i + j, the 36 transformed positions); the columns
 *   ntx ..< ntx + 15 of each row are written over too (the caller leaves that room).
 * lk_winograd_gemm: m[(k*coutp + c)*ldm + t] = Σ_ci u[(k*coutp + c)*cin + ci] v[(k*cin + ci)*ldv + t]
 *   for all t < ncols (ncols a multiple of 16, ldv and ldm >= ncols).
 * lk_winograd_output: m (the 36 products) -> Aᵀ m A + bias (+ residual, laid out as y) into
 *   y [cout, ho, wo], clipped to ho x wo; relu != 0 clamps the sum at 0. bias and residual may be NULL.
 * Input and output take scratch of lk_winograd_scratch_floats(ntx) floats.
 * The products on bfloat16 operands (the engine's bf16 precision; vdpbf16ps where the CPU has
 * AVX512-BF16, else a portable loop with the same rounding): pairs of neighbouring input channels
 * in one 32-bit word, the even channel in the lower half, cin2 = lk_winograd_pairs(cin).
 * lk_winograd_weights_bf16: bfloat16 rows w16 [cout][ldw16] (a weight [cout, cin, 3, 3] held as
 *   rows) -> u2 [36][coutp][cin2] for rows co0..<co1 (the transform in float32, then rounded);
 * lk_winograd_pack_bf16: v [36][cin][ldv] -> v2 [36][cin2][ld2], columns t < ncols (a multiple of 16);
 * lk_winograd_gemm_bf16: m as lk_winograd_gemm from u2 and v2 (ldv: v2's row stride). */
size_t lk_winograd_rows(size_t cout);
size_t lk_winograd_scratch_floats(size_t ntx);
void lk_winograd_weights(const float *w, size_t coutp, size_t cin, size_t co0, size_t co1, float *u);
void lk_winograd_input(const float *x, size_t cin, size_t h, size_t w, int up, long pad_top, long pad_left,
                       const float *act_scale, const float *act_shift,
                       size_t ty, size_t tx0, size_t ntx, float *v, size_t ldv, float *scratch);
void lk_winograd_gemm(const float *u, size_t coutp, size_t cin, const float *v, size_t ldv, size_t ncols, float *m,
                      size_t ldm);
size_t lk_winograd_pairs(size_t cin);
void lk_winograd_weights_bf16(const uint16_t *w16, size_t ldw16, size_t coutp, size_t cin, size_t co0, size_t co1,
                              uint32_t *u2);
void lk_winograd_pack_bf16(const float *v, size_t cin, size_t ldv, size_t ncols, uint32_t *v2, size_t ld2);
void lk_winograd_gemm_bf16(const uint32_t *u2, size_t coutp, size_t cin, const uint32_t *v2, size_t ldv, size_t ncols,
                           float *m, size_t ldm);
void lk_winograd_output(const float *mm, size_t ldm, size_t cout, size_t coutp, size_t ty, size_t tx0, size_t ntx,
                        const float *bias, const float *residual, int relu, float *y, size_t ho, size_t wo,
                        float *scratch);

/* Keeps freed memory in the process: glibc stops serving large blocks with mmap and stops
 * trimming the heap (see EngineMemory.swift). Returns 1 on success, 0 where unsupported. */
int lk_keep_freed_memory(void);

/* Gives the free pages of the heap (all arenas, not only its top) back to the system (glibc's
 * malloc_trim(0)), for a one-shot release of a large part. Returns 1 when memory was returned. */
int lk_return_freed_memory(void);

/* Float32 C = A * B (+ bias per column, or + C) for small products, over B packed once (sgemm.c).
 * lk_sgemm_pack_bt packs B [k, n] from its transpose W [n, k] (row stride ldbt: a linear layer's
 * weight) into lk_sgemm_packed_count(k, n) floats. lk_sgemm_packed computes the columns n0 ..< n0 + n
 * of the packed n (n0 a multiple of LK_SGEMM_NR) for the m rows of A [m, lda]: C [m, ldc] (pointing
 * at column n0) = A B + bias[n0 ..] (bias may be NULL), plus C's own values with accumulate.
 * Single-threaded; callers split rows or panels. */
#define LK_SGEMM_NR 16
size_t lk_sgemm_packed_count(size_t k, size_t n);
void lk_sgemm_pack_bt(const float *bt, size_t ldbt, size_t k, size_t n, float *packed);
void lk_sgemm_packed(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *packed, size_t n0,
                     const float *bias, int accumulate, float *c, size_t ldc);

#endif
