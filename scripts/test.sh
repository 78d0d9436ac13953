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

# One build of everything, with the test-only `test-issuer` feature: the OIDC tests point the
# binary at a fake issuer on 127.0.0.1 through SAFE_WRANGLER_TEST_ISSUER, which only such builds
# read. The release build below is a normal one and is checked to ignore it.
echo "== cargo clippy"
cargo clippy --locked --all-targets --features test-issuer --quiet -- -D warnings

echo "== npm packages (one static release build, reused by the tests in tests/it/npm.rs)"
npm_dir="$(mktemp -d)"
trap 'rm -rf "$npm_dir"' EXIT
scripts/npm-pack.sh "$npm_dir" >/dev/null

echo "== cargo test"
# INSTA_UPDATE=no: a snapshot that differs from the committed .snap fails its test and nothing is
# written (no .snap.new); review a change with INSTA_UPDATE=always and read every changed file.
SAFE_WRANGLER_NPM_DIR="$npm_dir" INSTA_UPDATE=no cargo test --locked --features test-issuer

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
# A normal (release) build ignores SAFE_WRANGLER_TEST_ISSUER: GitHub's issuer stays the one checked.
ci="$home/ci" && mkdir -p "$ci/project" "$ci/runner-temp"
printf '{"repository":{"full_name":"acme/shop"}}' >"$ci/event.json"
printf '{"approved_ci":[{"provider":"github-actions","repository":"acme/shop","refs":["refs/heads/main"],"classes":["production"],"oidc":true}]}' >"$ci/project/safe-wrangler.json"
issuer="$(cd "$ci/project" && env -i PATH=/usr/bin:/bin HOME="$home" GITHUB_ACTIONS=true \
  GITHUB_REPOSITORY=acme/shop GITHUB_RUN_ID=1 GITHUB_REF=refs/heads/main GITHUB_EVENT_NAME=push \
  GITHUB_EVENT_PATH="$ci/event.json" RUNNER_TEMP="$ci/runner-temp" \
  SAFE_WRANGLER_TEST_ISSUER=http://127.0.0.1:9 "$home/.local/bin/safe-wrangler" explain --json deploy \
  | sed -n 's/.*"ci_identity":{[^}]*"issuer":"\([^"]*\)".*/\1/p')"
[ "$issuer" = "https://token.actions.githubusercontent.com" ] \
  || { echo "release build: SAFE_WRANGLER_TEST_ISSUER must be ignored, issuer was '$issuer'" >&2; exit 1; }
HOME="$home" ./install.sh --uninstall >/dev/null
[ ! -e "$home/.local/bin/safe-wrangler" ]
echo "== all tests passed"
