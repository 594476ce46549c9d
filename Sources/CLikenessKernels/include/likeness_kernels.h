/* Vectorised float32 kernels for the engine's elementwise hot loops (softmax rows, SiLU,
 * QuickGELU, GELU/GEGLU). Each is built for AVX-512, AVX2 and baseline x86-64 and picked at
 * run time (GCC/Clang target_clones). See kernels.c for what each one matches. */
#ifndef LIKENESS_KERNELS_H
#define LIKENESS_KERNELS_H

#include <stddef.h>

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

#endif
