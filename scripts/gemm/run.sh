#!/bin/bash
# GEMM shapes of the SD-1.5 UNet: OpenBLAS sgemm vs oneDNN bf16 vs the engine's bf16 kernel.
#   scripts/gemm/run.sh            (needs libopenblas-dev, libdnnl-dev, g++)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.build/gemm-bench
mkdir -p "$out"
clang -O3 -c Sources/CLikenessBF16/bf16gemm.c -I Sources/CLikenessBF16/include -o "$out/bf16gemm.o"
g++ -O3 -fopenmp scripts/gemm/gemm_bench.cpp "$out/bf16gemm.o" -I Sources/CLikenessBF16/include \
    -ldnnl -lopenblas -o "$out/gemm_bench"
"$out/gemm_bench" "$@"
