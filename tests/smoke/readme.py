#!/usr/bin/env python3
"""The README's front door, tried as a user tries it (`make test` runs this).

1. `make dev` from the checkout, as a user starts it (the same script; a port
   and a stack of its own, so it runs beside a developer's `make dev`);
2. waits for /v1/health;
3. runs the README's own shell examples, taken from README.md's code blocks
   marked `<!-- smoke: NAME -->` (so the docs cannot drift from what works),
   with `set -euo pipefail` and curl failing on any HTTP error;
4. runs the commands given with --while-serving (the browser checks) against
   the same server, with BODEGA_BASE_URL set;
5. stops it with SIGINT to its process group, as Ctrl-C does, and checks that
   every process it started is gone and every port it used is free.

A failure names the step and prints the last lines of the dev log.

Usage: tests/smoke/readme.py [--while-serving CMD]... [--log FILE]
"""

import argparse
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
# The blocks every run must find: removing a marker must not pass silently.
REQUIRED_BLOCKS = ["try-it", "checkout"]
README_ADDRESS = "127.0.0.1:3000"
START_TIMEOUT_S = 900  # a cold `cargo run` builds the devserver first
BLOCK_TIMEOUT_S = 180
STOP_TIMEOUT_S = 60


class SmokeFailure(Exception):
    pass


def say(message):
    print(f"smoke: {message}", flush=True)


def readme_blocks(text):
    """{name: shell text} of each ```sh block right below a smoke marker."""
    blocks = {}
    pattern = re.compile(
        r"^<!-- smoke: ([a-z0-9-]+) -->\n```(?:sh|bash)\n(.*?)^```$", re.M | re.S
    )
    for match in pattern.finditer(text):
        name, body = match.group(1), match.group(2)
        if name in blocks:
            raise SmokeFailure(f"README.md has two blocks named {name!r}")
        blocks[name] = body
    missing = [name for name in REQUIRED_BLOCKS if name not in blocks]
    if missing:
        raise SmokeFailure(
            "README.md lacks the marked example block(s) "
            + ", ".join(missing)
            + " ('<!-- smoke: NAME -->' right above a ```sh block)"
        )
    return blocks


def runnable(block, address):
    """The block as a script against `address`: `make dev` itself is already
    running, so lines that start it are left out."""
    lines = [
        line
        for line in block.splitlines()
        if not re.match(r"^\s*make dev\b", line)
    ]
    body = "\n".join(lines).replace(README_ADDRESS, address)
    prelude = (
        "set -euo pipefail\n"
        "curl() { command curl --fail-with-body --show-error \"$@\"; }\n"
    )
    return prelude + body + "\n"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_in_use(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def healthy(base):
    try:
        with urllib.request.urlopen(base + "/v1/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def session_members(sid):
    """PIDs (other than zombies) whose session is `sid`."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        state, session = fields[0], int(fields[3])
        if session == sid and state != "Z":
            members.append(int(entry.name))
    return members


def alive(pid):
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2 :].split()[0] != "Z"


def tail(path, lines=60):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError as err:
        return f"(no log: {err})"


class DevServer:
    def __init__(self, log_path):
        self.log_path = log_path
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.base = f"http://{self.address}"
        self.process = None
        self.run_dir = None
        self.stack = {}  # service → (pid, port)

    def start(self):
        env = dict(os.environ, BODEGA_DEV_PORT=str(self.port), BODEGA_DEV_PRIVATE_STACK="1")
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            ["make", "dev"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SmokeFailure(f"make dev exited with {self.process.returncode} before serving")
            if healthy(self.base):
                break
            time.sleep(1)
        else:
            raise SmokeFailure(f"/v1/health did not answer 200 within {START_TIMEOUT_S} s")
        self.find_stack()

    def find_stack(self):
        match = re.search(r"environment:\s+source (\S+)/stack\.env", Path(self.log_path).read_text())
        if not match:
            raise SmokeFailure("make dev did not print its stack's environment file")
        self.run_dir = ROOT / match.group(1)
        for pid_file in self.run_dir.glob("*.pid"):
            service = pid_file.stem
            port_file = self.run_dir / f"{service}.port"
            self.stack[service] = (int(pid_file.read_text()), int(port_file.read_text()))
        if len(self.stack) < 3:
            raise SmokeFailure(f"expected the three stack services in {self.run_dir}, found {sorted(self.stack)}")

    def ctrl_c(self):
        """SIGINT to the foreground process group, as a terminal's Ctrl-C."""
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise SmokeFailure(f"make dev was still running {STOP_TIMEOUT_S} s after Ctrl-C")
        # Processes may take a moment to be reaped after their parent exits.
        deadline = time.monotonic() + 10
        while True:
            left = [p for p in session_members(self.process.pid) if p != os.getpid()]
            stack_left = {s: pid for s, (pid, _) in self.stack.items() if alive(pid)}
            busy = [p for p in [self.port] + [port for _, port in self.stack.values()] if port_in_use(p)]
            if not (left or stack_left or busy):
                break
            if time.monotonic() > deadline:
                raise SmokeFailure(
                    "after Ctrl-C: "
                    + "; ".join(
                        part
                        for part in [
                            left and f"processes of make dev still running: {left}",
                            stack_left and f"stack services still running: {stack_left}",
                            busy and f"ports still in use: {busy}",
                        ]
                        if part
                    )
                )
            time.sleep(0.5)
        if self.run_dir and self.run_dir.exists():
            raise SmokeFailure(f"the private stack's run dir {self.run_dir} was not removed")
        self.process = None

    def kill(self):
        """After a failure: leave nothing behind."""
        if self.process and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGINT)
                self.process.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                os.killpg(self.process.pid, signal.SIGKILL)
        if self.run_dir and self.run_dir.exists():
            subprocess.run([str(ROOT / "infra/stack.sh"), "stop", "--run-dir", str(self.run_dir)], check=False)


def run_block(name, script, base):
    say(f"README block {name!r}")
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as f:
        f.write(script)
    try:
        result = subprocess.run(
            ["bash", f.name],
            cwd=tempfile.gettempdir(),
            capture_output=True,
            text=True,
            timeout=BLOCK_TIMEOUT_S,
            env=dict(os.environ, BODEGA_BASE_URL=base),
        )
    except subprocess.TimeoutExpired:
        raise SmokeFailure(f"README block {name!r} ran longer than {BLOCK_TIMEOUT_S} s")
    finally:
        os.unlink(f.name)
    output = result.stdout + result.stderr
    shown = [line[:200] + (" ..." if len(line) > 200 else "") for line in output.splitlines()]
    for line in shown[:40]:
        print(f"  | {line}")
    if len(shown) > 40:
        print(f"  | ... ({len(shown) - 40} more lines)")
    sys.stdout.flush()
    if result.returncode != 0:
        raise SmokeFailure(f"README block {name!r} failed (exit {result.returncode})")
    if '"success":false' in output.replace(" ", ""):
        raise SmokeFailure(f"README block {name!r} printed an error envelope")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--while-serving", action="append", default=[], metavar="CMD")
    parser.add_argument("--log", default=None, help="where to keep the dev log")
    args = parser.parse_args()

    log_path = args.log or os.path.join(tempfile.mkdtemp(prefix="bodega-smoke-"), "make-dev.log")
    server = DevServer(log_path)
    step = "reading README.md's marked examples"
    try:
        blocks = readme_blocks(README.read_text())
        step = "make dev (start and /v1/health)"
        say(f"make dev on {server.base} (log {log_path})")
        started = time.monotonic()
        server.start()
        say(f"serving after {time.monotonic() - started:.0f} s")
        for name, block in blocks.items():
            step = f"README block {name!r}"
            run_block(name, runnable(block, server.address), server.base)
        for command in args.while_serving:
            step = f"while serving: {command}"
            say(step)
            result = subprocess.run(
                shlex.split(command), cwd=ROOT, env=dict(os.environ, BODEGA_BASE_URL=server.base)
            )
            if result.returncode != 0:
                raise SmokeFailure(f"{command!r} failed (exit {result.returncode})")
        step = "Ctrl-C"
        server.ctrl_c()
        say("Ctrl-C stopped make dev, its devserver and its stack; every port is free")
    except SmokeFailure as failure:
        print(f"\nsmoke: FAILED at step: {step}\n  {failure}", file=sys.stderr)
        print(f"\n--- last lines of the dev log ({log_path}) ---\n{tail(log_path)}", file=sys.stderr)
        server.kill()
        return 1
    except BaseException:
        server.kill()
        raise
    say(f"passed: {len(blocks)} README blocks, {len(args.while_serving)} checks while serving")
    return 0


if __name__ == "__main__":
    sys.exit(main())
