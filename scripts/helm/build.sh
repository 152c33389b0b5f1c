#!/usr/bin/env bash
# Build the pinned Helm CLI from the Go module proxy into $1
# (default: <repo>/.cache/helm/<version>/helm). The module's checksum is verified against the
# Go checksum database by `go install`, so the binary is exactly the pinned release's source.
# Skips the build when the binary for the pinned version is already there. Prints the binary's
# path on stdout (progress goes to stderr).
# Exits 3 with "go not found" when no Go toolchain is available, so callers can skip.
set -euo pipefail

# The one place that pins Helm.
helm_version="v3.22.0"

src_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$src_dir/../.." && pwd)"
out="${1:-$repo_root/.cache/helm/$helm_version/helm}"

# shellcheck source=../go-toolchain.sh
. "$src_dir/../go-toolchain.sh"
out="$(absolute_path "$out")"

if [ -x "$out" ] && "$out" version --template '{{.Version}}' 2>/dev/null | grep -qx "$helm_version"; then
  echo "helm: $out ($helm_version) is up to date" >&2
  echo "$out"
  exit 0
fi

bin_dir="$(dirname "$out")"
tmp_bin="$(mktemp -d "${TMPDIR:-/tmp}/helm-build.XXXXXX")"
trap 'rm -rf "$tmp_bin"' EXIT
echo "helm: building $helm_version into $out" >&2
cd "$tmp_bin"
# Helm's release builds (its Makefile) stamp the version, and the Kubernetes version it renders
# for by default (`.Capabilities.KubeVersion`, checked against Chart.yaml's kubeVersion): that is
# the minor of the k8s.io/client-go module it is built with, major 0 meaning Kubernetes 1.
gomod="$(go mod download -json "helm.sh/helm/v3@$helm_version" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
client_go="$(awk '$1 == "k8s.io/client-go" { print $2 }' "$gomod")"
if ! [[ "$client_go" =~ ^v([0-9]+)\.([0-9]+)\. ]]; then
  echo "helm: cannot tell the k8s.io/client-go version of helm $helm_version (got '$client_go')" >&2
  exit 1
fi
k8s_major=$((BASH_REMATCH[1] + 1))
k8s_minor="${BASH_REMATCH[2]}"
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  ldflags="$ldflags -X $pkg.k8sVersionMajor=$k8s_major -X $pkg.k8sVersionMinor=$k8s_minor"
done
CGO_ENABLED=0 GOBIN="$tmp_bin" GOFLAGS="-buildvcs=false -trimpath" \
  go install -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$helm_version"
mkdir -p "$bin_dir"
mv -f "$tmp_bin/helm" "$out.tmp.$$"
mv -f "$out.tmp.$$" "$out"
echo "helm: built $out (renders for Kubernetes $k8s_major.$k8s_minor by default)" >&2
echo "$out"
