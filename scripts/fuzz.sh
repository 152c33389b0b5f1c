#!/usr/bin/env bash
# npm run fuzz: a contract fuzzer against a fresh server. Installs a pinned Schemathesis into a
# virtual environment (.cache/fuzz-venv, from PyPI), starts the server on a free loopback port
# over a temporary SQLite database with a loopback listener for hub callbacks
# (scripts/fuzz/serve.ts), and runs every check and every phase, the stateful one included,
# against the served document. Failures fail the run, except those scripts/fuzz/ignore.json
# lists (scripts/fuzz/fuzz_hooks.py). Skipped, with the reason, where python3 is missing.
#
#   FUZZ_MAX_EXAMPLES (default 30) cases per operation and phase; FUZZ_SEED to replay a run;
#   FUZZ_PHASES (default examples,fuzzing,stateful): add coverage for a deep run (it generates
#   every boundary case of the schemas, about six minutes here, so CI leaves it out).
# Ends with one line: "fuzz: passed", "fuzz: failed (...)" or "fuzz: skipped (...)".
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
version=4.32.5
venv="$root/.cache/fuzz-venv"

if ! command -v python3 >/dev/null 2>&1; then
  echo "fuzz: skipped (python3 is not installed; the fuzzer is a Python tool)"
  exit 0
fi
installed=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null || true)
if [ "$installed" != "$version" ]; then
  echo "fuzz: installing schemathesis $version into $venv"
  if ! { python3 -m venv "$venv" && "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"; }; then
    echo "fuzz: failed (could not install schemathesis $version from PyPI)"
    exit 1
  fi
fi

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then kill "$server_pid"; wait "$server_pid" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$root/node_modules/.bin/tsx" scripts/fuzz/serve.ts >"$work/serve.out" 2>"$work/serve.err" &
server_pid=$!
api=""
for _ in $(seq 1 300); do
  api=$(sed -n 's/^FUZZ_API=//p' "$work/serve.out")
  [ -n "$api" ] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
listener=$(sed -n 's/^FUZZ_LISTENER=//p' "$work/serve.out")
if [ -z "$api" ] || [ -z "$listener" ]; then
  cat "$work/serve.err"
  echo "fuzz: failed (the server did not start)"
  exit 1
fi
echo "fuzz: server at $api, hub listener at $listener"

seed_args=()
if [ -n "${FUZZ_SEED:-}" ]; then seed_args=(--seed "$FUZZ_SEED"); fi
# Schemathesis keeps a cache in its working directory: the temporary one, not the repository.
(cd "$work" && PYTHONPATH="$root/scripts/fuzz" SCHEMATHESIS_HOOKS=fuzz_hooks FUZZ_LISTENER="$listener" \
  FUZZ_IGNORE="$root/scripts/fuzz/ignore.json" \
  "$venv/bin/st" run "$api/openapi.json" \
  --url "$api" \
  --checks all \
  --phases "${FUZZ_PHASES:-examples,fuzzing,stateful}" \
  --max-examples "${FUZZ_MAX_EXAMPLES:-30}" \
  --workers 1 \
  --request-timeout 10 \
  --generation-database none \
  --suppress-health-check too_slow,filter_too_much \
  --no-color \
  "${seed_args[@]}")
st_rc=$?

kill "$server_pid"
wait "$server_pid" 2>/dev/null
server_pid=""
events=$(sed -n 's/^FUZZ_EVENTS=//p' "$work/serve.out")
server_errors=$(sed -n 's/^FUZZ_SERVER_ERRORS=//p' "$work/serve.out")
echo "fuzz: the hub listener received ${events:-?} events; the server logged ${server_errors:-?} unexpected errors"
if [ "$server_errors" != "0" ]; then sed -n '1,40p' "$work/serve.err"; fi

if [ $st_rc -ne 0 ]; then
  echo "fuzz: failed (schemathesis exit code $st_rc)"
  exit 1
fi
if [ "${events:-0}" = "0" ]; then
  echo "fuzz: failed (no event reached the hub listener: the hub was not exercised)"
  exit 1
fi
if [ "$server_errors" != "0" ]; then
  echo "fuzz: failed (the server logged unexpected errors)"
  exit 1
fi
echo "fuzz: passed"
