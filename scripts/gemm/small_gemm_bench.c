/* The built-in model's GEMM shapes (16x16 latents, batch 3): OpenBLAS sgemm against the engine's
 * packed kernel (Sources/CLikenessKernels/sgemm.c, lk_sgemm_packed), one thread, best of 5 rounds.
 * Each case is C[m, n] = A[m, k] W^T with W [n, k] a layer's weight: sgemm reads W as given (and
 * packs both operands inside the call), lk_sgemm_packed reads W packed once beforehand.
 * Built and run by scripts/gemm/small.sh. */
#include <cblas.h>
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
    openblas_set_num_threads(1);
    static const int shapes[][3] = {{768, 64, 64},   {768, 512, 64},  {768, 64, 256}, {768, 128, 128},
                                    {768, 1024, 128}, {192, 192, 192}, {231, 64, 128}, {768, 192, 192}};
    printf("m x n x k: OpenBLAS sgemm | lk_sgemm_packed (microseconds per call, GFLOP/s)\n");
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        float *a = malloc(sizeof(float) * m * k), *w = malloc(sizeof(float) * n * k), *c = malloc(sizeof(float) * m * n);
        float *p = malloc(sizeof(float) * lk_sgemm_packed_count(k, n));
        for (int i = 0; i < m * k; i++) a[i] = rand() / (float)RAND_MAX;
        for (int i = 0; i < n * k; i++) w[i] = rand() / (float)RAND_MAX;
        lk_sgemm_pack_bt(w, k, k, n, p);
        int reps = 20000000 / (m * n * k / 16 + 1) + 3;
        double best_blas = 1e9, best_packed = 1e9;
        for (int r = 0; r < 5; r++) {
            double t0 = now();
            for (int i = 0; i < reps; i++)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1, a, k, w, k, 0, c, n);
            double t1 = now();
            for (int i = 0; i < reps; i++) lk_sgemm_packed(m, n, k, a, k, p, 0, NULL, 0, c, n);
            double t2 = now();
            if ((t1 - t0) / reps < best_blas) best_blas = (t1 - t0) / reps;
            if ((t2 - t1) / reps < best_packed) best_packed = (t2 - t1) / reps;
        }
        double flops = 2.0 * m * n * k;
        printf("%4d x %4d x %4d: %7.1f us (%5.1f GFLOP/s) | %7.1f us (%5.1f GFLOP/s)\n", m, n, k, best_blas * 1e6,
               flops / best_blas / 1e9, best_packed * 1e6, flops / best_packed / 1e9);
        free(a); free(w); free(c); free(p);
    }
    return 0;
}
