#!/usr/bin/env bash
# Step 3 of the safe-wrangler GitHub Action: `safe-wrangler doctor` for the project, written to
# the job summary. Doctor's findings fail the step only with SW_STRICT=true.
#
# Environment: SW_BINARY, SW_WORKING_DIRECTORY, SW_STRICT, GITHUB_STEP_SUMMARY.
set -euo pipefail
binary="${SW_BINARY:?SW_BINARY is not set}"
cd "${SW_WORKING_DIRECTORY:-.}"
set +e
report="$("$binary" doctor 2>&1)"
code=$?
set -e
{
  echo "### safe-wrangler doctor"
  echo
  echo '```'
  printf '%s\n' "$report"
  echo '```'
} >> "${GITHUB_STEP_SUMMARY:?GITHUB_STEP_SUMMARY is not set}"
printf '%s\n' "$report"
if [ "$code" -ne 0 ] && [ "${SW_STRICT:-false}" = true ]; then
  exit "$code"
fi
