#!/usr/bin/env python3
"""Start every Lambda bootstrap built by `make lambda-build` and send it one
sample event from events/, through a stand-in Lambda Runtime API
(infra/standins/lambda_runtime.py), with the local stack's environment.

An arm64 bootstrap runs under qemu-user (qemu-aarch64-static); an x86-64
one runs natively. A binary passes when it gets through init (asks for its
first event) and answers the event (a response, or a handler error reported
through the Runtime API), without crashing. Times under emulation are
printed for orientation only: they say nothing about Graviton.

usage: lambda-check.py --stack-env FILE [--qemu PATH] [--sysroot DIR]
                       [--timeout SECONDS] [BINARY ...]
Called by infra/lambda.sh check (make lambda-check), which builds the
binaries and starts the stack first.
"""

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "infra", "standins"))

from lambda_runtime import RuntimeApi  # noqa: E402

# One sample per binary. API functions get a route that touches the table
# without a token where there is one; the rest answer 401, which still means
# init finished and the router, the envelope and the auth layer ran.
SAMPLES = {
    "platform": "platform/health.json",
    "identity": "identity/jwks.json",
    "catalog": "catalog/list-categories.json",
    "orders": "orders/cart-get.json",
    "orders-expiry": "orders/expiry-schedule.json",
    "orders-shipments": "orders/shipments-batch.json",
    "assets": "assets/get-asset.json",
    "assets-ingest": "assets/s3-object-created.json",
    "mail": "mail/templates-list.json",
    "mail-worker": "mail/worker-send-batch.json",
    "mail-outbox": "mail/outbox-batch.json",
    "mail-events": "mail/ses-bounce.json",
    "stream": "stream/product-created.json",
    "studio": "studio/gallery.json",
    "studio-worker": "studio/worker-generation-batch.json",
    "studio-manufacturing": "studio/manufacturing-batch.json",
    "studio-reconcile": "studio/reconcile-schedule.json",
    "sourcing": "sourcing/rfqs-list.json",
    "sourcing-matching": "sourcing/worker-matching-batch.json",
    # A scheduled event carries nothing of its own: the sourcing schedule
    # takes the same EventBridge shape as the orders one.
    "sourcing-schedule": "orders/expiry-schedule.json",
}

ELF_MACHINES = {62: "x86-64", 183: "arm64"}


def template_binaries():
    """Every `Binary:` of template.yaml, in order."""
    with open(os.path.join(ROOT, "template.yaml")) as f:
        return re.findall(r"^\s+Binary:\s*([A-Za-z0-9_-]+)\s*$", f.read(), re.M)


def elf_machine(path):
    with open(path, "rb") as f:
        head = f.read(20)
    if head[:4] != b"\x7fELF":
        return None
    return ELF_MACHINES.get(int.from_bytes(head[18:20], "little"), "other")


def stack_environment(path):
    """The exports of the stack's stack.env, read without a shell."""
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("export "):
                name, _, value = line[len("export ") :].partition("=")
                parts = shlex.split(value)
                env[name] = parts[0] if parts else ""
    return env


def lambda_environment(name, api, stack_env):
    env = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/" + name,
        "AWS_LAMBDA_LOG_STREAM_NAME": "lambda-check",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "_HANDLER": "bootstrap",
        "LAMBDA_TASK_ROOT": "/var/task",
        "RUST_LOG": "info",
    }
    env.update(stack_env)
    return env


def check(name, bootstrap, event_path, stack_env, runner, timeout, log_dir):
    with open(event_path) as f:
        event = json.load(f)
    api = RuntimeApi([event], function_name=name)
    log_path = os.path.join(log_dir, name + ".log")
    started = time.monotonic()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            runner + [bootstrap],
            env=lambda_environment(name, api, stack_env),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=os.path.dirname(bootstrap),
        )
        try:
            end = started + timeout
            while time.monotonic() < end:
                if api.all_answered() or api.init_error is not None or proc.poll() is not None:
                    break
                time.sleep(0.1)
        finally:
            exited = proc.poll()
            if exited is None:
                proc.kill()
                proc.wait()
            api.close()
    outcome = api.outcomes[0]
    init_s = None if api.first_next_at is None else api.first_next_at - started
    answer_s = None
    if outcome.answered_at is not None and outcome.handed_out_at is not None:
        answer_s = outcome.answered_at - outcome.handed_out_at
    if api.init_error is not None:
        verdict = False, "init error: " + api.init_error.decode(errors="replace")[:200]
    elif outcome.kind == "response":
        status = outcome.status()
        verdict = True, "answered" + ("" if status is None else " %d" % status)
    elif outcome.kind == "error":
        body = outcome.body.decode(errors="replace")
        verdict = True, "answered with a handler error: " + body[:160]
    elif exited is not None:
        verdict = False, "exited with %s before answering (log: %s)" % (exited, os.path.relpath(log_path, ROOT))
    elif api.first_next_at is None:
        verdict = False, "never asked for an event within %d s (log: %s)" % (timeout, os.path.relpath(log_path, ROOT))
    else:
        verdict = False, "no answer within %d s (log: %s)" % (timeout, os.path.relpath(log_path, ROOT))
    return verdict, init_s, answer_s


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--stack-env", required=True)
    parser.add_argument("--qemu", default="qemu-aarch64-static")
    parser.add_argument("--sysroot", default=None)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--lambda-dir", default=os.path.join(ROOT, "target", "lambda"))
    parser.add_argument("--log-dir", default=os.path.join(ROOT, ".local", "lambda-check"))
    parser.add_argument("binaries", nargs="*")
    args = parser.parse_args()

    names = args.binaries or template_binaries()
    missing = [n for n in names if n not in SAMPLES]
    if missing:
        print("no sample event for %s: add one to SAMPLES in infra/lambda-check.py" % ", ".join(missing), file=sys.stderr)
        return 2
    os.makedirs(args.log_dir, exist_ok=True)
    stack_env = stack_environment(args.stack_env)

    failures = 0
    print("%-18s %-7s %9s  %8s  %8s  %s" % ("binary", "arch", "size", "init", "event", "result"))
    for name in names:
        bootstrap = os.path.join(args.lambda_dir, name, "bootstrap")
        if not os.path.isfile(bootstrap):
            print("%-18s %-7s %9s  %8s  %8s  %s" % (name, "-", "-", "-", "-", "not built: run make lambda-build"))
            failures += 1
            continue
        arch = elf_machine(bootstrap)
        if arch == "arm64":
            runner = [args.qemu] + (["-L", args.sysroot] if args.sysroot else [])
        elif arch == "x86-64" and os.uname().machine == "x86_64":
            runner = []
        else:
            print("%-18s %-7s ... cannot start a %s binary here" % (name, arch, arch))
            failures += 1
            continue
        size = os.path.getsize(bootstrap)
        (ok, what), init_s, answer_s = check(
            name, bootstrap, os.path.join(ROOT, "events", SAMPLES[name]), stack_env, runner, args.timeout, args.log_dir
        )
        failures += 0 if ok else 1
        fmt = lambda s: "-" if s is None else "%.2f s" % s  # noqa: E731
        print(
            "%-18s %-7s %7.1f MB  %8s  %8s  %s%s"
            % (name, arch, size / 1e6, fmt(init_s), fmt(answer_s), "" if ok else "FAIL ", what),
            flush=True,
        )
    if failures:
        print("%d of %d binaries failed" % (failures, len(names)), file=sys.stderr)
        return 1
    print("all %d binaries started and answered (times under emulation are not Graviton's)" % len(names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
