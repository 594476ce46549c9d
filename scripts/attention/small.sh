#!/bin/bash
# The small-head attention kernel (lk_attention_rows_small) on the built-in model's shapes, one thread.
#   scripts/attention/small.sh [KERNELS_C]   (default Sources/CLikenessKernels/kernels.c; needs clang;
#                                            pin a core with taskset -c N)
# Pass an older kernels.c (git show REV:Sources/CLikenessKernels/kernels.c > /tmp/old.c) to compare.
set -euo pipefail
cd "$(dirname "$0")/../.."
src=${1:-Sources/CLikenessKernels/kernels.c}
out=.build/attention-bench
mkdir -p "$out"
bin="$out/small_bench_$(basename "$src" .c)"
clang -O3 -I Sources/CLikenessKernels/include -I Sources/CLikenessKernels -I Sources/CLikenessBF16/include scripts/attention/small_bench.c "$src" Sources/CLikenessBF16/bf16gemm.c -lm -o "$bin"
"$bin"
