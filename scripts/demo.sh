#!/usr/bin/env bash
# The default audit: the shipped demo criteria on the example CNN; the report goes to
# ./greenlight-report/. The audit's exit code is passed through (0 pass, 1 fail, 2 inconclusive).
#
# The report is signed with a demo key, created on first run under .demo-keys/ (git-ignored; an
# existing key is never overwritten), and then verified as a regulator would: with the public key,
# the model file and the criteria file. A failed verification exits 1.
set -uo pipefail
cd "$(dirname "$0")/.."
greenlight=${1:-build/cli/greenlight}
out=greenlight-report
key=${GREENLIGHT_DEMO_KEY:-.demo-keys/demo}

if [[ ! -e "$key.key" && ! -e "$key.pub" ]]; then
  "$greenlight" keygen --out "$key" || exit $?
elif [[ ! -e "$key.key" || ! -e "$key.pub" ]]; then
  echo "demo: only one of $key.key and $key.pub exists; not touching either" >&2
  exit 3
fi

"$greenlight" audit --out "$out" --key "$key.key" --format console,html
audit_rc=$?
if (( audit_rc >= 3 )); then exit "$audit_rc"; fi

echo
"$greenlight" verify "$out/report.dsse.json" --pubkey "$key.pub" \
  --model examples/models/fashion_cnn.pt --criteria criteria/demo.yaml || exit $?
exit "$audit_rc"
