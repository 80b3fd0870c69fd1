#!/usr/bin/env bash
# Runs a greenlight audit in a CI job and turns its verdict into the job's result.
#
#   audit.sh CRITERIA OUT_DIR [more `greenlight audit` options, e.g. --key vendor.key]
#
# Writes OUT_DIR/report.json with report.html, report.junit.xml, report.md, report.github.txt and
# report.sarif beside it, and prints the console table. On GitHub Actions it also prints the
# annotations (each failing criterion is marked at its line in the criteria file) and appends
# the Markdown summary to $GITHUB_STEP_SUMMARY.
#
# Environment:
#   GREENLIGHT                  the greenlight program (default: greenlight on PATH)
#   GREENLIGHT_ON_INCONCLUSIVE  fail (default) or pass: what an INCONCLUSIVE verdict does to the
#                               job. INCONCLUSIVE means the data could not decide a criterion at
#                               its confidence (an interval straddles the threshold): neither a
#                               pass nor a fail, so the choice is the pipeline owner's, made here
#                               explicitly.
#
# Exit status (greenlight's own): 0 the gate passes; 1 a mandatory criterion failed; 2
# INCONCLUSIVE with GREENLIGHT_ON_INCONCLUSIVE=fail; 3 bad input (criteria, model, data or
# options; no report is written); 4 a mandatory criterion could not be measured, or greenlight
# could not run.
set -uo pipefail

if [ $# -lt 2 ]; then
  echo "usage: audit.sh CRITERIA OUT_DIR [greenlight audit options]" >&2
  exit 3
fi
criteria=$1
out=$2
shift 2
greenlight=${GREENLIGHT:-greenlight}
on_inconclusive=${GREENLIGHT_ON_INCONCLUSIVE:-fail}
case $on_inconclusive in
  fail | pass) ;;
  *)
    echo "audit.sh: GREENLIGHT_ON_INCONCLUSIVE must be fail or pass, not '$on_inconclusive'" >&2
    exit 3
    ;;
esac

"$greenlight" audit --criteria "$criteria" --out "$out" \
  --format console,junit,markdown,github,html,sarif "$@"
rc=$?

if [ "$rc" -ne 3 ] && [ -f "$out/report.md" ]; then
  if [ "${GITHUB_ACTIONS:-}" = "true" ]; then
    cat "$out/report.github.txt"
  fi
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    cat "$out/report.md" >>"$GITHUB_STEP_SUMMARY"
  fi
fi

case $rc in
  0) echo "greenlight gate: PASS" ;;
  1) echo "greenlight gate: FAIL (a mandatory criterion failed; see $out/report.html)" ;;
  2)
    if [ "$on_inconclusive" = "pass" ]; then
      echo "greenlight gate: INCONCLUSIVE, let through (GREENLIGHT_ON_INCONCLUSIVE=pass)"
      [ "${GITHUB_ACTIONS:-}" = "true" ] &&
        echo "::warning title=greenlight::INCONCLUSIVE verdict let through by GREENLIGHT_ON_INCONCLUSIVE=pass"
      rc=0
    else
      echo "greenlight gate: INCONCLUSIVE (the data could not decide at the criteria's confidence; set GREENLIGHT_ON_INCONCLUSIVE=pass to let it through)"
    fi
    ;;
  3) echo "greenlight gate: bad input (criteria, model or data); no report was written" ;;
  *) echo "greenlight gate: ERROR (exit $rc: a mandatory criterion could not be measured, or greenlight could not run)" ;;
esac
exit "$rc"
