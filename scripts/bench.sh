#!/usr/bin/env bash
# Start-up cost of safe-wrangler, as ratios against baselines measured in the same run:
#   direct   a stub `wrangler` (a /bin/sh script that exits 0) called directly
#   env -u   the same through `env -u CLOUDFLARE_API_TOKEN` (the bare-minimum guard)
#   safe     the same through the safe-wrangler shim (lookup, classify, strip credentials, exec)
#   before   (with SAFE_WRANGLER_BENCH_BEFORE=<an older binary>) the same through that binary
#   static   (with BENCH_STATIC=PATH) the same through a shim to that binary, e.g. the npm
#            package's static build from scripts/npm-pack.sh
# Rounds interleave the variants so machine noise hits them alike. Usage: scripts/bench.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-500}"
cargo build --release --locked --quiet
bin="$PWD/target/release/safe-wrangler"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/real" "$work/shims" "$work/project"
printf '#!/bin/sh\nexit 0\n' > "$work/real/wrangler"
chmod +x "$work/real/wrangler"
ln -s "$bin" "$work/shims/wrangler"
before="${SAFE_WRANGLER_BENCH_BEFORE:-}"
if [ -n "$before" ]; then
  mkdir -p "$work/before"
  ln -s "$before" "$work/before/wrangler"
fi
static="${BENCH_STATIC:-}"
if [ -n "$static" ]; then
  mkdir -p "$work/shims-static"
  ln -s "$(cd "$(dirname "$static")" && pwd)/$(basename "$static")" "$work/shims-static/wrangler"
fi
cd "$work/project"
export CLOUDFLARE_API_TOKEN=test-token-not-real
# Every call writes an audit line: measure that cost, but never into the real log.
export SAFE_WRANGLER_LOG="$work/audit.jsonl"

time_ns() { # runs "$@" n times, prints nanoseconds
  local start end i
  start=$(date +%s%N)
  for ((i = 0; i < n; i++)); do "$@"; done
  end=$(date +%s%N)
  echo $((end - start))
}

declare -A total=([direct]=0 [envu]=0 [safe]=0 [before]=0 [static]=0)
for round in 1 2 3 4 5; do
  total[direct]=$((total[direct] + $(time_ns "$work/real/wrangler" d1 migrations apply DB --local)))
  total[envu]=$((total[envu] + $(time_ns env -u CLOUDFLARE_API_TOKEN "$work/real/wrangler" d1 migrations apply DB --local)))
  total[safe]=$((total[safe] + $(PATH="$work/shims:$work/real:$PATH" time_ns "$work/shims/wrangler" d1 migrations apply DB --local)))
  if [ -n "$before" ]; then
    total[before]=$((total[before] + $(PATH="$work/before:$work/real:$PATH" time_ns "$work/before/wrangler" d1 migrations apply DB --local)))
  fi
  if [ -n "$static" ]; then
    total[static]=$((total[static] + $(PATH="$work/shims-static:$work/real:$PATH" time_ns "$work/shims-static/wrangler" d1 migrations apply DB --local)))
  fi
done
calls=$((5 * n))
per() { awk -v t="$1" -v c="$calls" 'BEGIN { printf "%.3f", t / c / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "calls per variant: $calls (wrangler d1 migrations apply DB --local, stub wrangler)"
echo "direct:  $(per "${total[direct]}") ms/call"
echo "env -u:  $(per "${total[envu]}") ms/call"
echo "safe:    $(per "${total[safe]}") ms/call"
echo "ratio safe / env -u: $(ratio "${total[safe]}" "${total[envu]}")  (target <= 1.30)"
if [ -n "$before" ]; then
  echo "before:  $(per "${total[before]}") ms/call, ratio before / env -u: $(ratio "${total[before]}" "${total[envu]}")"
fi
echo "ratio safe / direct: $(ratio "${total[safe]}" "${total[direct]}")"
if [ -n "$static" ]; then
  echo "static:  $(per "${total[static]}") ms/call"
  echo "ratio static / env -u: $(ratio "${total[static]}" "${total[envu]}")  (target <= 1.30)"
fi
