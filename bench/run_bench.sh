#!/bin/sh
# make bench: bench/run_bench.sh BUILD_DIR [run_bench.py options]  (see bench/run_bench.py)
set -eu
build=${1:-build}
[ $# -gt 0 ] && shift
cd "$(dirname "$0")/.."
# Open MPI refuses root without these (the Makefile exports them too).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
exec /usr/bin/python3 bench/run_bench.py --build "$build" "$@"
