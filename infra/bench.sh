#!/usr/bin/env bash
# What `make bench` runs: benchmarks that print figures (nothing is asserted).
#   1. catalog reads and checkouts (1, 10, 50 lines) through the router
#      against a private local stack:
#      p50/p99 latency, DynamoDB calls and consumed capacity per request,
#      beside a bare GetItem; then, in the same binary, the render time
#      (p50/p99) of an MJML template with 20 variables and a bulk send's
#      throughput through the queue (moto's SQS) and the mail worker;
#      then the catalog function's router driven warm with 100,000 mixed
#      requests: resident memory, open files and sockets, start to end;
#   2. the upload ingest step on a 12-megapixel JPEG: time and memory;
#   3. sourcing's matching of 1,000 candidate suppliers (pure, no storage).
# Built with the `benchmark` cargo profile (release optimizations, no LTO).
#
# Usage: infra/bench.sh [--quick]
#   --quick  a handful of each with the dev profile (the test build): what
#            `make test` runs so the benchmarks cannot rot; the figures mean
#            nothing
set -euo pipefail

profile=benchmark
quick=()
case "${1:-}" in
  "") ;;
  --quick) profile=dev; quick=(--quick) ;;
  *) echo "usage: infra/bench.sh [--quick]" >&2; exit 2 ;;
esac

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
STACK="$ROOT/infra/stack.sh"
RUN_DIR="$ROOT/.local/bench-run-$$"

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -d "$RUN_DIR" ]; then
    "$STACK" stop --run-dir "$RUN_DIR" || true
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$STACK" check
"$STACK" install
"$STACK" start --ephemeral --run-dir "$RUN_DIR"
# shellcheck source=/dev/null
source "$RUN_DIR/stack.env"

printf '\n==> catalog reads, checkout and mail (infra/devserver/benches/api.rs)\n'
RUST_LOG=warn cargo bench --quiet --profile "$profile" -p devserver --bench api -- "${quick[@]}"

printf '\n==> upload ingest (functions/assets/examples/thumbnail_bench.rs)\n'
cargo run --quiet --profile "$profile" -p assets --example thumbnail_bench -- "${quick[@]}"

printf '\n==> supplier matching (functions/sourcing/examples/matching_bench.rs)\n'
cargo run --quiet --profile "$profile" -p sourcing --example matching_bench -- "${quick[@]}"
