#!/usr/bin/env python3
"""Cold start, warm latency, size and memory of every Lambda binary, beside
two floors built the same way (part of `make bench`, run by infra/bench.sh).

Each binary is started as Lambda starts a `bootstrap`, under the stand-in
Runtime API (infra/standins/lambda_runtime.py), with the local stack's
environment (DynamoDB Local, moto, localstripe, ...), and fed its sample
event from events/ (the one infra/lambda-check.py sends) 1 + N times, one at
a time. For each binary it prints:

  size      the binary's size, stripped (a stripped copy is measured when
            the profile does not strip)
  init      process start -> its first GET /invocation/next (median of
            --starts cold starts, 3 by default)
  first     the first invocation, handed out -> answered (same)
  warm p50  the median of the N invocations after the first
  peak RSS  VmHWM of the process after its last answer
  conns     TCP connections the process opened during init, by endpoint
            (every loopback endpoint in the environment goes through a
            counting proxy in the --connect-latency runs only)

Secrets are handed over as on AWS: the stack's inline values (signing keys,
Stripe, OpenAI, Printful) are put in Secrets Manager (moto) and each
function gets the secret's id, so a secret read at start costs its call
(--inline-secrets keeps them inline).

catalog gets a second row, `catalog GET product`, fed GET
/v1/products/{id}: one DynamoDB call (a strongly consistent BatchGetItem of
the product and its stock item) where the bare floor makes one GetItem.
The bare floor gets a second row too, `floor-bare batch(2)`, making that
same BatchGetItem (FLOOR_READ=batch), and a line under the table gives GET
product's warm p50 against both: over the batch floor it is what the API
adds to the read it makes; over the GetItem floor, what the data model adds.

DynamoDB Local is a JVM, slower until its JIT has compiled its hot paths,
and the floors are measured first: each floor row runs --warmup times
(1000 by default) unmeasured before the table, so the floors do not pay
for a fresh stack and flatter every ratio.

Each figure is also given as a ratio to the `bare` floor (lambda_runtime +
tokio + serde_json + aws-config + aws-sdk-dynamodb, connection opened in
init, one GetItem per event). The `hello` floor is lambda_runtime + tokio + serde_json.

With --connect-latency-ms MS every loopback endpoint of the environment
(AWS_ENDPOINT_URL_*, STRIPE_API_BASE, ...) is reached through a proxy that
waits MS milliseconds before it opens each new connection, as a TLS
handshake to a regional endpoint costs on AWS: each connection a function
opens during init shows up in its init time, and `conns` says which.

usage: coldstart.py --stack-env FILE --bin-dir DIR [--profile NAME]
                    [--invocations N] [--connect-latency-ms MS]
                    [--timeout S] [BINARY ...]
"""

import argparse
import importlib.util
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "infra", "standins"))

from lambda_runtime import RuntimeApi  # noqa: E402

_spec = importlib.util.spec_from_file_location("lambda_check", os.path.join(ROOT, "infra", "lambda-check.py"))
lambda_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lambda_check)

FLOORS = ["floor-hello", "floor-bare"]
BASELINE = "floor-bare"
# The floors take any event; the bare floor does its GetItem whatever it is.
FLOOR_EVENT = {"floor": True}
# Rows of a binary run again after its own row, fed another of its events
# or with more environment: (label, sample event or None for a floor's,
# environment). Catalog's GET /v1/products/{id} is one DynamoDB call, a
# strongly consistent BatchGetItem of the product and its stock item (both
# miss: the table holds neither). The bare floor's second row makes that
# same call, so the two rows compare the API with the floor like for like,
# where the first floor row compares it with one GetItem.
BATCH_FLOOR = "floor-bare batch(2)"
EXTRA_ROWS = {
    "floor-bare": [(BATCH_FLOOR, None, {"FLOOR_READ": "batch"})],
    "catalog": [("catalog GET product", "catalog/get-product.json", {})],
}
# Rows whose warm p50 is also printed against the floor row making the
# same DynamoDB call.
LIKE_FOR_LIKE = {"catalog GET product": BATCH_FLOOR}


class ConnectProxy:
    """A loopback TCP proxy to one upstream port that delays each new
    connection by `latency` seconds and counts connections."""

    def __init__(self, label, upstream_port, latency):
        self.label = label
        self.upstream_port = upstream_port
        self.latency = latency
        self.accepted = []  # monotonic times of accepted connections
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def _accept_loop(self):
        while not self._closed:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self.accepted.append(time.monotonic())
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        try:
            time.sleep(self.latency)
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        except OSError:
            client.close()
            return
        for s in (client, upstream):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def pump(src, dst):
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for s in (src, dst):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        threading.Thread(target=pump, args=(upstream, client), daemon=True).start()
        pump(client, upstream)

    def count_before(self, t):
        with self._lock:
            return sum(1 for a in self.accepted if a <= t)

    def reset(self):
        with self._lock:
            self.accepted.clear()

    def close(self):
        self._closed = True
        self._sock.close()


def loopback_port(value):
    """The port of an http://127.0.0.1:PORT[/...] value, else None."""
    for prefix in ("http://127.0.0.1:", "http://localhost:"):
        if value.startswith(prefix):
            rest = value[len(prefix) :]
            digits = rest.split("/", 1)[0]
            if digits.isdigit():
                return int(digits)
    return None


def endpoint_label(name):
    for prefix in ("AWS_ENDPOINT_URL_", "BODEGA_"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
    return name.lower().replace("_api_base", "").replace("_url", "")


def proxied_environment(stack_env, latency):
    """The stack environment with every loopback endpoint behind a proxy."""
    env = dict(stack_env)
    proxies = {}
    for name, value in stack_env.items():
        port = loopback_port(value)
        if port is None or name.endswith("_QUEUE_URL") or name == "PUBLIC_MEDIA_URL":
            continue
        proxy = ConnectProxy(endpoint_label(name), port, latency)
        proxies[name] = proxy
        env[name] = value.replace(":%d" % port, ":%d" % proxy.port, 1)
    return env, proxies


# Inline secrets of the local stack and the variable that names the secret
# instead (template.yaml passes ids, never values).
SECRETS = [
    ("JWT_SIGNING_KEYS", "JWT_SIGNING_KEYS_SECRET_ID"),
    ("STRIPE_SECRET_KEY", "STRIPE_SECRET_KEY_SECRET_ID"),
    ("STRIPE_WEBHOOK_SECRET", "STRIPE_WEBHOOK_SECRET_SECRET_ID"),
    ("OPENAI_API_KEY", "OPENAI_API_KEY_SECRET_ID"),
    ("PRINTFUL_TOKEN", "PRINTFUL_TOKEN_SECRET_ID"),
    ("PRINTFUL_WEBHOOK_SECRET", "PRINTFUL_WEBHOOK_SECRET_ID"),
]


def secrets_as_in_aws(stack_env):
    """The environment with each inline secret moved into Secrets Manager
    (moto) and named by its id, as template.yaml does, so a function that
    reads a secret at start pays the call it pays on AWS."""
    endpoint = stack_env.get("AWS_ENDPOINT_URL_SECRETS_MANAGER")
    if not endpoint:
        return stack_env
    env = dict(stack_env)
    run = "%d-%d" % (os.getpid(), time.time_ns())
    for inline, secret_id in SECRETS:
        value = env.pop(inline, None)
        if value is None:
            continue
        body = json.dumps({"Name": "bodega-bench/%s/%s" % (run, inline), "SecretString": value}).encode()
        request = urllib.request.Request(
            endpoint,
            data=body,
            headers={
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": "secretsmanager.CreateSecret",
                "Authorization": "AWS4-HMAC-SHA256 Credential=%s/20260101/%s/secretsmanager/aws4_request, "
                "SignedHeaders=host, Signature=0" % (env.get("AWS_ACCESS_KEY_ID", "x"), env.get("AWS_REGION", "us-east-1")),
            },
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            env[secret_id] = json.load(answer)["ARN"]
    return env


def stripped_size(path):
    strip = shutil.which("strip")
    if strip is None:
        return os.path.getsize(path)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "stripped")
        subprocess.run([strip, "-o", out, path], check=True, capture_output=True)
        return os.path.getsize(out)


def peak_rss(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def measure(name, binary, event, stack_env, proxies, invocations, timeout, log_dir, label=None, extra_env=None):
    api = RuntimeApi([event] * (1 + invocations), function_name=name)
    # A killed function drops its pending `next`: not worth a traceback.
    api.server.handle_error = lambda *_: None
    for p in proxies.values():
        p.reset()
    env = lambda_check.lambda_environment(name, api, stack_env)
    env["RUST_LOG"] = "warn"
    env.update(extra_env or {})
    label = label or name
    log_path = os.path.join(log_dir, label.replace(" ", "-") + ".log")
    with open(log_path, "wb") as log:
        started = time.monotonic()
        proc = subprocess.Popen([binary], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=os.path.dirname(binary))
        rss = None
        try:
            end = started + timeout
            while time.monotonic() < end:
                if api.all_answered() or api.init_error is not None or proc.poll() is not None:
                    break
                time.sleep(0.01)
            rss = peak_rss(proc.pid)
        finally:
            exited = proc.poll()
            if exited is None:
                proc.kill()
                proc.wait()
            api.close()
    result = {"name": label, "rss": rss, "error": None}
    if api.first_next_at is None:
        result["error"] = "never asked for an event (log: %s)" % os.path.relpath(log_path, ROOT)
        return result
    result["init"] = api.first_next_at - started
    result["conns"] = {p.label: p.count_before(api.first_next_at) for p in proxies.values()}
    answered = [o for o in api.outcomes if o.answered_at is not None]
    if len(answered) < len(api.outcomes):
        result["error"] = "%d of %d events answered (log: %s)" % (
            len(answered),
            len(api.outcomes),
            os.path.relpath(log_path, ROOT),
        )
    if answered:
        first = api.outcomes[0]
        if first.answered_at is not None:
            result["first"] = first.answered_at - first.handed_out_at
            result["answer"] = first.kind if first.status() is None else str(first.status())
        warm = [o.answered_at - o.handed_out_at for o in api.outcomes[1:] if o.answered_at is not None]
        if warm:
            result["warm"] = statistics.median(warm)
    return result


def fmt_ms(s):
    return "-" if s is None else ("%.2f ms" % (s * 1000) if s < 0.1 else "%.0f ms" % (s * 1000))


def fmt_mb(b):
    return "-" if b is None else "%.1f MB" % (b / 1e6)


def with_ratio(text, value, base):
    if value is None or not base:
        return text
    return "%s %4.2fx" % (text, value / base)


def print_like_for_like(results, base):
    """One line per LIKE_FOR_LIKE row: its warm p50 against the bare floor's
    GetItem and against the floor row that makes the same DynamoDB call."""
    by_name = {r["name"]: r for r in results if r.get("warm") and not r.get("error")}
    for name, floor in LIKE_FOR_LIKE.items():
        row, same = by_name.get(name), by_name.get(floor)
        if row is None or same is None or not base.get("warm"):
            continue
        print(
            "%s warm p50 %s: %.2fx %s (one GetItem), %.2fx %s (the same DynamoDB call)"
            % (name, fmt_ms(row["warm"]), row["warm"] / base["warm"], BASELINE, row["warm"] / same["warm"], floor)
        )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--stack-env", required=True)
    parser.add_argument("--bin-dir", required=True, help="where cargo put the binaries (target/<profile>)")
    parser.add_argument("--profile", default="?", help="the cargo profile they were built with (printed)")
    parser.add_argument("--invocations", type=int, default=300, help="warm invocations after the first")
    parser.add_argument("--starts", type=int, default=3, help="cold starts per binary (median init and first)")
    parser.add_argument("--connect-latency-ms", type=float, default=None)
    parser.add_argument(
        "--warmup",
        type=int,
        default=1000,
        help="unmeasured invocations of each floor row first: DynamoDB Local is a JVM, slow until its JIT has run",
    )
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument(
        "--inline-secrets",
        action="store_true",
        help="keep the stack's inline secrets (default: moved into Secrets Manager, as in AWS)",
    )
    parser.add_argument("--log-dir", default=os.path.join(ROOT, ".local", "coldstart"))
    parser.add_argument("binaries", nargs="*")
    args = parser.parse_args()

    names = FLOORS + (args.binaries or lambda_check.template_binaries())
    missing = [n for n in names if n not in FLOORS and n not in lambda_check.SAMPLES]
    if missing:
        print("no sample event for %s: add one to SAMPLES in infra/lambda-check.py" % ", ".join(missing), file=sys.stderr)
        return 2
    os.makedirs(args.log_dir, exist_ok=True)
    stack_env = lambda_check.stack_environment(args.stack_env)
    if not args.inline_secrets:
        stack_env = secrets_as_in_aws(stack_env)
    proxies = {}
    if args.connect_latency_ms is not None:
        stack_env, proxies = proxied_environment(stack_env, args.connect_latency_ms / 1000)

    # DynamoDB Local answers its first thousand-odd requests slower than
    # the rest (a JVM before its JIT has compiled the hot paths). The floors
    # are measured first, so on a fresh stack they would pay for that and
    # every function's ratio would look better than it is: each floor row
    # (its GetItem and its batch read) runs once unmeasured beforehand.
    if args.warmup > 0 and BASELINE in names:
        binary = os.path.join(os.path.abspath(args.bin_dir), BASELINE)
        if os.path.isfile(binary):
            for label, _, env in [(BASELINE, None, {})] + EXTRA_ROWS.get(BASELINE, []):
                measure(
                    BASELINE,
                    binary,
                    FLOOR_EVENT,
                    stack_env,
                    proxies,
                    args.warmup,
                    args.timeout,
                    args.log_dir,
                    "warm-up " + label,
                    env,
                )

    rows = []
    for name in names:
        rows.append((name, name, None if name in FLOORS else lambda_check.SAMPLES[name], {}))
        rows.extend((label, name, sample, env) for label, sample, env in EXTRA_ROWS.get(name, []))
    results = []
    for label, name, sample, extra_env in rows:
        binary = os.path.join(os.path.abspath(args.bin_dir), name)
        if not os.path.isfile(binary):
            results.append({"name": label, "error": "not built: %s" % os.path.relpath(binary, ROOT)})
            continue
        if sample is None:
            event = FLOOR_EVENT
        else:
            with open(os.path.join(ROOT, "events", sample)) as f:
                event = json.load(f)
        # Init and the first request are the median of several cold starts
        # (a busy machine makes single starts noisy); the last start also
        # serves the warm invocations and gives the peak RSS.
        starts = [
            measure(name, binary, event, stack_env, proxies, 0, args.timeout, args.log_dir, label, extra_env)
            for _ in range(args.starts - 1)
        ]
        r = measure(
            name, binary, event, stack_env, proxies, args.invocations, args.timeout, args.log_dir, label, extra_env
        )
        for key in ("init", "first"):
            values = [x[key] for x in starts + [r] if x.get(key) is not None]
            if values and key in r:
                r[key] = statistics.median(values)
        r["size"] = stripped_size(binary)
        results.append(r)
    for p in proxies.values():
        p.close()

    base = next((r for r in results if r["name"] == BASELINE and not r.get("error")), {})
    title = "cold start: profile %s, median of %d starts, %d warm invocations" % (
        args.profile,
        args.starts,
        args.invocations,
    )
    if args.warmup > 0:
        title += ", after %d unmeasured reads of each floor to warm DynamoDB Local up" % args.warmup
    if args.connect_latency_ms is not None:
        title += ", +%g ms per new connection (loopback proxy)" % args.connect_latency_ms
    print(title + "; ratios to floor-bare")
    header = "%-20s %-16s %-16s %-16s %-16s %-16s %s" % (
        "binary",
        "size",
        "init",
        "first",
        "warm p50",
        "peak RSS",
        "init conns" if proxies else "first answer",
    )
    print(header)
    failures = 0
    for r in results:
        if "init" not in r:
            print("%-20s %s" % (r["name"], "FAIL " + r["error"]))
            failures += 1
            continue
        if proxies:
            last = ", ".join("%s %d" % (k, v) for k, v in sorted(r["conns"].items()) if v)
        else:
            last = r.get("answer", "-")
        print(
            "%-20s %-16s %-16s %-16s %-16s %-16s %s%s"
            % (
                r["name"],
                with_ratio(fmt_mb(r.get("size")), r.get("size"), base.get("size")),
                with_ratio(fmt_ms(r.get("init")), r.get("init"), base.get("init")),
                with_ratio(fmt_ms(r.get("first")), r.get("first"), base.get("first")),
                with_ratio(fmt_ms(r.get("warm")), r.get("warm"), base.get("warm")),
                with_ratio(fmt_mb(r.get("rss")), r.get("rss"), base.get("rss")),
                last or "-",
                "" if not r.get("error") else "  FAIL " + r["error"],
            ),
            flush=True,
        )
        failures += 1 if r.get("error") else 0
    print_like_for_like(results, base)
    if failures:
        print("%d of %d binaries failed (logs in %s)" % (failures, len(results), os.path.relpath(args.log_dir, ROOT)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
