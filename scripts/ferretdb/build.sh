#!/usr/bin/env bash
# Build the embedded FerretDB runner (scripts/ferretdb) into $1
# (default: <repo>/.cache/ferretdb/ferretdb).
# Skips the build when the binary is newer than main.go, go.mod and go.sum.
# Exits 3 with "go not found" when no Go toolchain is available, so callers can skip.
set -euo pipefail

src_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$src_dir/../.." && pwd)"
out="${1:-$repo_root/.cache/ferretdb/ferretdb}"

# shellcheck source=../go-toolchain.sh
. "$src_dir/../go-toolchain.sh"
out="$(absolute_path "$out")"

if [ -x "$out" ] &&
  [ "$out" -nt "$src_dir/main.go" ] &&
  [ "$out" -nt "$src_dir/go.mod" ] &&
  [ "$out" -nt "$src_dir/go.sum" ]; then
  echo "ferretdb: $out is up to date" >&2
  exit 0
fi

mkdir -p "$(dirname "$out")"
echo "ferretdb: building $out" >&2
cd "$src_dir"
CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=readonly" go build -trimpath -o "$out.tmp.$$" .
mv -f "$out.tmp.$$" "$out"
echo "ferretdb: built $out" >&2
