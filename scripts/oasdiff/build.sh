#!/usr/bin/env bash
# Build oasdiff (github.com/oasdiff/oasdiff, pinned in scripts/oasdiff/go.mod, every module's hash in
# go.sum) into $1 (default: <repo>/.cache/oasdiff/oasdiff), from the Go module proxy.
# Skips the build when the binary is newer than go.mod and go.sum.
# Exits 3 with "go not found" when no Go toolchain is available, so callers can skip.
set -euo pipefail

src_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$src_dir/../.." && pwd)"
out="${1:-$repo_root/.cache/oasdiff/oasdiff}"

# shellcheck source=../go-toolchain.sh
. "$src_dir/../go-toolchain.sh"
out="$(absolute_path "$out")"

if [ -x "$out" ] && [ "$out" -nt "$src_dir/go.mod" ] && [ "$out" -nt "$src_dir/go.sum" ]; then
  echo "oasdiff: $out is up to date" >&2
  exit 0
fi

mkdir -p "$(dirname "$out")"
echo "oasdiff: building $out" >&2
cd "$src_dir"
version=$(GOFLAGS="${GOFLAGS:-} -mod=readonly" go list -m -f '{{.Version}}' github.com/oasdiff/oasdiff)
CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=readonly" go build -trimpath \
  -ldflags "-X github.com/oasdiff/oasdiff/build.Version=$version" -o "$out.tmp.$$" github.com/oasdiff/oasdiff
mv -f "$out.tmp.$$" "$out"
echo "oasdiff: built $out" >&2
