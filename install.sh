#!/usr/bin/env bash
# Builds safe-wrangler in release mode and installs it with its `wrangler` shim.
#
#   ./install.sh [--prefix DIR] [--binary PATH] [--uninstall]
#
#   --prefix DIR   install under DIR (default: ~/.local): DIR/bin/safe-wrangler and
#                  DIR/lib/safe-wrangler/shims/wrangler (a symlink to the binary)
#   --binary PATH  install this already-built binary instead of building one
#   --uninstall    remove what an install put there
#
# Idempotent. Never edits shell start-up files: it prints the one PATH line to add.
set -euo pipefail

prefix="${HOME:?HOME is not set}/.local"
binary=""
uninstall=0
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="${2:?--prefix needs a directory}"; shift 2 ;;
    --prefix=*) prefix="${1#--prefix=}"; shift ;;
    --binary) binary="${2:?--binary needs a path}"; shift 2 ;;
    --binary=*) binary="${1#--binary=}"; shift ;;
    --uninstall) uninstall=1; shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown argument: $1 (try --help)" >&2; exit 64 ;;
  esac
done

bin_dir="$prefix/bin"
shim_dir="$prefix/lib/safe-wrangler/shims"

if [ "$uninstall" = 1 ]; then
  rm -f "$shim_dir/wrangler" "$bin_dir/safe-wrangler"
  rmdir "$shim_dir" "$prefix/lib/safe-wrangler" 2>/dev/null || true
  echo "safe-wrangler: removed from $prefix. Remove $shim_dir from PATH in your shell profile if you added it."
  exit 0
fi

if [ -z "$binary" ]; then
  here="$(cd "$(dirname "$0")" && pwd)"
  command -v cargo >/dev/null || { echo "install.sh: cargo not found: install Rust from https://rustup.rs" >&2; exit 69; }
  # On Linux with glibc the binary is linked statically (crt-static): no dynamic loader, no
  # libgcc_s, about 1 ms less per wrangler call (README "Speed"). `--target` keeps the flag off
  # the build's proc macros. SAFE_WRANGLER_DYNAMIC=1 builds the ordinary dynamic binary.
  echo "safe-wrangler: [1/3] building the release binary (about two minutes the first time; cargo shows its progress)..."
  host="$(rustc -vV 2>/dev/null | sed -n 's/^host: //p')" || host=""
  if [ -z "${SAFE_WRANGLER_DYNAMIC:-}" ] && [[ "$host" == *-linux-gnu ]]; then
    (cd "$here" && RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
      cargo build --release --locked --target "$host")
    binary="$here/target/$host/release/safe-wrangler"
  else
    (cd "$here" && cargo build --release --locked)
    binary="$here/target/release/safe-wrangler"
  fi
fi
[ -x "$binary" ] || { echo "install.sh: $binary is not an executable" >&2; exit 66; }
[ -z "${here:-}" ] && echo "safe-wrangler: [1/3] using the binary $binary"

echo "safe-wrangler: [2/3] installing into $prefix..."
mkdir -p "$bin_dir" "$shim_dir"
# Copy then rename, so a running safe-wrangler is never half-overwritten.
tmp="$bin_dir/.safe-wrangler.$$"
cp "$binary" "$tmp"
chmod 0755 "$tmp"
mv -f "$tmp" "$bin_dir/safe-wrangler"
ln -sfn "$bin_dir/safe-wrangler" "$shim_dir/wrangler"

echo "safe-wrangler: [3/3] installed $bin_dir/safe-wrangler and the shim $shim_dir/wrangler"
echo
echo "Next steps:"
echo "  1. Add this line to your shell profile (~/.bashrc, ~/.zshrc) so the shim comes before any other wrangler:"
echo "       export PATH=\"$shim_dir:$bin_dir:\$PATH\""
echo "     then open a new shell."
echo "  2. Log in once with your own account (safe-wrangler keeps API tokens away from wrangler):"
echo "       wrangler login"
echo "  3. Check this shell and a project:"
echo "       safe-wrangler doctor"
echo "  4. Stop coding agents before they run production work (per project, committed with it):"
echo "       safe-wrangler hook install claude --project    # or codex, gemini, copilot, cursor"
echo "  5. Guard npx wrangler and npm scripts in each project:"
echo "       safe-wrangler protect"
echo "     and keep it after npm install with a postinstall script in package.json:"
echo "       \"postinstall\": \"safe-wrangler protect\""
