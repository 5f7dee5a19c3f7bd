"""A local stand-in of the two OpenAI endpoints the studio calls, so the real
HTTP clients (functions/studio/src/providers.rs) are tested over HTTP.
Python standard library only; started by infra/stack.sh on loopback.

- POST /v1/images/generations {model, prompt, n?, size?, response_format?}
  answers {"created", "data": [{"b64_json"}]} with a PNG of `size` drawn in
  the #rrggbb colours the prompt names (vertical bands), like a model that
  follows the palette. Like OpenAI: a bearer key is required (401); the GPT
  image models always answer b64_json and refuse `response_format` (400);
  DALL-E models need `response_format: b64_json` here (URLs are not served).
  A prompt containing "standin-blocked" is refused by the "safety system":
  400 with error code `moderation_blocked`. "standin-unavailable": 503.
- POST /v1/moderations {model?, input} answers {"id", "model", "results":
  [{"flagged", "categories", "category_scores"}]}; an input containing
  "standin-flagged" is flagged for `violence`.
"""

import argparse
import base64
import json
import re
import struct
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CATEGORIES = [
    "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit",
    "illicit/violent", "self-harm", "self-harm/instructions", "self-harm/intent",
    "sexual", "sexual/minors", "violence", "violence/graphic",
]
MAX_BODY = 1 << 20


def png(width, height, colours):
    """A PNG of vertical bands, one per colour."""
    colours = colours or [(0x80, 0x80, 0x80)]
    band = max(1, width // len(colours))
    row = bytearray()
    for x in range(width):
        row += bytes(colours[min(x // band, len(colours) - 1)])
    raw = b"".join(b"\x00" + bytes(row) for _ in range(height))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


class Handler(BaseHTTPRequestHandler):
    server_version = "openai-standin/1"

    def log_message(self, fmt, *args):  # one line per request, no bodies
        print("%s %s" % (self.command, self.path), flush=True)

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, message, code=None, kind="invalid_request_error", param=None):
        self.answer(status, {"error": {"message": message, "type": kind, "param": param, "code": code}})

    def do_GET(self):
        self.error(404, "Unknown request URL: GET %s." % self.path, code="unknown_url")

    def do_POST(self):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or len(auth) <= len("Bearer "):
            return self.error(401, "You didn't provide an API key.", code="invalid_api_key")
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return self.error(413, "Request too large.")
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
            assert isinstance(body, dict)
        except (ValueError, AssertionError):
            return self.error(400, "We could not parse the JSON body of your request.")
        if self.path == "/v1/images/generations":
            return self.images(body)
        if self.path == "/v1/moderations":
            return self.moderations(body)
        return self.error(404, "Unknown request URL: POST %s." % self.path, code="unknown_url")

    def images(self, body):
        model, prompt = body.get("model") or "dall-e-2", body.get("prompt")
        if not isinstance(prompt, str) or not prompt:
            return self.error(400, "Missing required parameter: 'prompt'.", param="prompt",
                              code="missing_required_parameter")
        gpt_image = model.startswith("gpt-image")
        fmt = body.get("response_format")
        if gpt_image and fmt is not None:
            return self.error(400, "Unknown parameter: 'response_format'.", param="response_format",
                              code="unknown_parameter")
        if not gpt_image and fmt != "b64_json":
            return self.error(400, "This stand-in only answers response_format b64_json.",
                              param="response_format")
        match = re.fullmatch(r"(\d{2,4})x(\d{2,4})", body.get("size") or "1024x1024")
        if not match:
            return self.error(400, "Invalid size.", param="size")
        width, height = int(match.group(1)), int(match.group(2))
        if "standin-unavailable" in prompt:
            return self.error(503, "The server is overloaded.", kind="server_error")
        if "standin-blocked" in prompt:
            return self.error(400, "Your request was rejected by the safety system. If you believe "
                              "this is an error, contact us at help.openai.com and include the "
                              "request ID.", code="moderation_blocked",
                              kind="image_generation_user_error")
        colours = [tuple(int(h[i:i + 2], 16) for i in (0, 2, 4))
                   for h in re.findall(r"#([0-9a-fA-F]{6})\b", prompt)][:5]
        image = base64.b64encode(png(width, height, colours)).decode()
        self.answer(200, {"created": int(time.time()), "data": [{"b64_json": image}],
                          "usage": {"input_tokens": len(prompt.split()), "output_tokens": 1056,
                                    "total_tokens": len(prompt.split()) + 1056}})

    def moderations(self, body):
        text = body.get("input")
        texts = text if isinstance(text, list) else [text]
        if not texts or not all(isinstance(t, str) for t in texts):
            return self.error(400, "Invalid value for 'input'.", param="input")
        results = []
        for t in texts:
            flagged = "standin-flagged" in t
            categories = {c: (flagged and c == "violence") for c in CATEGORIES}
            scores = {c: (0.97 if categories[c] else 0.0001) for c in CATEGORIES}
            results.append({"flagged": flagged, "categories": categories, "category_scores": scores})
        self.answer(200, {"id": "modr-%d" % int(time.time() * 1000),
                          "model": body.get("model") or "omni-moderation-latest",
                          "results": results})


def main():
    parser = argparse.ArgumentParser(prog="openai_standin")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    ThreadingHTTPServer((args.host, args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
