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

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__linux__) && (defined(__clang__) || defined(__GNUC__))
#define LK_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define LK_CLONES
#endif

static inline float lk_expf(float x) {
    const float hi = 88.72283f, lo = -87.33654f;
    float xc = x > hi ? hi : x;
    xc = xc < lo ? lo : xc;
    const float magic = 12582912.0f; /* 1.5 * 2^23: round to nearest even */
    float shifted = xc * 1.44269504088896341f + magic;
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
