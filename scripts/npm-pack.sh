#!/usr/bin/env bash
# Builds the npm packages and writes their tarballs into OUTDIR:
#
#   scripts/npm-pack.sh [--binary PLATFORM=PATH]... OUTDIR
#
#   safe-wrangler-VERSION.tgz                  the `safe-wrangler` package: a JS launcher, no
#                                              install scripts, exact-version optionalDependencies
#                                              on the platform packages packed in the same run
#   safe-wrangler-PLATFORM-VERSION.tgz         @safe-wrangler/PLATFORM with the native binary
#   safe-wrangler-VERSION-PLATFORM.tar.gz(.sha256)  the same binary as a release archive
#
# PLATFORM is linux-x64, linux-arm64, darwin-x64 or darwin-arm64. With no --binary, it builds
# linux-x64 here in one release build: a static musl binary when the x86_64-unknown-linux-musl
# target is installed, else a static glibc one (`-C target-feature=+crt-static`); both run on any
# x86-64 Linux, glibc or musl. The release workflow builds the other platforms and passes them in.
# `npm install --no-audit --no-fund OUTDIR/*.tgz` in a project then gives a working
# `npx safe-wrangler`. Set SAFE_WRANGLER_NPM_VERSION to pack another version than Cargo.toml's.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"

declare -A binaries=()
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) spec="${2:?--binary needs PLATFORM=PATH}"; shift 2 ;;
    --binary=*) spec="${1#--binary=}"; shift ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "npm-pack.sh: unknown option: $1" >&2; exit 64 ;;
    *) [ -z "$out" ] || { echo "npm-pack.sh: one OUTDIR only" >&2; exit 64; }; out="$1"; shift; continue ;;
  esac
  platform="${spec%%=*}" path="${spec#*=}"
  [ "$platform" != "$spec" ] || { echo "npm-pack.sh: --binary wants PLATFORM=PATH, got $spec" >&2; exit 64; }
  binaries[$platform]="$path"
done
[ -n "$out" ] || { echo "usage: $0 [--binary PLATFORM=PATH]... OUTDIR" >&2; exit 64; }

os_cpu() { # PLATFORM -> "os cpu" as npm spells them
  case "$1" in
    linux-x64) echo "linux x64" ;;
    linux-arm64) echo "linux arm64" ;;
    darwin-x64) echo "darwin x64" ;;
    darwin-arm64) echo "darwin arm64" ;;
    *) echo "npm-pack.sh: unknown platform $1 (linux-x64, linux-arm64, darwin-x64, darwin-arm64)" >&2; exit 64 ;;
  esac
}

if [ ${#binaries[@]} -eq 0 ]; then
  [ "$(uname -sm)" = "Linux x86_64" ] || { echo "npm-pack.sh: builds only on x86-64 Linux; pass --binary for other platforms" >&2; exit 69; }
  if rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl; then
    target=x86_64-unknown-linux-musl flags=""
  else
    # No musl target (it cannot be installed offline): a fully static glibc build instead.
    target=x86_64-unknown-linux-gnu flags="-C target-feature=+crt-static"
  fi
  echo "npm-pack.sh: building linux-x64 ($target${flags:+, $flags})" >&2
  (cd "$here" && RUSTFLAGS="$flags" cargo build --release --locked --quiet --target "$target")
  binaries[linux-x64]="$here/target/$target/release/safe-wrangler"
  if command -v ldd >/dev/null && ldd "${binaries[linux-x64]}" 2>&1 | grep -q '=>'; then
    echo "npm-pack.sh: ${binaries[linux-x64]} is dynamically linked" >&2
    exit 1
  fi
fi

version="${SAFE_WRANGLER_NPM_VERSION:-$(sed -n 's/^version = "\(.*\)"$/\1/p' "$here/Cargo.toml" | head -n 1)}"
[ -n "$version" ] || { echo "npm-pack.sh: no version in Cargo.toml" >&2; exit 1; }
mkdir -p "$out"
out="$(cd "$out" && pwd)"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

# Cargo.toml's license and repository, so the crate and the packages never disagree.
field() { sed -n "s/^$1 = \"\(.*\)\"$/\1/p" "$here/Cargo.toml" | head -n 1; }
license="$(field license)" repository="$(field repository)"

write_json() { # FILE NODE-STATEMENTS-USING-p: edits a package.json in place with node
  SW_VERSION="$version" SW_LICENSE="$license" SW_REPO="$repository" node -e '
    const fs = require("fs"); const file = process.argv[1];
    const p = JSON.parse(fs.readFileSync(file, "utf8"));
    p.version = process.env.SW_VERSION; p.license = process.env.SW_LICENSE;
    p.repository = { type: "git", url: "git+" + process.env.SW_REPO + ".git" };
    '"$2"'
    fs.writeFileSync(file, JSON.stringify(p, null, 2) + "\n");' "$1"
}

optional="{"
for platform in $(printf '%s\n' "${!binaries[@]}" | sort); do
  read -r os cpu <<<"$(os_cpu "$platform")"
  binary="${binaries[$platform]}"
  [ -x "$binary" ] || { echo "npm-pack.sh: $binary is not an executable" >&2; exit 66; }
  dir="$stage/$platform"
  mkdir -p "$dir/bin"
  cp "$here/npm/platform/package.json" "$dir/package.json"
  cp "$binary" "$dir/bin/safe-wrangler"
  chmod 0755 "$dir/bin/safe-wrangler"
  printf '# @safe-wrangler/%s\n\nThe safe-wrangler binary for %s %s. Install the `safe-wrangler` package instead; it picks this one.\n' \
    "$platform" "$os" "$cpu" > "$dir/README.md"
  write_json "$dir/package.json" "
    p.name = '@safe-wrangler/$platform';
    p.description = p.description.replace(/PLATFORM/g, '$platform');
    p.os = ['$os']; p.cpu = ['$cpu'];"
  (cd "$dir" && npm pack --silent --pack-destination "$out" >/dev/null)
  "$here/scripts/release-archive.sh" "$binary" "$platform" "$version" "$out" >/dev/null
  optional="$optional\"@safe-wrangler/$platform\":\"$version\","
done
optional="${optional%,}}"

main="$stage/safe-wrangler"
mkdir -p "$main/bin"
cp "$here/npm/safe-wrangler/package.json" "$main/package.json"
cp "$here/npm/safe-wrangler/bin/safe-wrangler.js" "$main/bin/safe-wrangler.js"
cp "$here/README.md" "$main/README.md"
write_json "$main/package.json" "p.optionalDependencies = $optional;"
(cd "$main" && npm pack --silent --pack-destination "$out" >/dev/null)
ls "$out"/*.tgz
