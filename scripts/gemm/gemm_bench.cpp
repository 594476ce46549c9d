// GEMM throughput on the SD-1.5 UNet's convolution and linear shapes (64x64 latents, batch 2):
// OpenBLAS sgemm (float32) against oneDNN's bfloat16 matmul and the engine's own bfloat16
// micro-kernel (Sources/CLikenessBF16), at 1 and 2 threads. Built and run by scripts/gemm/run.sh.
//
// Each case is C[M, N] = A[M, K] * B[K, N] with the constant operand (the layer's weights) in
// its prepared form and the activation operand converted/packed inside the timed call, as the
// engine runs it: a convolution (im2col) has weights A [Cout, Cin*9] and activations B
// [Cin*9, plane]; a linear layer has activations A [rows, in] and weights B = W^T [in, out].
#include <cblas.h>
#include <dnnl.hpp>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <random>
#include <vector>

extern "C" {
#include "likeness_bf16.h"
void openblas_set_num_threads(int);
char *openblas_get_corename(void);
}

struct Shape { const char *what; int m, n, k; bool conv; };

static double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

template <class F> static double best_of(F f, double flop) {
    f();
    double best = 1e9;
    int reps = std::max(3, std::min(20, int(2e10 / flop)));
    for (int r = 0; r < reps; r++) { double t = now(); f(); best = std::min(best, now() - t); }
    return flop / best / 1e9;
}

int main(int argc, char **argv) {
    std::vector<Shape> shapes = {
        {"conv 320->320 3x3 @64x64", 320, 4096, 2880, true},
        {"conv 640->640 3x3 @32x32 (x2 imgs)", 640, 2048, 5760, true},
        {"conv 1280->1280 3x3 @16x16 (x2)", 1280, 512, 11520, true},
        {"conv 1280->1280 3x3 @8x8 (x2)", 1280, 128, 11520, true},
        {"linear 320->320, 8192 rows", 8192, 320, 320, false},
        {"linear 320->2560 (GEGLU), 8192 rows", 8192, 2560, 320, false},
        {"linear 1280->320 (FF out), 8192 rows", 8192, 320, 1280, false},
        {"linear 640->5120 (GEGLU), 2048 rows", 2048, 5120, 640, false},
        {"linear 1280->1280, 512 rows", 512, 1280, 1280, false},
    };
    std::mt19937 rng(0);
    std::normal_distribution<float> nd;
    printf("openblas core %s, avx512_bf16 %d\n", openblas_get_corename(), lk_bf16_supported());
    printf("| shape | M | N | K | thr | OpenBLAS sgemm | oneDNN bf16 | own bf16 | own/sgemm |\n");
    printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    dnnl::engine eng(dnnl::engine::kind::cpu, 0);
    dnnl::stream strm(eng);
    // Optional arguments: thread counts to run (default 1 2), e.g. `gemm_bench 1`.
    std::vector<int> thread_counts;
    for (int i = 1; i < argc; i++) thread_counts.push_back(atoi(argv[i]));
    if (thread_counts.empty()) thread_counts = {1, 2};
    for (int threads : thread_counts) {
        openblas_set_num_threads(threads);
        omp_set_num_threads(threads);
        for (auto &s : shapes) {
            const int M = s.m, N = s.n, K = s.k;
            std::vector<float> A(size_t(M) * K), B(size_t(K) * N), C(size_t(M) * N), C2(size_t(M) * N);
            for (auto &x : A) x = nd(rng);
            for (auto &x : B) x = nd(rng);
            double flop = 2.0 * M * N * K;
            // (a) OpenBLAS sgemm
            double g_sgemm = best_of([&] {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, A.data(), K, B.data(), N, 0, C.data(), N);
            }, flop);
            // (b) oneDNN bf16 matmul: src = activation (f32 -> bf16 reorder in the timed call),
            // weights = the constant operand in oneDNN's preferred layout. A conv is run transposed
            // (C^T = B^T A^T) so the activation is the src operand.
            using tag = dnnl::memory::format_tag;
            using dt = dnnl::memory::data_type;
            int sm = s.conv ? N : M, sn = s.conv ? M : N;
            dnnl::memory::desc src_f32({sm, K}, dt::f32, s.conv ? tag::ba : tag::ab);
            dnnl::memory::desc src_bf({sm, K}, dt::bf16, tag::ab);
            dnnl::memory::desc wei_any({K, sn}, dt::bf16, tag::any);
            dnnl::memory::desc wei_f32({K, sn}, dt::f32, s.conv ? tag::ba : tag::ab);
            dnnl::memory::desc dst_d({sm, sn}, dt::f32, tag::ab);
            auto pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(src_bf, wei_any, dst_d), eng);
            dnnl::memory src_mem(src_f32, eng, s.conv ? B.data() : A.data());
            dnnl::memory srcb(src_bf, eng);
            dnnl::memory weif(wei_f32, eng, s.conv ? A.data() : B.data());
            dnnl::memory wei(pd.weights_desc(), eng);
            dnnl::reorder(weif, wei).execute(strm, weif, wei);
            dnnl::memory dst(dst_d, eng, C2.data());
            dnnl::matmul mm(pd);
            dnnl::reorder rs(src_mem, srcb);
            double g_dnnl = best_of([&] {
                rs.execute(strm, src_mem, srcb);
                mm.execute(strm, {{DNNL_ARG_SRC, srcb}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DST, dst}});
                strm.wait();
            }, flop);
            // (c) own kernel. conv: A (weights) converted once, B (im2col) packed on the fly;
            // linear: B (weights) packed once, A (activations) converted in the call.
            size_t lda = lk_bf16_row_stride(K);
            std::vector<uint16_t> a16(size_t(M) * lda);
            std::vector<float> Bt(size_t(N) * K);
            std::vector<uint16_t> pb(lk_bf16_packed_b_count(K, N));
            if (s.conv) {
                lk_bf16_convert_rows(A.data(), K, M, K, a16.data(), lda);
            } else {
                for (int i = 0; i < K; i++) for (int j = 0; j < N; j++) Bt[size_t(j) * K + i] = B[size_t(i) * N + j];
                lk_bf16_pack_b_trans(Bt.data(), nullptr, 0, K, K, N, pb.data());
            }
            double g_own = best_of([&] {
                if (s.conv) {
                    int panels = (N + LK_BF16_NR - 1) / LK_BF16_NR;
#pragma omp parallel for schedule(static)
                    for (int t = 0; t < threads; t++) {
                        int p0 = panels * t / threads, p1 = panels * (t + 1) / threads;
                        int j0 = p0 * LK_BF16_NR, j1 = std::min(N, p1 * LK_BF16_NR);
                        if (j1 > j0)
                            lk_bf16_gemm(M, j1 - j0, K, a16.data(), lda, B.data() + j0, N, nullptr, 0, 0, 0, C2.data() + j0, N);
                    }
                } else {
#pragma omp parallel for schedule(static)
                    for (int t = 0; t < threads; t++) {
                        int r0 = M * t / threads, r1 = M * (t + 1) / threads;
                        lk_bf16_convert_rows(A.data() + size_t(r0) * K, K, r1 - r0, K, a16.data() + size_t(r0) * lda, lda);
                        lk_bf16_gemm(r1 - r0, N, K, a16.data() + size_t(r0) * lda, lda, nullptr, 0, pb.data(), N, 0, 0,
                                     C2.data() + size_t(r0) * N, N);
                    }
                }
            }, flop);
            // check the own kernel against sgemm
            double err = 0, ref = 0;
            for (size_t i = 0; i < C.size(); i++) { err = std::max(err, double(std::fabs(C[i] - C2[i]))); ref = std::max(ref, double(std::fabs(C[i]))); }
            printf("| %s | %d | %d | %d | %d | %.0f | %.0f | %.0f | %.2f |%s\n", s.what, M, N, K, threads, g_sgemm, g_dnnl, g_own,
                   g_own / g_sgemm, err / ref > 2e-2 ? " MISMATCH" : "");
            fflush(stdout);
        }
    }
}
