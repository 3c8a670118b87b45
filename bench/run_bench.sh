#!/bin/sh
# make bench: bench/run_bench.sh BUILD_DIR [run_bench.py options]  (see bench/run_bench.py)
set -eu
build=${1:-build}
[ $# -gt 0 ] && shift
cd "$(dirname "$0")/.."
# Open MPI refuses root without these (the Makefile exports them too).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# glibc keeps freed memory in the heap instead of returning large blocks to the OS: PyTorch needs
# it (its seed-LM throughput doubles); tbptt, which allocates nothing per update, is unaffected.
# Both sides run under the same setting.
export MALLOC_MMAP_THRESHOLD_=2147483648 MALLOC_TRIM_THRESHOLD_=4294967296
exec /usr/bin/python3 bench/run_bench.py --build "$build" "$@"
