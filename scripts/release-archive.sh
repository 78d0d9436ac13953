#!/usr/bin/env bash
# Packs one built binary as a release archive with its checksum file:
#   scripts/release-archive.sh BINARY PLATFORM VERSION OUTDIR
# writes OUTDIR/safe-wrangler-VERSION-PLATFORM.tar.gz (safe-wrangler-VERSION-PLATFORM/safe-wrangler
# plus README.md) and OUTDIR/safe-wrangler-VERSION-PLATFORM.tar.gz.sha256 (`sha256sum` format).
# PLATFORM is the npm platform name: linux-x64, linux-arm64, darwin-x64, darwin-arm64. Used by
# scripts/npm-pack.sh and the release workflow; the CI action installs these archives.
set -euo pipefail
[ $# -eq 4 ] || { echo "usage: $0 BINARY PLATFORM VERSION OUTDIR" >&2; exit 64; }
binary="$1" platform="$2" version="$3" out="$4"
here="$(cd "$(dirname "$0")/.." && pwd)"
[ -x "$binary" ] || { echo "release-archive.sh: $binary is not an executable" >&2; exit 66; }
name="safe-wrangler-$version-$platform"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/$name" "$out"
cp "$binary" "$stage/$name/safe-wrangler"
chmod 0755 "$stage/$name/safe-wrangler"
cp "$here/README.md" "$stage/$name/README.md"
# Reproducible: fixed owner, order and times, so the checksum depends on the contents only.
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='@0' \
  -C "$stage" -czf "$out/$name.tar.gz" "$name"
(cd "$out" && sha256sum "$name.tar.gz" > "$name.tar.gz.sha256")
echo "$out/$name.tar.gz"
