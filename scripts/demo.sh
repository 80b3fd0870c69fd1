#!/usr/bin/env bash
# The default audit: the shipped demo criteria on the example CNN; the report goes to
# ./greenlight-report/. The audit's exit code is passed through (0 pass, 1 fail, 2 inconclusive).
set -uo pipefail
greenlight=${1:-build/cli/greenlight}
"$greenlight" audit --out greenlight-report
