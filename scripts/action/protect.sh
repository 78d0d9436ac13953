#!/usr/bin/env bash
# Step 2 of the safe-wrangler GitHub Action: `safe-wrangler protect` in the project, so npx and
# package.json scripts reach wrangler only through safe-wrangler. Before `npm ci` there is no
# node_modules/.bin/wrangler yet: then it says so (the project's "postinstall": "safe-wrangler
# protect" does it during `npm ci`, with safe-wrangler already on PATH).
#
# Environment: SW_BINARY (the installed binary), SW_WORKING_DIRECTORY (the project).
set -euo pipefail
binary="${SW_BINARY:?SW_BINARY is not set}"
cd "${SW_WORKING_DIRECTORY:-.}"
dir="$PWD"
while :; do
  if [ -e "$dir/node_modules/.bin/wrangler" ] || [ -L "$dir/node_modules/.bin/wrangler" ]; then
    exec "$binary" protect
  fi
  [ "$dir" != / ] || break
  dir="$(dirname "$dir")"
done
echo "safe-wrangler action: no node_modules/.bin/wrangler yet; add \"postinstall\": \"safe-wrangler protect\" to package.json so \`npm ci\` protects it" >&2
