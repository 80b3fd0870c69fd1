#!/bin/sh
# The signed part of the default demo (`make demo`): create the demo key on first run (never
# overwriting one), run the default audit signed with it, then verify the envelope with the public
# key, the model and the criteria, as a regulator would. Prints "verified" on success.
#
# usage: scripts/demo-sign.sh [GREENLIGHT_BINARY] [OUT_DIR]
# The audit's exit code (0 pass, 1 fail, 2 inconclusive, ...) is kept; a failed verification
# exits 1 (3 or 4 on bad input or runtime errors).
set -eu
cd "$(dirname "$0")/.."
bin=${1:-build/cli/greenlight}
out=${2:-greenlight-report}
prefix=${GREENLIGHT_DEMO_KEY:-.demo-keys/demo}

if [ ! -e "$prefix.key" ]; then
  "$bin" keygen --out "$prefix"
elif [ ! -e "$prefix.pub" ]; then
  echo "demo-sign: $prefix.key exists but $prefix.pub does not; not touching either" >&2
  exit 3
fi

audit_rc=0
"$bin" audit --key "$prefix.key" --out "$out" || audit_rc=$?
if [ "$audit_rc" -ge 3 ]; then exit "$audit_rc"; fi

"$bin" verify "$out/report.dsse.json" --pubkey "$prefix.pub" \
  --model examples/models/fashion_cnn.pt --criteria criteria/demo.yaml
exit "$audit_rc"
