#!/usr/bin/env bash
# npm run fuzz: a contract fuzzer against a fresh server. Installs a pinned Schemathesis into a
# virtual environment (.cache/fuzz-venv, from PyPI), starts the server on a free loopback port
# over a temporary SQLite database with one loopback listener for hub callbacks per API version
# (scripts/fuzz/serve.ts), and fuzzes each served version in turn, v4 then v5 (one server: v5
# also reads the carts the v4 run left), each against its own served document with every check
# and every phase, the stateful one included. Failures fail the run, except those
# scripts/fuzz/ignore.json lists for that version (scripts/fuzz/fuzz_hooks.py). Skipped, with the
# reason, where python3 is missing.
#
#   FUZZ_MAX_EXAMPLES (default 30) cases per operation and phase; FUZZ_SEED to replay a run (each
#   version is run with it); FUZZ_VERSIONS (default "v4 v5") the versions to fuzz;
#   FUZZ_PHASES (default fuzzing,stateful): add coverage for a deep run (it generates every
#   boundary case of the schemas, several minutes per version, so CI leaves it out), examples for
#   the documents' own examples (v4 has none; v5's are checked by test/contract/v5-document.test.ts,
#   and Schemathesis takes about two minutes to complete them into requests).
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
served() { sed -n "s/^$1=//p" "$work/serve.out"; }
for _ in $(seq 1 300); do
  [ -n "$(served FUZZ_LISTENER_V5)" ] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$(served FUZZ_LISTENER_V5)" ]; then
  cat "$work/serve.err"
  echo "fuzz: failed (the server did not start)"
  exit 1
fi
server_errors_so_far() { grep -c '^FUZZ_SERVER_ERROR ' "$work/serve.err"; }

failures=()
# The listener paths of v5's document describe what a subscriber serves, not the server (404 there).
declare -A excluded=([v5]='^/listener/')
for v in ${FUZZ_VERSIONS:-v4 v5}; do
  upper=${v^^}
  api=$(served "FUZZ_API_$upper")
  listener=$(served "FUZZ_LISTENER_$upper")
  if [ -z "$api" ]; then
    failures+=("$v is not served")
    continue
  fi
  echo "fuzz: $v: server at $api, hub listener at $listener"
  args=()
  if [ -n "${FUZZ_SEED:-}" ]; then args+=(--seed "$FUZZ_SEED"); fi
  if [ -n "${excluded[$v]:-}" ]; then args+=(--exclude-path-regex "${excluded[$v]}"); fi
  errors_before=$(server_errors_so_far)
  # Schemathesis keeps a cache in its working directory: the temporary one, not the repository.
  (cd "$work" && PYTHONPATH="$root/scripts/fuzz" SCHEMATHESIS_HOOKS=fuzz_hooks FUZZ_LISTENER="$listener" \
    FUZZ_VERSION="$v" FUZZ_IGNORE="$root/scripts/fuzz/ignore.json" \
    "$venv/bin/st" run "$api/openapi.json" \
    --url "$api" \
    --checks all \
    --phases "${FUZZ_PHASES:-fuzzing,stateful}" \
    --max-examples "${FUZZ_MAX_EXAMPLES:-30}" \
    --workers 1 \
    --request-timeout 10 \
    --generation-database none \
    --suppress-health-check too_slow,filter_too_much \
    --no-color \
    "${args[@]}")
  st_rc=$?
  errors=$(($(server_errors_so_far) - errors_before))
  echo "fuzz: $v: schemathesis exit code $st_rc; the server logged $errors unexpected errors"
  if [ $st_rc -ne 0 ]; then failures+=("$v: schemathesis exit code $st_rc"); fi
  if [ $errors -ne 0 ]; then failures+=("$v: the server logged $errors unexpected errors"); fi
done

kill "$server_pid"
wait "$server_pid" 2>/dev/null
server_pid=""
if [ "$(served FUZZ_SERVER_ERRORS)" != "0" ]; then sed -n '1,40p' "$work/serve.err"; fi
for v in ${FUZZ_VERSIONS:-v4 v5}; do
  events=$(served "FUZZ_EVENTS_${v^^}")
  echo "fuzz: $v: the hub listener received ${events:-?} events"
  # Events reach a version's listener only through the subscriptions made with that version's hub.
  if [ "${events:-0}" = "0" ]; then failures+=("$v: no event reached the hub listener: the hub was not exercised"); fi
done

if [ ${#failures[@]} -ne 0 ]; then
  joined=$(printf '; %s' "${failures[@]}")
  echo "fuzz: failed (${joined:2})"
  exit 1
fi
echo "fuzz: passed"
