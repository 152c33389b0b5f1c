# Sourced by the scripts that build a pinned Go tool (scripts/*/build.sh): puts a Go toolchain on
# PATH (also when only /usr/local/go or ~/go has one), or exits 3 with "go not found" so that
# callers (.ci/run, npm scripts) can skip with a printed reason. Then `absolute_path P` prints P
# made absolute against the caller's working directory.

if ! command -v go >/dev/null 2>&1; then
  for candidate in /usr/local/go/bin/go "$HOME/go/bin/go"; do
    if [ -x "$candidate" ]; then
      PATH="$(dirname "$candidate"):$PATH"
      export PATH
      break
    fi
  done
fi

if ! command -v go >/dev/null 2>&1; then
  echo "go not found" >&2
  exit 3
fi

absolute_path() {
  case "$1" in
    /*) echo "$1" ;;
    *) echo "$PWD/$1" ;;
  esac
}
