"""A stand-in of the AWS Lambda Runtime API, for starting a function's
`bootstrap` outside AWS (Python standard library only, loopback only).

It speaks the part of the Runtime API a custom runtime uses
(https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html):

  GET  /2018-06-01/runtime/invocation/next            the next event
  POST /2018-06-01/runtime/invocation/{id}/response   the function's answer
  POST /2018-06-01/runtime/invocation/{id}/error      a handler error
  POST /2018-06-01/runtime/init/error                 a failed init

Events are handed out in order; once they are all out, `next` waits (as in
AWS, where the sandbox is frozen) until the server is closed. Each call is
recorded with its time, so a caller can tell when init ended (the first
`next`) and how each invocation was answered.

Used by infra/lambda-check.py; importable by any tool that starts
bootstraps.
"""

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:{name}"


class Outcome:
    """What happened to one event."""

    def __init__(self, request_id, event):
        self.request_id = request_id
        self.event = event
        self.handed_out_at = None
        self.answered_at = None
        self.kind = None  # "response" | "error"
        self.body = None

    def status(self):
        """The HTTP status of an API Gateway answer, if the answer is one."""
        if self.kind != "response":
            return None
        try:
            doc = json.loads(self.body or b"null")
        except ValueError:
            return None
        if isinstance(doc, dict) and isinstance(doc.get("statusCode"), int):
            return doc["statusCode"]
        return None


class RuntimeApi:
    """Serves `events` to one function process on 127.0.0.1:<port>."""

    def __init__(self, events, function_name="function", deadline_seconds=900):
        self.function_name = function_name
        self.deadline_seconds = deadline_seconds
        self.started_at = time.monotonic()
        self.first_next_at = None
        self.init_error = None
        self.outcomes = [Outcome(uuid.uuid4().hex, e) for e in events]
        self._next = 0
        self._lock = threading.Condition()
        self._closed = False
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args):
                pass

            def _read(self):
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def _answer(self, code, body=b"", headers=None):
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    self.wfile.write(body)

            def do_GET(self):
                if self.path != PREFIX + "/invocation/next":
                    return self._answer(404, b'{"errorMessage":"unknown path"}')
                outcome = api._take_next()
                if outcome is None:  # closed while waiting
                    return self._answer(410)
                body = json.dumps(outcome.event).encode()
                deadline_ms = int((time.time() + api.deadline_seconds) * 1000)
                self._answer(
                    200,
                    body,
                    {
                        "Content-Type": "application/json",
                        "Lambda-Runtime-Aws-Request-Id": outcome.request_id,
                        "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                        "Lambda-Runtime-Invoked-Function-Arn": FUNCTION_ARN.format(
                            name=api.function_name
                        ),
                        "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000;Sampled=0",
                    },
                )

            def do_POST(self):
                body = self._read()
                if self.path == PREFIX + "/init/error":
                    api._record_init_error(body)
                    return self._answer(202, b'{"status":"OK"}')
                parts = self.path[len(PREFIX) :].strip("/").split("/")
                if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                    if api._record(parts[1], parts[2], body):
                        return self._answer(202, b'{"status":"OK"}')
                    return self._answer(400, b'{"errorMessage":"unknown request id"}')
                self._answer(404, b'{"errorMessage":"unknown path"}')

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def address(self):
        """The value for AWS_LAMBDA_RUNTIME_API."""
        return "127.0.0.1:%d" % self.port

    def _take_next(self):
        with self._lock:
            if self.first_next_at is None:
                self.first_next_at = time.monotonic()
                self._lock.notify_all()
            while self._next >= len(self.outcomes) and not self._closed:
                self._lock.wait(0.5)
            if self._closed:
                return None
            outcome = self.outcomes[self._next]
            self._next += 1
            outcome.handed_out_at = time.monotonic()
            return outcome

    def _record(self, request_id, kind, body):
        with self._lock:
            for o in self.outcomes:
                if o.request_id == request_id and o.kind is None:
                    o.kind, o.body, o.answered_at = kind, body, time.monotonic()
                    self._lock.notify_all()
                    return True
            return False

    def _record_init_error(self, body):
        with self._lock:
            self.init_error = body
            self._lock.notify_all()

    def all_answered(self):
        return all(o.kind is not None for o in self.outcomes)

    def wait(self, until, timeout):
        """Wait until `until()` holds or `timeout` seconds pass; True if it held."""
        end = time.monotonic() + timeout
        with self._lock:
            while not until():
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(min(left, 0.5))
            return True

    def close(self):
        with self._lock:
            self._closed = True
            self._lock.notify_all()
        self.server.shutdown()
        self.server.server_close()
