#!/usr/bin/env bash
# Start-up and size costs of safe-wrangler, as ratios against baselines measured in the same run
# (rounds interleave the variants, so machine noise hits them alike):
#   env -u   a stub `wrangler` (a /bin/sh script that exits 0) through `env -u CLOUDFLARE_API_TOKEN`
#   safe     the same through the safe-wrangler shim (lookup, classify, strip credentials, exec)
#   before   (with SAFE_WRANGLER_BENCH_BEFORE=<an older binary>) the same through that binary
#   static   (with BENCH_STATIC=PATH) the same through a shim to that binary, e.g. the npm
#            package's static build from scripts/npm-pack.sh
# Cases: no `.env` credential; a token in `.env` (safe-wrangler hands wrangler clean copies);
# a 1 MB config against a small one per call (`deploy --dry-run` reads it); peak RSS on a
# realistic 2 KB config. Usage: scripts/bench.sh [N]   (N calls per variant per round)
# The binary measured is the one install.sh builds (static on Linux with glibc), installed into a
# temporary prefix; SAFE_WRANGLER_BENCH_BIN=<binary> measures that one instead.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-300}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if [ -n "${SAFE_WRANGLER_BENCH_BIN:-}" ]; then
  bin="$SAFE_WRANGLER_BENCH_BIN"
else
  ./install.sh --prefix "$work/inst" >/dev/null
  bin="$work/inst/bin/safe-wrangler"
fi
mkdir -p "$work/real" "$work/shims" "$work/plain" "$work/dotenv" "$work/small" "$work/big"
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
  mkdir -p "$work/static"
  ln -s "$(cd "$(dirname "$static")" && pwd)/$(basename "$static")" "$work/static/wrangler"
fi
printf 'CLOUDFLARE_API_TOKEN=test-token-not-real\nOTHER=1\n' > "$work/dotenv/.env"
printf 'OTHER=2\n' > "$work/dotenv/.env.local"
python3 scripts/bench-configs.py realistic > "$work/small/wrangler.jsonc"
python3 scripts/bench-configs.py 1mb > "$work/big/wrangler.jsonc"
cp "$work/small/wrangler.jsonc" "$work/plain/wrangler.jsonc"
cp "$work/small/wrangler.jsonc" "$work/dotenv/wrangler.jsonc"
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
in_dir() { (cd "$1" && shift && time_ns "$@"); }

declare -A total
variants=(safe)
[ -n "$before" ] && variants+=(before)
[ -n "$static" ] && variants+=(static)
keys=(envu-plain envu-dotenv)
for v in "${variants[@]}"; do keys+=("$v-plain" "$v-dotenv" "$v-small" "$v-big"); done
for k in "${keys[@]}"; do total[$k]=0; done
local_call=(d1 migrations apply DB --local)
for round in 1 2 3 4 5; do
  for case in plain dotenv; do
    total[envu-$case]=$((total[envu-$case] + $(in_dir "$work/$case" env -u CLOUDFLARE_API_TOKEN "$work/real/wrangler" "${local_call[@]}")))
  done
  for v in "${variants[@]}"; do
    dir="$work/shims"
    [ "$v" = before ] && dir="$work/before"
    [ "$v" = static ] && dir="$work/static"
    for case in plain dotenv; do
      total[$v-$case]=$((total[$v-$case] + $(PATH="$dir:$work/real:$PATH" in_dir "$work/$case" "$dir/wrangler" "${local_call[@]}")))
    done
    for case in small big; do
      total[$v-$case]=$((total[$v-$case] + $(PATH="$dir:$work/real:$PATH" in_dir "$work/$case" "$dir/wrangler" deploy --dry-run)))
    done
  done
done
calls=$((5 * n))
per() { awk -v t="$1" -v c="$calls" 'BEGIN { printf "%.3f", t / c / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
over() { awk -v a="$1" -v b="$2" -v c="$calls" 'BEGIN { printf "%.2f", (a - b) / c / 1e6 }'; }
echo "calls per variant and case: $calls (stub wrangler; load average: $(cut -d' ' -f1-3 /proc/loadavg))"
echo "binary: $bin ($(ldd "$bin" 2>&1 | grep -q 'statically linked\|not a dynamic' && echo static || echo dynamic))"
echo "env -u, no .env:            $(per "${total[envu-plain]}") ms/call"
echo "env -u, token in .env:      $(per "${total[envu-dotenv]}") ms/call"
for v in "${variants[@]}"; do
  echo "$v:"
  echo "  no .env credential:       $(per "${total[$v-plain]}") ms/call, ratio to env -u $(ratio "${total[$v-plain]}" "${total[envu-plain]}")  (goal <= 1.15)"
  echo "  token in .env:            $(per "${total[$v-dotenv]}") ms/call, ratio to env -u $(ratio "${total[$v-dotenv]}" "${total[envu-dotenv]}")  (goal <= 1.30)"
  echo "  deploy --dry-run, 1 MB config: $(per "${total[$v-big]}") ms/call, $(over "${total[$v-big]}" "${total[$v-small]}") ms over the 2 KB config  (goal < 10)"
done
# Peak RSS (kB) of one guarded call on the realistic config (the stub's /bin/sh after exec is smaller).
rss() { (cd "$work/small" && PATH="$1:$work/real:$PATH" /usr/bin/time -f %M "$1/wrangler" deploy --dry-run 2>&1 >/dev/null | tail -1); }
if [ -x /usr/bin/time ]; then
  echo "peak RSS, realistic config: safe $(rss "$work/shims") kB$([ -n "$before" ] && echo ", before $(rss "$work/before") kB")  (goal < 4096 kB)"
fi
