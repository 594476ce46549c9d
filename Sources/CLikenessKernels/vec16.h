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

static inline __attribute__((always_inline)) lk_v16 lk_splat(float x) {
    lk_v16 v = {x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x};
    return v;
}

/* AVX-512, AVX2 and baseline builds of a function; the loader picks one for the running CPU. */
#if defined(__x86_64__) && defined(__linux__) && (defined(__clang__) || defined(__GNUC__))
#define LK_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define LK_CLONES
#endif

#endif
