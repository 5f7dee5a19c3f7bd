#!/usr/bin/env python3
"""A local stand-in for Printful's API v2 (the calls Bodega makes), Python
stdlib only. Started by infra/stack.sh on 127.0.0.1; state in memory.

API (bearer token required, answers wrapped in {"data": ...}, errors as
RFC 9457 problem+json):
  POST   /v2/orders                      draft order (external_id <= 32 chars, unique)
  GET    /v2/orders/{id|@external_id}    costs "calculating" for --calc-seconds, then "done"
  POST   /v2/orders/{id}/confirmation    draft -> pending (409 while costs are calculating)
  DELETE /v2/orders/{id}                 draft/pending/onhold -> canceled (409 otherwise)
  GET    /v2/orders/{id}/shipments       the order's shipments

Control endpoints (no token; for tests and make dev):
  POST /_standin/webhook-url      {"url": ...}   where webhooks go
  POST /_standin/orders/{id}/ship [{"url": ...}] ship it: a shipment, status
       fulfilled, and a signed shipment_sent webhook posted to the URL
  POST /_standin/orders/{id}/fail [{"reason": ..., "url": ...}] order_failed
  POST /_standin/rate-limit       {"count": n, "retryAfter": s, "path"?: p} the
       next n API calls (to path p only, if given) answer 429 with Retry-After: s
Each control answer says what was sent: {"event": {...}, "delivered": <status or null>}.

Webhooks are signed as Printful v2 does: X-PF-Webhook-Signature is the hex
HMAC-SHA256 of the raw body, keyed with the hex-decoded webhook secret.
"""
import argparse
import hashlib
import hmac
import json
import re
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

UNIT_PRICE_CENTS = 1250
SHIPPING_CENTS = 499


class State:
    def __init__(self, token, secret, calc_seconds, webhook_url):
        self.lock = threading.Lock()
        self.token = token
        self.secret = secret
        self.calc_seconds = calc_seconds
        self.webhook_url = webhook_url
        self.orders = {}
        self.next_id = 100001
        self.next_shipment = 500001
        # path (or "*") -> [calls left to refuse, Retry-After seconds]
        self.rate_limits = {}


def money(cents):
    return "%d.%02d" % (cents // 100, cents % 100)


def problem(status, title, detail):
    return status, {"type": "https://developers.printful.com/docs/v2-beta/#errors",
                    "status": status, "title": title, "detail": detail}


class Handler(BaseHTTPRequestHandler):
    server_version = "printful-standin/1"
    state = None  # set in main

    def log_message(self, fmt, *args):
        print("%s %s" % (self.address_string(), fmt % args), flush=True)

    # -- plumbing
    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def answer(self, status, value, headers=None):
        payload = json.dumps(value).encode()
        self.send_response(status)
        ctype = "application/problem+json" if status >= 400 else "application/json"
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        for name, val in (headers or {}).items():
            self.send_header(name, val)
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_DELETE(self):
        self.route("DELETE")

    def route(self, method):
        path = self.path.split("?", 1)[0]
        st = self.state
        if path.startswith("/_standin/"):
            return self.control(method, path)
        if path == "/":
            return self.answer(200, {"standin": "printful"})
        if self.headers.get("Authorization") != "Bearer " + st.token:
            return self.answer(*problem(401, "Unauthorized", "missing or wrong bearer token"))
        with st.lock:
            limit = st.rate_limits.get(path) or st.rate_limits.get("*")
            if limit and limit[0] > 0:
                limit[0] -= 1
                return self.answer(*problem(429, "Too Many Requests", "rate limit exceeded"),
                                   headers={"Retry-After": str(limit[1])})
        if method == "POST" and path == "/v2/orders":
            return self.create()
        m = re.fullmatch(r"/v2/orders/([^/]+)(/confirmation|/shipments)?", path)
        if not m:
            return self.answer(*problem(404, "Not Found", "no such endpoint"))
        with st.lock:
            order = self.find(m.group(1))
            if order is None:
                return self.answer(*problem(404, "Not Found", "no such order"))
            tail = m.group(2)
            if method == "GET" and tail is None:
                return self.answer(200, {"data": self.view(order)})
            if method == "GET" and tail == "/shipments":
                return self.answer(200, {"data": order["shipments"]})
            if method == "POST" and tail == "/confirmation":
                if order["status"] != "draft":
                    return self.answer(*problem(409, "Conflict", "only a draft order can be confirmed"))
                if not self.costs_done(order):
                    return self.answer(*problem(409, "Conflict", "the order's costs are still being calculated"))
                order["status"] = "pending"
                return self.answer(200, {"data": self.view(order)})
            if method == "DELETE" and tail is None:
                if order["status"] not in ("draft", "pending", "onhold", "failed"):
                    return self.answer(*problem(409, "Conflict", "an order in production cannot be canceled"))
                order["status"] = "canceled"
                return self.answer(200, {"data": self.view(order)})
        return self.answer(*problem(405, "Method Not Allowed", "not supported"))

    # -- orders
    def find(self, ref):
        if ref.startswith("@"):
            for order in self.state.orders.values():
                if order["external_id"] == ref[1:]:
                    return order
            return None
        return self.state.orders.get(ref)

    def costs_done(self, order):
        return time.monotonic() - order["created_mono"] >= self.state.calc_seconds

    def view(self, order):
        done = self.costs_done(order)
        subtotal = sum(i["quantity"] for i in order["order_items"]) * UNIT_PRICE_CENTS
        costs = {"calculation_status": "done" if done else "calculating", "currency": "EUR"}
        for name, cents in (("subtotal", subtotal), ("discount", 0), ("shipping", SHIPPING_CENTS),
                            ("tax", 0), ("vat", 0), ("total", subtotal + SHIPPING_CENTS)):
            costs[name] = money(cents) if done else None
        return {"id": order["id"], "external_id": order["external_id"], "store_id": 1,
                "shipping": order["shipping"], "status": order["status"],
                "created_at": order["created_at"], "recipient": order["recipient"],
                "order_items": order["order_items"], "costs": costs}

    def create(self):
        body = self.body()
        if body is None:
            return self.answer(*problem(400, "Bad Request", "the body is not a JSON object"))
        errors = []
        ext = body.get("external_id")
        if ext is not None and (not isinstance(ext, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", ext)):
            errors.append("external_id must be 1 to 32 letters, digits, '-' or '_'")
        recipient = body.get("recipient")
        if not isinstance(recipient, dict):
            errors.append("recipient is required")
        else:
            for field in ("address1", "city", "country_code", "zip"):
                if not str(recipient.get(field) or "").strip():
                    errors.append("recipient.%s is required" % field)
        items = body.get("order_items")
        if not isinstance(items, list) or not items:
            errors.append("order_items must have at least one item")
        else:
            for i, item in enumerate(items):
                q = item.get("quantity") if isinstance(item, dict) else None
                if not isinstance(q, int) or q < 1:
                    errors.append("order_items[%d].quantity must be a positive integer" % i)
        if errors:
            return self.answer(*problem(400, "Bad Request", "; ".join(errors)))
        st = self.state
        with st.lock:
            if ext is not None and self.find("@" + ext) is not None:
                return self.answer(*problem(409, "Conflict", "an order with this external_id exists"))
            oid = str(st.next_id)
            st.next_id += 1
            order = {"id": int(oid), "external_id": ext, "status": "draft",
                     "shipping": body.get("shipping") or "STANDARD", "recipient": recipient,
                     "order_items": items, "shipments": [],
                     "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                     "created_mono": time.monotonic()}
            st.orders[oid] = order
            return self.answer(200, {"data": self.view(order)})

    # -- control
    def control(self, method, path):
        st = self.state
        body = self.body() or {}
        if method != "POST":
            return self.answer(*problem(405, "Method Not Allowed", "control endpoints take POST"))
        if path == "/_standin/webhook-url":
            st.webhook_url = body.get("url")
            return self.answer(200, {"url": st.webhook_url})
        if path == "/_standin/rate-limit":
            limit = [int(body.get("count", 1)), int(body.get("retryAfter", 1))]
            with st.lock:
                st.rate_limits[body.get("path") or "*"] = limit
            return self.answer(200, {"count": limit[0], "retryAfter": limit[1]})
        m = re.fullmatch(r"/_standin/orders/([^/]+)/(ship|fail)", path)
        if not m:
            return self.answer(*problem(404, "Not Found", "no such control endpoint"))
        with st.lock:
            order = self.find(m.group(1))
            if order is None:
                return self.answer(*problem(404, "Not Found", "no such order"))
            ref = {"id": order["id"], "external_id": order["external_id"]}
            if m.group(2) == "ship":
                if order["status"] not in ("pending", "inprocess", "partial"):
                    return self.answer(*problem(409, "Conflict", "only a confirmed order ships"))
                sid = st.next_shipment
                st.next_shipment += 1
                shipment = {"id": sid, "carrier": "DHL", "service": "DHL Parcel",
                            "tracking_number": "PF%d" % sid,
                            "tracking_url": "https://tracking.standin.local/PF%d" % sid,
                            "shipment_status": "shipped",
                            "shipped_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
                order["shipments"].append(shipment)
                order["status"] = "fulfilled"
                ref["status"] = order["status"]
                event = {"type": "shipment_sent", "data": {"shipment": shipment, "order": ref}}
            else:
                order["status"] = "failed"
                ref["status"] = order["status"]
                event = {"type": "order_failed",
                         "data": {"reason": body.get("reason") or "the print file could not be read",
                                  "order": ref}}
        event.update({"occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                      "retries": 0, "store_id": 1})
        return self.answer(200, {"event": event, "delivered": self.deliver(event, body.get("url"))})

    def deliver(self, event, url):
        url = url or self.state.webhook_url
        if not url:
            return None
        payload = json.dumps(event).encode()
        try:
            key = bytes.fromhex(self.state.secret)
        except ValueError:
            key = self.state.secret.encode()
        signature = hmac.new(key, payload, hashlib.sha256).hexdigest()
        request = urllib.request.Request(url, data=payload, method="POST", headers={
            "Content-Type": "application/json", "X-PF-Webhook-Signature": signature})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as err:
            return err.code
        except OSError:
            return 0


def main():
    parser = argparse.ArgumentParser(prog="printful-standin")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--webhook-secret", required=True, help="hex, as Printful's secret_key")
    parser.add_argument("--calc-seconds", type=float, default=0.5,
                        help="how long a new order's costs stay 'calculating'")
    parser.add_argument("--webhook-url", default=None)
    args = parser.parse_args()
    Handler.state = State(args.token, args.webhook_secret, args.calc_seconds, args.webhook_url)
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    print("printful stand-in listening on %s:%d" % (args.host, args.port), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
