#!/usr/bin/env bash
# Step 1 of the safe-wrangler GitHub Action (action.yml): download a pinned release archive,
# verify its SHA-256, unpack it under $RUNNER_TEMP, create the `wrangler` shim, and put the shim
# first on PATH for the following steps (through $GITHUB_PATH).
#
# Environment: SW_VERSION (required, e.g. 0.1.0), SW_SHA256 (the archive's expected SHA-256; when
# empty, the release's own .sha256 file is used, which proves integrity but not origin),
# SW_BASE_URL (where release archives live: https://github.com/OWNER/REPO/releases/download,
# or file:///dir for tests), RUNNER_TEMP, GITHUB_PATH, GITHUB_OUTPUT (set by GitHub Actions).
set -euo pipefail
say() { echo "safe-wrangler action: $*" >&2; }
version="${SW_VERSION:?the version input is required (pin one, e.g. 0.1.0)}"
base="${SW_BASE_URL:?SW_BASE_URL is not set}"
temp="${RUNNER_TEMP:?RUNNER_TEMP is not set}"
case "$version" in
  *[!0-9A-Za-z.+-]* | "") say "version '$version' is not a version number"; exit 64 ;;
esac
version="${version#v}"

case "$(uname -s) $(uname -m)" in
  "Linux x86_64") platform=linux-x64 ;;
  "Linux aarch64" | "Linux arm64") platform=linux-arm64 ;;
  "Darwin x86_64") platform=darwin-x64 ;;
  "Darwin arm64") platform=darwin-arm64 ;;
  *) say "no release build for $(uname -s) $(uname -m)"; exit 69 ;;
esac

sha256() { if command -v sha256sum >/dev/null; then sha256sum "$1"; else shasum -a 256 "$1"; fi | cut -d' ' -f1; }

name="safe-wrangler-$version-$platform"
prefix="$temp/safe-wrangler"
download="$(mktemp -d "$temp/safe-wrangler-download.XXXXXX")"
trap 'rm -rf "$download"' EXIT
curl -fsSL --retry 3 --proto '=https,file' -o "$download/$name.tar.gz" "$base/v$version/$name.tar.gz"
expected="$(printf '%s' "${SW_SHA256:-}" | tr 'A-F' 'a-f')"
if [ -z "$expected" ]; then
  curl -fsSL --retry 3 --proto '=https,file' -o "$download/$name.tar.gz.sha256" "$base/v$version/$name.tar.gz.sha256"
  expected="$(cut -d' ' -f1 "$download/$name.tar.gz.sha256")"
fi
case "$expected" in
  *[!0-9a-f]* | "") say "the expected SHA-256 '$expected' is not 64 hex digits"; exit 65 ;;
esac
[ "${#expected}" -eq 64 ] || { say "the expected SHA-256 '$expected' is not 64 hex digits"; exit 65; }
actual="$(sha256 "$download/$name.tar.gz")"
if [ "$actual" != "$expected" ]; then
  say "checksum mismatch for $name.tar.gz: expected $expected, got $actual; nothing installed"
  exit 1
fi

mkdir -p "$prefix"
rm -rf "${prefix:?}/$name"
tar -xzf "$download/$name.tar.gz" -C "$prefix" "$name/safe-wrangler"
binary="$prefix/$name/safe-wrangler"
"$binary" shim --prefix "$prefix" >/dev/null
shims="$prefix/lib/safe-wrangler/shims"
# Each line of $GITHUB_PATH is put in front of PATH in turn: the last line ends up first.
{ echo "$prefix/$name"; echo "$shims"; } >> "${GITHUB_PATH:?GITHUB_PATH is not set}"
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  { echo "binary=$binary"; echo "shims=$shims"; } >> "$GITHUB_OUTPUT"
fi
say "installed $name (sha256 $actual); $shims/wrangler comes first on PATH"
