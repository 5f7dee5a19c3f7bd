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
#      then a cost table: each API operation's DynamoDB request units,
#      Lambda billed duration at its function's memory (template.yaml) and
#      dollars per million requests (DynamoDB, Lambda, HTTP API);
#   2. the upload ingest step on a 12-megapixel JPEG: time and memory;
#   3. sourcing's matching of 1,000 candidate suppliers (pure, no storage);
#   4. cold start (infra/coldstart.py): every Lambda binary of template.yaml
#      and two floors (infra/floors: hello, bare) started under the stand-in
#      Runtime API: size, init, first request, warm p50 of 300 invocations,
#      peak RSS, each as a ratio to the bare floor; then again with a delay
#      on each new connection (a loopback proxy, BENCH_CONNECT_LATENCY_MS,
#      default 25) so each connection opened during init shows.
# Built with the `benchmark` cargo profile (release optimizations, no LTO),
# the cold-start binaries too (their sizes are of stripped copies): what
# ships is `release` (LTO, one codegen unit, stripped), whose dependencies
# alone take this 2-core machine ~10 minutes per binary set and each LTO
# link minutes more; BENCH_COLDSTART_PROFILE=release measures exactly that.
#
# Usage: infra/bench.sh [--quick] [--coldstart-only]
#   --quick           a handful of each with the dev profile (the test build):
#                     what `make test` runs so the benchmarks cannot rot; the
#                     figures mean nothing
#   --coldstart-only  only the cold-start benchmark (4.)
set -euo pipefail

profile=benchmark
coldstart_profile="${BENCH_COLDSTART_PROFILE:-benchmark}"
coldstart_invocations=300
coldstart_starts=3
# Unmeasured floor reads before the first table (DynamoDB Local's JIT);
# the second table follows the first, on a DynamoDB Local already warm.
coldstart_warmup=1000
connect_latency_ms="${BENCH_CONNECT_LATENCY_MS:-25}"
quick=()
only_coldstart=0
for arg in "$@"; do
  case "$arg" in
    --quick) profile=dev; coldstart_profile=dev; coldstart_invocations=3; coldstart_starts=1; coldstart_warmup=10; quick=(--quick) ;;
    --coldstart-only) only_coldstart=1 ;;
    *) echo "usage: infra/bench.sh [--quick] [--coldstart-only]" >&2; exit 2 ;;
  esac
done

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

if [ "$only_coldstart" = 0 ]; then
printf '\n==> catalog reads, checkout and mail (infra/devserver/benches/api.rs)\n'
RUST_LOG=warn cargo bench --quiet --profile "$profile" -p devserver --bench api -- "${quick[@]}"

printf '\n==> upload ingest (functions/assets/examples/thumbnail_bench.rs)\n'
cargo run --quiet --profile "$profile" -p assets --example thumbnail_bench -- "${quick[@]}"

printf '\n==> supplier matching (functions/sourcing/examples/matching_bench.rs)\n'
cargo run --quiet --profile "$profile" -p sourcing --example matching_bench -- "${quick[@]}"
fi

printf '\n==> cold start of every Lambda binary beside the floors (infra/coldstart.py, profile %s)\n' "$coldstart_profile"
mapfile -t binaries < <(sed -n 's/^ *Binary: *\([A-Za-z0-9_-]*\) *$/\1/p' template.yaml)
packages=(floor-hello floor-bare)
for d in functions/*/; do packages+=("$(basename "$d")"); done
if [ "${#quick[@]}" -gt 0 ]; then
  # One build of the debug binaries; features unify over the packages.
  cargo build --quiet --profile "$coldstart_profile" --bins "${packages[@]/#/--package=}"
else
  # One package at a time, as each Lambda is built alone: features of
  # `shared` are not unified with other functions' (catalog links no SES).
  for p in "${packages[@]}"; do
    cargo build --quiet --profile "$coldstart_profile" --bins -p "$p"
  done
fi
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
case "$coldstart_profile" in
  dev) profile_dir=debug ;;
  *) profile_dir="$coldstart_profile" ;;
esac
# A private copy: the target directory may be shared with other checkouts.
# The quick run links instead: its debug binaries are some 75 MB each, and
# its figures mean nothing (sizes are measured on stripped copies anyway).
bin_dir="$RUN_DIR/bin"
mkdir -p "$bin_dir"
for b in floor-hello floor-bare "${binaries[@]}"; do
  if [ "${#quick[@]}" -gt 0 ]; then
    ln -sf "$target_dir/$profile_dir/$b" "$bin_dir/$b"
  else
    cp "$target_dir/$profile_dir/$b" "$bin_dir/$b"
  fi
done
# The table, bucket and queues the functions expect, as make lambda-check.
cargo build --quiet -p devserver
setup_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$target_dir/debug/devserver" --setup --port "$setup_port" >"$RUN_DIR/devserver-setup.log" 2>&1 &
setup_pid=$!
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$setup_port/v1/health" >/dev/null 2>&1 && break
  kill -0 "$setup_pid" 2>/dev/null || { tail -n 20 "$RUN_DIR/devserver-setup.log" >&2; exit 1; }
  sleep 0.5
done
kill "$setup_pid" && wait "$setup_pid" 2>/dev/null || true
python3 infra/coldstart.py --stack-env "$RUN_DIR/stack.env" --bin-dir "$bin_dir" \
  --profile "$coldstart_profile" --invocations "$coldstart_invocations" --starts "$coldstart_starts" \
  --warmup "$coldstart_warmup" --log-dir "$RUN_DIR/coldstart"
printf '\n'
python3 infra/coldstart.py --stack-env "$RUN_DIR/stack.env" --bin-dir "$bin_dir" \
  --profile "$coldstart_profile" --invocations 3 --starts "$coldstart_starts" \
  --connect-latency-ms "$connect_latency_ms" --warmup 0 \
  --log-dir "$RUN_DIR/coldstart-latency"
