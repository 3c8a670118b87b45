#!/bin/sh
# Fuzzes the experiment parser for a bounded time: run_fuzzer.sh FUZZER SECONDS WORK_DIR
#
# Seeds: tests/fuzz/seeds, tests/fuzz/regressions, the malformed corpus tests/bad_input and the
# experiments. New inputs go to WORK_DIR/corpus (thrown away: CI starts from the seeds each time).
# A crash, a sanitizer report, a broken property (FuzzViolation), an input slower than 10 s or
# one needing more than 2 GB fails, and leaves the input in WORK_DIR/artifacts: copy it into
# tests/fuzz/regressions/ with the fix, so every build replays it (test_fuzz_replay).
set -eu
fuzzer=$1 seconds=$2 work=$3
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
rm -rf "$work/corpus"
mkdir -p "$work/corpus" "$work/artifacts"
status=0
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 -use_value_profile=1 \
  -dict="$here/experiment.dict" -artifact_prefix="$work/artifacts/" -print_final_stats=1 \
  "$work/corpus" "$here/seeds" "$here/regressions" "$src/tests/bad_input" "$src/experiments" || status=$?
if [ "$status" -ne 0 ]; then
  echo "run_fuzzer.sh: the fuzzer found a problem (exit $status); reproducer(s):" >&2
  ls -l "$work/artifacts" >&2
  echo "replay one with: $fuzzer FILE; keep it in tests/fuzz/regressions/ once fixed" >&2
fi
exit "$status"
