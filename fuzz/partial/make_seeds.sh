#!/usr/bin/env bash
# Writes fuzz_partial's seed corpus (fuzz/seeds/partial/) from real sharded audits of the criteria
# in this folder: for each, the partials of 2 shards and of 1 shard, each set as one JSON array
# (fuzz_partial's input). Needs the built greenlight and the example models (make models).
#   GREENLIGHT  the binary (default build/cli/greenlight)
set -euo pipefail
cd "$(dirname "$0")/../.."
GREENLIGHT=${GREENLIGHT:-build/cli/greenlight}
out=fuzz/seeds/partial
# Shards write inside the tree, so that the partials name their files relative to it.
work=$(mktemp -d "$PWD/build/.fuzz-seeds.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
for criteria in fuzz/partial/*.yaml; do
  name=$(basename "$criteria" .yaml)
  for n in 1 2; do
    files=()
    for ((i = 0; i < n; i++)); do
      "$GREENLIGHT" -q audit -c "$criteria" --shard "$i/$n" --out "$work/$name-$n-$i" >/dev/null
      files+=("$work/$name-$n-$i/partial.json")
    done
    /usr/bin/python3 -c 'import json, sys; print(json.dumps([json.load(open(f)) for f in sys.argv[1:]]))' \
      "${files[@]}" >"$out/$name-$n-shards.json"
  done
done
ls -l "$out"
