#!/bin/bash
# Submits a sharded greenlight audit to Slurm: the shards as a job array, then the merge as a job
# that runs only after every array task has succeeded (--dependency=afterok).
#   CRITERIA=/shared/criteria.yaml PARTIALS=/shared/partials REPORT=/shared/report ./submit.sh [SHARDS]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
shards="${1:-3}"
: "${CRITERIA:?}" "${PARTIALS:?}" "${REPORT:?}"
export CRITERIA PARTIALS REPORT
array_job=$(sbatch --parsable --export=ALL --array="0-$((shards - 1))" "$here/audit-array.sbatch")
merge_job=$(sbatch --parsable --export=ALL --dependency="afterok:${array_job}" "$here/merge.sbatch")
echo "shards: job array ${array_job} (${shards} tasks); merge: job ${merge_job}"
