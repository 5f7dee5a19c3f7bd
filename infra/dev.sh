#!/usr/bin/env bash
# What `make dev` runs: the local stack on its fixed ports (.local/run), then
# the devserver (local API Gateway + stream pumps) on 127.0.0.1:3000 in the
# foreground, after it has created the table, bucket and sender identity
# (--setup) and seeded demo data (--seed).
#
# Ctrl-C stops the devserver and the stack this script started. A stack that
# was already running in .local/run is reused and left running (make stop).
#
# Usage: infra/dev.sh [--fresh] [extra devserver args...]
#   --fresh   stop a stack already running in .local/run and start a new one
#
# Environment (for running a second instance beside the first, as the README
# smoke test of `make test` does):
#   BODEGA_DEV_PORT=3000        the devserver's port
#   BODEGA_DEV_PRIVATE_STACK=1  a stack of its own on free ports, in a run dir
#                               that Ctrl-C stops and removes
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
STACK="$ROOT/infra/stack.sh"
DEVSERVER_PORT="${BODEGA_DEV_PORT:-3000}"
DEVSERVER_ADDR="127.0.0.1:$DEVSERVER_PORT"
PRIVATE_STACK="${BODEGA_DEV_PRIVATE_STACK:-0}"
if [ "$PRIVATE_STACK" = 1 ]; then
  RUN_DIR="$ROOT/.local/dev-run-$$"
else
  RUN_DIR="$ROOT/.local/run"
fi

fresh=0
devserver_args=()
for arg in "$@"; do
  case "$arg" in
    --fresh) fresh=1 ;;
    *) devserver_args+=("$arg") ;;
  esac
done

"$STACK" check
"$STACK" install

port_free() {
  python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
' "$1"
}
if ! port_free "$DEVSERVER_PORT"; then
  echo "dev.sh: $DEVSERVER_ADDR is already in use (another 'make dev'?); stop that first." >&2
  exit 1
fi

started_stack=0
devserver_pid=""

# shellcheck disable=SC2317  # invoked through trap
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$devserver_pid" ] && kill -0 "$devserver_pid" 2>/dev/null; then
    kill -TERM "$devserver_pid" 2>/dev/null || true
    local waited=0
    while kill -0 "$devserver_pid" 2>/dev/null && [ "$waited" -lt 50 ]; do
      sleep 0.2
      waited=$((waited + 1))
    done
    kill -KILL "$devserver_pid" 2>/dev/null || true
  fi
  echo
  if [ "$started_stack" = 1 ]; then
    "$STACK" stop --run-dir "$RUN_DIR" || true
  else
    echo "The local stack in .local/run was running before 'make dev' and is left running ('make stop' stops it)."
  fi
  # Ctrl-C is the normal way to leave: not an error.
  if [ "$status" = 130 ]; then status=0; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

set +e
if [ "$PRIVATE_STACK" = 1 ]; then
  stack_state=3
else
  "$STACK" status --run-dir "$RUN_DIR" --quiet
  stack_state=$?
fi
set -e
if [ "$stack_state" = 0 ] && [ ! -f "$RUN_DIR/stack.env" ]; then
  stack_state=1 # running but without its env file: start it anew
fi
if [ "$stack_state" = 0 ] && [ "$fresh" = 1 ]; then
  echo "Stopping the stack already running in .local/run (--fresh) ..."
  "$STACK" stop --run-dir "$RUN_DIR"
  stack_state=3
fi
if [ "$stack_state" = 0 ]; then
  echo "A local stack is already running in .local/run: reusing it (its data is kept;"
  echo "'make stop' first, or 'infra/dev.sh --fresh', for an empty one)."
else
  # `start` also stops a partly running stack first.
  started_stack=1
  if [ "$PRIVATE_STACK" = 1 ]; then
    "$STACK" start --ephemeral --run-dir "$RUN_DIR"
  else
    "$STACK" start --run-dir "$RUN_DIR"
  fi
fi

# shellcheck source=/dev/null
source "$RUN_DIR/stack.env"

echo
if [ "$started_stack" = 0 ]; then
  "$STACK" status --run-dir "$RUN_DIR" || true
  echo
fi
echo "devserver (local API):  http://$DEVSERVER_ADDR  (once cargo has built it)"
echo "API reference:          http://$DEVSERVER_ADDR/docs"
echo "environment:            source ${RUN_DIR#"$ROOT"/}/stack.env"
if [ "$started_stack" = 1 ]; then
  echo "Press Ctrl-C to stop everything."
else
  echo "Press Ctrl-C to stop the devserver (the reused stack stays up)."
fi
echo

# Run the devserver as a child that still receives Ctrl-C (background jobs of
# a script ignore SIGINT unless it is reset), so this script can clean up
# afterwards. `cargo run` execs the binary, so the PID is the devserver's.
(
  trap - INT QUIT
  exec cargo run -p devserver --bin devserver -- --setup --seed --port "$DEVSERVER_PORT" "${devserver_args[@]}"
) &
devserver_pid=$!
set +e
wait "$devserver_pid"
status=$?
# A signal (Ctrl-C) interrupts `wait`: then the trap has already run.
set -e
devserver_pid=""
exit "$status"
