#!/bin/bash
# The built-in model's GEMM shapes: OpenBLAS sgemm vs the engine's packed float32 kernel, one thread.
#   scripts/gemm/small.sh          (needs libopenblas-dev, clang; pin a core with taskset -c N)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.build/gemm-bench
mkdir -p "$out"
clang -O2 -mavx2 -mfma -I Sources/CLikenessKernels/include -I /usr/include/x86_64-linux-gnu/openblas-pthread \
    scripts/gemm/small_gemm_bench.c Sources/CLikenessKernels/sgemm.c -lopenblas -o "$out/small_gemm_bench"
"$out/small_gemm_bench" "$@"
