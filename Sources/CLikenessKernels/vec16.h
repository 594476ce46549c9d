/* 16-float vectors for the kernels' inner loops: clang/GCC vector extensions, lowered to AVX-512 or
 * AVX2 on each target clone. The helpers are always inlined, so no vector crosses a call boundary
 * (hence -Wpsabi is silenced). */
#ifndef LIKENESS_VEC16_H
#define LIKENESS_VEC16_H

#include <string.h>

#pragma GCC diagnostic ignored "-Wpsabi"
typedef float lk_v16 __attribute__((vector_size(64)));

static inline __attribute__((always_inline)) lk_v16 lk_load16(const float *p) {
    lk_v16 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline __attribute__((always_inline)) void lk_store16(float *p, lk_v16 v) { memcpy(p, &v, sizeof v); }

#endif
