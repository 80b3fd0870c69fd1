#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) in BUILD_DIR and runs each for FUZZ_SECONDS
# on its seed corpus (fuzz/seeds/<target>, the shipped criteria, the example data) with the YAML/JSON
# dictionary. Fails on the first finding; the crashing input is left in BUILD_DIR/findings/<target>/.
#   FUZZ_SECONDS  seconds per target (default 60)
#   FUZZ_TARGETS  space-separated subset (default: all)
#   FUZZ_JOBS     targets run side by side (default 1)
#   FUZZ_SEED     libFuzzer's -seed (default 0: a new seed each run). A fixed seed does not make
#                 a run repeatable across machines (addresses differ), so a finding is printed
#                 with its input, base64-encoded, to replay it from the log.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_JOBS=${FUZZ_JOBS:-1}
FUZZ_SEED=${FUZZ_SEED:-0}
JOBS=${JOBS:-$(nproc)}
ALL="criteria envelope show_json partial csv idx base64 pem"
TARGETS=${FUZZ_TARGETS:-$ALL}

cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang-14 \
  -DCMAKE_CXX_COMPILER=clang++-14 -DGREENLIGHT_FUZZ=ON -DGREENLIGHT_BUILD_TESTS=OFF \
  -DGREENLIGHT_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS" --target $(for t in $TARGETS; do echo "fuzz_$t"; done)

# fuzz_criteria takes the metric catalog from the regular build's binary (see fuzz_criteria.cc).
GREENLIGHT=${GREENLIGHT:-build/cli/greenlight}
if [[ " $TARGETS " == *" criteria "* ]]; then
  "$GREENLIGHT" metrics --json >"$BUILD_DIR/catalog.json"
  export GREENLIGHT_FUZZ_CATALOG="$PWD/$BUILD_DIR/catalog.json"
fi

run_one() {
  local t=$1 rc
  local corpus="$BUILD_DIR/corpus/$t" findings="$BUILD_DIR/findings/$t"
  mkdir -p "$corpus" "$findings"
  local seeds=("fuzz/seeds/$t")
  case $t in
    criteria) seeds+=(criteria) ;;
    csv) seeds+=(examples/data) ;;
  esac
  # -use_value_profile helps through the string compares of the parsers; -timeout flags hangs.
  # Crash inputs land in $findings (artifact_prefix).
  "$BUILD_DIR/fuzz/fuzz_$t" "$corpus" "${seeds[@]}" -dict=fuzz/yaml_json.dict \
    -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=4096 -max_len=65536 \
    -use_value_profile=1 -seed="$FUZZ_SEED" -print_final_stats=1 -artifact_prefix="$findings/" \
    >"$BUILD_DIR/fuzz_$t.log" 2>&1 && rc=0 || rc=$?
  local execs
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$BUILD_DIR/fuzz_$t.log" | grep -o '[0-9]*$' || echo "?")
  if [ $rc -ne 0 ]; then
    echo "fuzz_$t: FINDING after $execs executions (exit $rc); see $BUILD_DIR/fuzz_$t.log"
    # The report from its start (the top of the stack says where), then the input itself, last,
    # so that a CI log's tail is enough to replay it.
    sed -n '/^==[0-9]*==\|^=* *ERROR\|deadly signal\|uncaught exception\|runtime error/,$p' \
      "$BUILD_DIR/fuzz_$t.log" | head -n 60
    local crash
    for crash in "$findings"/*; do
      [ -f "$crash" ] || continue
      echo "input ($(wc -c <"$crash") bytes), gzip'd and base64-encoded; replay with:"
      echo "  base64 -d <<'EOF' | gunzip >crash"
      head -c 65536 "$crash" | gzip -9 | base64 -w 100
      echo "EOF"
      echo "  $BUILD_DIR/fuzz/fuzz_$t crash"
    done
    return 1
  fi
  echo "fuzz_$t: $execs executions in ${FUZZ_SECONDS}s, no findings"
}

failed=0
pids=()
for t in $TARGETS; do
  if [ "$FUZZ_JOBS" -gt 1 ]; then
    run_one "$t" & pids+=($!)
    if [ ${#pids[@]} -ge "$FUZZ_JOBS" ]; then
      wait "${pids[0]}" || failed=1
      pids=("${pids[@]:1}")
    fi
  else
    run_one "$t" || failed=1
  fi
done
for p in "${pids[@]}"; do wait "$p" || failed=1; done
exit $failed
