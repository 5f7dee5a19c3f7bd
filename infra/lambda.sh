#!/usr/bin/env bash
# Lambda builds of Bodega's functions, for Graviton (arm64, the default) or
# x86-64, on a Linux machine with or without rustup's aarch64 target.
#
#   infra/lambda.sh toolchain [--arch A]   say (and install) the toolchain a build would use
#   infra/lambda.sh build [--arch A]       cargo lambda build --release of every function binary
#   infra/lambda.sh sam-build [--arch A]   sam validate --lint, then sam build (SAM CLI from PyPI)
#   infra/lambda.sh sam-artifact ID DIR   (called by sam build through make build-<ID>) copy
#                                          function ID's arm64 bootstrap into DIR, building first
#   infra/lambda.sh check                  start every built bootstrap (under qemu-user when it
#                                          is arm64) against a stand-in Lambda Runtime API and
#                                          send it one sample event, with a local stack running
#
# The toolchain for arm64, in order of preference:
#   1. rustup's target aarch64-unknown-linux-gnu, when it is installed;
#   2. Debian's Rust with the aarch64 standard library (packages rustc-web,
#      cargo-web and libstd-rust-web-dev:arm64 on Debian 12; rustc, cargo and
#      libstd-rust-dev:arm64 where the plain packages are new enough), which
#      this script installs with apt-get when it runs as root.
# Either way cargo-lambda and Zig (the linker it drives) come from PyPI into
# .local/venv, and the SAM CLI into .local/sam.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="$ROOT/.local"
VENV="$LOCAL/venv"
SAM_VENV="$LOCAL/sam"
REQUIREMENTS_SAM="$ROOT/infra/requirements-sam.txt"
AARCH64=aarch64-unknown-linux-gnu
# The workspace's rust-version (Cargo.toml).
MIN_RUST="$(sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' "$ROOT/Cargo.toml")"

say() { printf '%s\n' "$*"; }
die() {
  printf 'lambda.sh: %s\n' "$*" >&2
  exit 1
}
now() { date +%s; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1000000 }'; }

version_ge() { # version_ge A B: A >= B (dotted numbers)
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]
}

# Every binary the template deploys, in its order.
template_binaries() {
  sed -n 's/^ *Binary: *\([A-Za-z0-9_-]*\) *$/\1/p' "$ROOT/template.yaml"
}

# Every crate under functions/ (each is a Lambda function crate).
function_packages() {
  local d
  for d in "$ROOT"/functions/*/; do basename "$d"; done
}

apt_install() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
    || die "needs these Debian packages: $* (run as root: apt-get install -y $*)"
  say "Installing with apt-get: $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null \
    || die "apt-get install $* failed"
}

apt_updated=0
apt_update() {
  [ "$apt_updated" = 1 ] && return 0
  DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null || die "apt-get update failed"
  apt_updated=1
}

# Packages of `$@` that are not installed (names may carry :arch).
missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || printf '%s\n' "$p"
  done
}

ensure_arm64_foreign_arch() {
  if ! dpkg --print-foreign-architectures 2>/dev/null | grep -qx arm64; then
    [ "$(id -u)" = 0 ] || die "Debian's arm64 packages need: dpkg --add-architecture arm64 && apt-get update (as root)"
    say "Adding the arm64 package architecture (dpkg --add-architecture arm64)"
    dpkg --add-architecture arm64
    apt_updated=0
  fi
}

# Debian's names for a Rust new enough for the workspace: the -web packages
# on Debian 12, the plain ones where they carry a recent enough Rust.
debian_rust_packages() {
  if apt-cache show rustc-web >/dev/null 2>&1; then
    echo "rustc-web cargo-web libstd-rust-web-dev:arm64"
  else
    echo "rustc cargo libstd-rust-dev:arm64"
  fi
}

ensure_debian_rust() {
  command -v dpkg >/dev/null 2>&1 || die "no rustup target $AARCH64 and no Debian packages to fall back on: run 'rustup target add $AARCH64'"
  ensure_arm64_foreign_arch
  local pkgs missing
  # shellcheck disable=SC2207
  pkgs=($(debian_rust_packages))
  mapfile -t missing < <(missing_packages "${pkgs[@]}")
  if [ "${#missing[@]}" -gt 0 ]; then
    [ "$(id -u)" = 0 ] && apt_update
    # The package list may only now know the -web names.
    # shellcheck disable=SC2207
    pkgs=($(debian_rust_packages))
    mapfile -t missing < <(missing_packages "${pkgs[@]}")
    [ "${#missing[@]}" -eq 0 ] || apt_install "${missing[@]}"
  fi
  [ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] || die "Debian's rustc and cargo are not in /usr/bin after installing ${pkgs[*]}"
  local v
  v="$(/usr/bin/rustc --version | awk '{print $2}')"
  version_ge "$v" "$MIN_RUST" || die "Debian's rustc is $v; the workspace needs $MIN_RUST or newer"
  [ -d "$(/usr/bin/rustc --print sysroot)/lib/rustlib/$AARCH64/lib" ] \
    || die "Debian's rustc $v has no $AARCH64 standard library (package ${pkgs[2]})"
}

ensure_lambda_tools() {
  "$ROOT/infra/stack.sh" install-lambda-tools >/dev/null || die "infra/stack.sh install-lambda-tools failed"
}

# Sets TOOLCHAIN_PATH and TOOLCHAIN_DESC, and exports RUSTC/CARGO when the
# build must use Debian's toolchain.
select_toolchain() {
  local arch="$1"
  TOOLCHAIN_PATH="$VENV/bin:$PATH"
  if [ "$arch" = x86-64 ]; then
    [ "$(uname -m)" = x86_64 ] || command -v rustup >/dev/null 2>&1 \
      || die "x86-64 builds on $(uname -m) need rustup's x86_64-unknown-linux-gnu target"
    TOOLCHAIN_DESC="$(rustc --version) for the host target (x86-64)"
    return 0
  fi
  [ "$arch" = arm64 ] || die "unknown architecture $arch (arm64 or x86-64)"
  if [ "$(uname -m)" = aarch64 ]; then
    TOOLCHAIN_DESC="$(rustc --version), native arm64"
    return 0
  fi
  if command -v rustup >/dev/null 2>&1 \
    && rustup target list --installed 2>/dev/null | grep -qx "$AARCH64"; then
    TOOLCHAIN_DESC="$(rustc --version) with rustup's target $AARCH64"
    return 0
  fi
  ensure_debian_rust
  # Debian's cargo and rustc first: rustup's proxies would pick the
  # toolchain without the aarch64 standard library.
  TOOLCHAIN_PATH="$VENV/bin:/usr/bin:/bin"
  export RUSTC=/usr/bin/rustc CARGO=/usr/bin/cargo
  TOOLCHAIN_DESC="Debian's $(/usr/bin/rustc --version) with its $AARCH64 standard library (rustup has no $AARCH64 target here)"
}

parse_arch() {
  ARCH="${LAMBDA_ARCH:-arm64}"
  while [ $# -gt 0 ]; do
    case "$1" in
      --arch)
        [ $# -ge 2 ] || die "--arch needs arm64 or x86-64"
        ARCH="$2"
        shift
        ;;
      *) die "unknown option $1" ;;
    esac
    shift
  done
}

print_sizes() {
  local b f total=0 n=0
  say ""
  say "Bootstraps (target/lambda/<binary>/bootstrap):"
  while read -r b; do
    f="$ROOT/target/lambda/$b/bootstrap"
    if [ -f "$f" ]; then
      printf '  %-18s %6s MB  %s\n' "$b" "$(mb "$(stat -c %s "$f")")" \
        "$(file -b "$f" 2>/dev/null | cut -d, -f1-2 || true)"
      total=$((total + $(stat -c %s "$f")))
      n=$((n + 1))
    else
      printf '  %-18s missing\n' "$b"
    fi
  done < <(template_binaries)
  printf '  %d binaries, %s MB in all\n' "$n" "$(mb "$total")"
}

cmd_toolchain() {
  parse_arch "$@"
  select_toolchain "$ARCH"
  say "$ARCH: $TOOLCHAIN_DESC"
}

# One cargo lambda build per function crate, so that each links `shared`
# with its own features (catalog neither links nor starts SES or Stripe);
# built together, cargo would unify them into every function. Dependencies
# whose features agree are compiled once for all.
build_all() {
  local arch="$1" t0 p
  ensure_lambda_tools
  select_toolchain "$arch"
  say "Building every function for $arch Lambdas with $TOOLCHAIN_DESC"
  t0="$(now)"
  while read -r p; do
    (cd "$ROOT" && PATH="$TOOLCHAIN_PATH" cargo lambda build --release "--$arch" -p "$p")
  done < <(function_packages)
  say "Built in $(($(now) - t0)) s"
}

cmd_build() {
  parse_arch "$@"
  build_all "$ARCH"
  print_sizes
}

# The Binary of a function's BuildProperties in template.yaml.
template_binary_of() {
  awk -v id="  $1:" '
    $0 == id { found = 1; next }
    found && /^  [A-Za-z0-9]+:/ { exit }
    found && $1 == "Binary:" { print $2; exit }
  ' "$ROOT/template.yaml"
}

cmd_sam_artifact() {
  [ $# -eq 2 ] && [ -n "$2" ] || die "sam-artifact needs a function's logical id and ARTIFACTS_DIR (sam build sets it)"
  local id="$1" dir="$2" bin
  bin="$(template_binary_of "$id")"
  [ -n "$bin" ] || die "template.yaml has no BuildProperties.Binary for $id"
  # cargo finds the workspace up to date after the first function.
  build_all arm64 >&2
  [ -f "$ROOT/target/lambda/$bin/bootstrap" ] || die "cargo lambda build made no target/lambda/$bin/bootstrap"
  mkdir -p "$dir"
  cp "$ROOT/target/lambda/$bin/bootstrap" "$dir/bootstrap"
  say "$id: $bin ($(mb "$(stat -c %s "$dir/bootstrap")") MB)"
}

ensure_sam() {
  local want stamp="$SAM_VENV/.bodega-stamp"
  want="$(sha256sum "$REQUIREMENTS_SAM" | cut -d' ' -f1)"
  if [ -x "$SAM_VENV/bin/sam" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  say "Installing the AWS SAM CLI from $(basename "$REQUIREMENTS_SAM") into .local/sam ..."
  [ -x "$SAM_VENV/bin/python" ] || python3 -m venv "$SAM_VENV" || die "python3 -m venv failed"
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$SAM_VENV/bin/python" -m pip install --no-input -q -r "$REQUIREMENTS_SAM" \
    || die "pip install of the SAM CLI failed"
  echo "$want" >"$stamp"
}

cmd_sam_build() {
  parse_arch "$@"
  [ "$ARCH" = arm64 ] || die "template.yaml deploys arm64 functions; sam build has no other architecture here"
  ensure_lambda_tools
  ensure_sam
  select_toolchain "$ARCH"
  say "$("$SAM_VENV/bin/sam" --version), building with $TOOLCHAIN_DESC"
  local t0
  t0="$(now)"
  (cd "$ROOT" && AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}" SAM_CLI_TELEMETRY=0 \
    "$SAM_VENV/bin/sam" validate --lint)
  (cd "$ROOT" && PATH="$TOOLCHAIN_PATH" SAM_CLI_TELEMETRY=0 "$SAM_VENV/bin/sam" build)
  say "sam build finished in $(($(now) - t0)) s; artifacts in .aws-sam/build"
  local f n=0
  for f in "$ROOT"/.aws-sam/build/*/bootstrap; do
    [ -f "$f" ] || continue
    printf '  %-28s %6s MB  %s\n' "$(basename "$(dirname "$f")")" "$(mb "$(stat -c %s "$f")")" \
      "$(file -b "$f" 2>/dev/null | cut -d, -f1-2 || true)"
    n=$((n + 1))
  done
  [ "$n" -eq "$(template_binaries | wc -l)" ] || die "sam build made $n bootstraps; template.yaml deploys $(template_binaries | wc -l)"
}

ensure_qemu() {
  local missing
  command -v dpkg >/dev/null 2>&1 || {
    command -v qemu-aarch64-static >/dev/null 2>&1 || die "starting arm64 binaries needs qemu-aarch64-static (qemu-user-static)"
    return 0
  }
  ensure_arm64_foreign_arch
  mapfile -t missing < <(missing_packages qemu-user-static libc6:arm64 libgcc-s1:arm64)
  if [ "${#missing[@]}" -gt 0 ]; then
    [ "$(id -u)" = 0 ] && apt_update
    apt_install "${missing[@]}"
  fi
}

cmd_check() {
  # Globals: the EXIT trap reads them after this function has returned.
  CHECK_RUN_DIR="$LOCAL/lambda-check/stack"
  CHECK_DEVSERVER_PID=""
  local run_dir="$CHECK_RUN_DIR" status=0 names=()
  [ $# -eq 0 ] || names=("$@")
  local arm=0 b check_list=()
  if [ "${#names[@]}" -gt 0 ]; then
    check_list=("${names[@]}")
  else
    mapfile -t check_list < <(template_binaries)
  fi
  for b in "${check_list[@]}"; do
    [ -f "$ROOT/target/lambda/$b/bootstrap" ] || die "target/lambda/$b/bootstrap is missing: run make lambda-build first"
    file -b "$ROOT/target/lambda/$b/bootstrap" | grep -q aarch64 && arm=1
  done
  [ "$arm" = 0 ] || ensure_qemu
  # A private stack (installed first: a fresh clone may not have run make
  # dev or make test yet), and the devserver's --setup for the table,
  # bucket and queues.
  "$ROOT/infra/stack.sh" check
  "$ROOT/infra/stack.sh" install
  "$ROOT/infra/stack.sh" start --ephemeral --run-dir "$run_dir" >/dev/null
  # shellcheck disable=SC2317
  cleanup() {
    [ -z "$CHECK_DEVSERVER_PID" ] || kill "$CHECK_DEVSERVER_PID" 2>/dev/null || true
    "$ROOT/infra/stack.sh" stop --run-dir "$CHECK_RUN_DIR" >/dev/null 2>&1 || true
  }
  trap cleanup EXIT
  # shellcheck disable=SC1091
  (cd "$ROOT" && cargo build -q -p devserver)
  local port
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  (
    # shellcheck disable=SC1090,SC1091
    source "$run_dir/stack.env"
    exec "$ROOT/target/debug/devserver" --setup --port "$port"
  ) >"$LOCAL/lambda-check/devserver.log" 2>&1 &
  CHECK_DEVSERVER_PID=$!
  local i
  for i in $(seq 1 120); do
    curl -fsS "http://127.0.0.1:$port/v1/health" >/dev/null 2>&1 && break
    kill -0 "$CHECK_DEVSERVER_PID" 2>/dev/null || die "the devserver stopped during setup (.local/lambda-check/devserver.log)"
    sleep 0.5
  done
  # libc6:arm64 puts the aarch64 loader at /lib/ld-linux-aarch64.so.1, where
  # the binaries look for it. (qemu's -L /usr/aarch64-linux-gnu, the cross
  # compiler's sysroot, left the bootstraps hanging at start here.)
  local sysroot=()
  if [ ! -e /lib/ld-linux-aarch64.so.1 ] && [ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ]; then
    sysroot=(--sysroot /usr/aarch64-linux-gnu)
  fi
  python3 "$ROOT/infra/lambda-check.py" --stack-env "$run_dir/stack.env" "${sysroot[@]}" "${names[@]}" || status=$?
  return "$status"
}

usage() {
  sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
}

main() {
  local cmd="${1:-help}"
  [ $# -gt 0 ] && shift
  case "$cmd" in
    toolchain) cmd_toolchain "$@" ;;
    build) cmd_build "$@" ;;
    sam-build) cmd_sam_build "$@" ;;
    sam-artifact) cmd_sam_artifact "$@" ;;
    check) cmd_check "$@" ;;
    help | -h | --help) usage ;;
    *) die "unknown command $cmd (try help)" ;;
  esac
}

main "$@"
