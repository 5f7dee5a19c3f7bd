#!/usr/bin/env bash
# What `make test` runs (and so CI): prerequisites, installs, a private local
# stack on free ports, then in order, stopping at the first failure:
#   cargo fmt --check, cfn-lint template.yaml (as written and as SAM expands
#   it), cargo clippy -D warnings,
#   cargo test --workspace [ARGS...],
#   then, unless ARGS pick tests: the benchmarks' quick mode (infra/bench.sh
#   --quick), schemathesis over the OpenAPI document (infra/fuzz.sh) and the
#   README smoke test (tests/smoke/readme.py: make dev as a
#   user starts it, the README's examples, headless Chromium on /docs and a
#   cross-origin frontend, Ctrl-C leaving nothing behind)
# The stack is stopped on any exit: success, failure or Ctrl-C.
#
# Usage: infra/test.sh [extra cargo test args...]   (make test ARGS="...")
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
STACK="$ROOT/infra/stack.sh"
RUN_DIR="$ROOT/.local/test-run-$$"
LOG_KEEP_DIR="$ROOT/.local/test-logs/last"
CURRENT_STEP=""
STARTED_AT="$(date +%s)"
# Everything the run prints also goes to a file, so a failure can end with
# the failing step's own last lines and its name: what a CI log's tail shows.
OUTPUT_LOG="$(mktemp "${TMPDIR:-/tmp}/bodega-test-output.XXXXXX")"
STEP_OFFSET=0
exec > >(tee -a "$OUTPUT_LOG") 2>&1
TEE_PID=$!

step() {
  CURRENT_STEP="$1"
  STEP_OFFSET="$(stat -c %s "$OUTPUT_LOG")"
  printf '\n==> %s\n' "$1"
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  local step_tail=""
  if [ "$status" -ne 0 ]; then
    step_tail="$(tail -c +"$((STEP_OFFSET + 1))" "$OUTPUT_LOG" | tail -n 40)"
    printf '\n==> FAILED: %s (exit %s)\n' "${CURRENT_STEP:-?}" "$status"
    # The service logs help to tell a broken test from a broken stand-in.
    if [ -d "$RUN_DIR" ]; then
      local log
      for log in "$RUN_DIR"/*.log; do
        [ -f "$log" ] || continue
        printf '\n--- last 20 lines of %s ---\n' "$(basename "$log")"
        tail -n 20 "$log" || true
      done
      rm -rf "$LOG_KEEP_DIR"
      mkdir -p "$LOG_KEEP_DIR"
      cp "$RUN_DIR"/*.log "$LOG_KEEP_DIR"/ 2>/dev/null || true
      printf '\n(full service logs kept in %s)\n' "${LOG_KEEP_DIR#"$ROOT"/}"
    fi
  fi
  if [ -d "$RUN_DIR" ]; then
    printf '\n==> stop the local stack\n'
    "$STACK" stop --run-dir "$RUN_DIR" || true
  fi
  if [ "$status" -eq 0 ]; then
    printf '\n==> all steps passed in %s s\n' "$(($(date +%s) - STARTED_AT))"
  else
    # Last, so that the end of the log says what failed and how.
    printf '\n==> the last lines of the failed step:\n%s\n' "$step_tail"
    printf '\n==> FAILED: %s (exit %s) after %s s\n' "${CURRENT_STEP:-?}" "$status" \
      "$(($(date +%s) - STARTED_AT))"
  fi
  # Let tee write the last lines before make reports the exit.
  exec >&- 2>&-
  wait "$TEE_PID" 2>/dev/null || true
  rm -f "$OUTPUT_LOG"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Extra arguments go to `cargo test`. If they pick packages (-p/--package,
# before any `--`), don't also pass --workspace.
test_scope=(--workspace)
for arg in "$@"; do
  case "$arg" in
    --) break ;;
    -p | -p* | --package | --package=*) test_scope=() ; break ;;
  esac
done

step "check prerequisites (infra/stack.sh check)"
if [ "${CI:-}" = "true" ]; then
  # On a fresh CI machine, install what apt can provide instead of failing.
  "$STACK" check --install-missing
else
  "$STACK" check
fi

step "install local stack tools (infra/stack.sh install)"
"$STACK" install

step "start an ephemeral local stack"
"$STACK" start --ephemeral --run-dir "$RUN_DIR"
# shellcheck source=/dev/null
source "$RUN_DIR/stack.env"

step "cargo fmt --all -- --check"
cargo fmt --all -- --check

step "cfn-lint template.yaml"
"$ROOT/.local/venv/bin/cfn-lint" template.yaml

step "cfn-lint the CloudFormation that SAM expands template.yaml to"
"$ROOT/.local/venv/bin/python" "$ROOT/infra/sam-expand.py" template.yaml "$RUN_DIR/expanded-template.json"
"$ROOT/.local/venv/bin/cfn-lint" "$RUN_DIR/expanded-template.json"

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test ${test_scope[*]}${*:+ $*}"
cargo test "${test_scope[@]}" "$@"

# The front door: the README's commands and the bench. Skipped when ARGS
# narrow the run to some tests (make test ARGS="-p bodega-tests orders").
if [ $# -eq 0 ]; then
  step "make bench, quick mode (infra/bench.sh --quick)"
  bench_log="$RUN_DIR/bench-quick.log"
  if ! infra/bench.sh --quick >"$bench_log" 2>&1; then
    tail -n 40 "$bench_log" >&2
    exit 1
  fi
  # Each benchmark printed its figures (a table row, a thumbnail time).
  grep -E '^GET /v1/products/\{id\} +[0-9.]+' "$bench_log"
  grep -E '^POST /v1/checkout \(50 lines\) +[0-9.]+' "$bench_log"
  grep -E '^  time: +min [0-9]+ ms' "$bench_log"
  grep -E '^floor-bare +[0-9.]+ MB' "$bench_log"
  grep -E '^catalog GET product +[0-9.]+ MB' "$bench_log"
  grep -E '^catalog GET product warm p50 .*x floor-bare batch\(2\) \(the same' "$bench_log"

  step "schemathesis over /v1/openapi.json (infra/fuzz.sh)"
  infra/fuzz.sh

  step "README smoke: make dev, the README's examples, the browser checks, Ctrl-C"
  python3 tests/smoke/readme.py --log "$RUN_DIR/make-dev.log" \
    --while-serving "tests/browser/run.sh"
fi
