/* The built-in model's attention shapes (heads of 4-12 floats): lk_attention_rows_small per call,
 * one thread, best of 5 rounds, and the largest difference from a double-precision softmax(q K^T) V.
 * Built and run by scripts/attention/small.sh, which can build it from an older kernels.c too. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "likeness_kernels.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void) {
    /* query rows, keys, head width (q/k = v): the 16x16 level's self- and cross-attention, 8x8, 4x4 */
    static const int shapes[][3] = {{256, 256, 4}, {256, 77, 4}, {64, 64, 8}, {64, 77, 8}, {16, 16, 12}, {16, 77, 12}};
    printf("rows x keys x width: microseconds per head, ns per score, max |error|\n");
    double total = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int lq = shapes[s][0], lk = shapes[s][1], dh = shapes[s][2], dv = dh;
        size_t ldk = (lk + 15) / 16 * 16;
        float *q = malloc(sizeof(float) * lq * dh), *k = malloc(sizeof(float) * lk * dh), *v = malloc(sizeof(float) * lk * dv);
        float *kt = malloc(sizeof(float) * (dh + ((dv + 3) & ~3)) * ldk), *o = malloc(sizeof(float) * lq * dv);
        float *scratch = malloc(sizeof(float) * 16 * ldk); /* the kernel's block of 16 rows x ldk scores */
        srand(1);
        for (int i = 0; i < lq * dh; i++) q[i] = 4.0f * rand() / (float)RAND_MAX - 2.0f;
        for (int i = 0; i < lk * dh; i++) k[i] = 4.0f * rand() / (float)RAND_MAX - 2.0f;
        for (int i = 0; i < lk * dv; i++) v[i] = 2.0f * rand() / (float)RAND_MAX - 1.0f;
        float alpha = 1.0f / sqrtf((float)dh);
        lk_attention_pack_small(k, dh, lk, dh, kt, ldk, v, dv, dv, kt + dh * ldk);
        int reps = 40000000 / (lq * lk * (dh + dv)) + 3;
        double best = 1e9;
        for (int r = 0; r < 5; r++) {
            double t0 = now();
            for (int i = 0; i < reps; i++)
                for (int q0 = 0; q0 < lq; q0 += 64)
                    lk_attention_rows_small(q + q0 * dh, dh, lq - q0 < 64 ? lq - q0 : 64, dh, alpha, kt, lk, ldk,
                                            kt + dh * ldk, dv, o + q0 * dv, dv, -1, scratch);
            double t = (now() - t0) / reps;
            if (t < best) best = t;
        }
        double err = 0;
        for (int i = 0; i < lq; i++) {
            double sc[256], m = -1e300, sum = 0;
            for (int j = 0; j < lk; j++) {
                double d = 0;
                for (int c = 0; c < dh; c++) d += (double)q[i * dh + c] * k[j * dh + c];
                sc[j] = d * alpha;
                if (sc[j] > m) m = sc[j];
            }
            for (int j = 0; j < lk; j++) sum += (sc[j] = exp(sc[j] - m));
            for (int c = 0; c < dv; c++) {
                double acc = 0;
                for (int j = 0; j < lk; j++) acc += sc[j] * v[j * dv + c];
                double e = fabs(acc / sum - o[i * dv + c]);
                if (e > err) err = e;
            }
        }
        total += best;
        printf("%4d x %3d x %2d: %8.2f us  %5.2f ns  %.1e\n", lq, lk, dh, best * 1e6, best * 1e9 / ((double)lq * lk), err);
        free(q); free(k); free(v); free(kt); free(o); free(scratch);
    }
    printf("sum of the shapes: %.2f us\n", total * 1e6);
    return 0;
}
