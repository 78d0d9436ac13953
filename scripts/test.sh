#!/usr/bin/env bash
# Every test, from a fresh clone: installs the pinned real wrangler and Node 22 from npm (first
# run only), checks formatting and lints, runs the unit, integration and end-to-end tests, and
# installs a release build into a throw-away HOME with install.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== installing the pinned real wrangler for the end-to-end tests"
scripts/e2e-setup.sh >/dev/null

echo "== cargo fmt --check"
cargo fmt --check

echo "== cargo clippy"
cargo clippy --locked --all-targets --quiet -- -D warnings

echo "== npm packages (one static release build, reused by the tests in tests/it/npm.rs)"
npm_dir="$(mktemp -d)"
trap 'rm -rf "$npm_dir"' EXIT
scripts/npm-pack.sh "$npm_dir" >/dev/null

echo "== cargo test"
SAFE_WRANGLER_NPM_DIR="$npm_dir" cargo test --locked

echo "== install.sh in a temporary HOME (release build)"
# rustup and cargo find their homes through HOME unless told: keep the real ones.
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
home="$(mktemp -d)"
trap 'rm -rf "$home" "$npm_dir"' EXIT
HOME="$home" ./install.sh | tail -n 1
shim="$home/.local/lib/safe-wrangler/shims/wrangler"
[ "$(readlink -f "$shim")" = "$(readlink -f "$home/.local/bin/safe-wrangler")" ]
set +e
CLAUDECODE=1 PATH="$(dirname "$shim"):/usr/bin:/bin" "$shim" deploy </dev/null 2>/dev/null
code=$?
set -e
[ "$code" = 77 ] || { echo "installed shim: expected refusal 77 for an agent's deploy, got $code" >&2; exit 1; }
HOME="$home" ./install.sh --uninstall >/dev/null
[ ! -e "$home/.local/bin/safe-wrangler" ]
echo "== all tests passed"
