#!/usr/bin/env python3
"""HTTPS test server for greenlight's network tests (standard library only).

Serves files from --root over TLS with the given certificate, plus routes that misbehave on
purpose, a regulator's intake endpoint and a grid-intensity endpoint. Writes the port it bound to
--port-file once it listens. Exits when its parent process dies, so a crashed test never leaves it
behind.

Routes (NAME is a file under --root):
  GET  /files/NAME            the file
  GET  /truncated/NAME        Content-Length of the whole file, half the bytes, then close
  GET  /slow/NAME             waits 30 s before answering
  GET  /flaky/NAME            HTTP 500 on the first request for NAME, then the file
  GET  /redirect-http/NAME    302 to http://127.0.0.1:PORT/files/NAME
  GET  /redirect-https/NAME   302 to https://127.0.0.1:PORT/files/NAME
  GET  /chunked/NAME          the file without Content-Length (close-delimited)
  POST /intake                accepts an envelope (docs/submit.md); 201 new, 200 duplicate
  POST /intake-reject         422 {"status": "rejected", "reason": ...}
  POST /intake-flaky          503 on the first request, then as /intake
  GET  /grid/em               Electricity Maps shape (zone from ?zone=)
  GET  /grid/gb               Carbon Intensity API (GB) shape
  GET  /grid/malformed        JSON without a figure
  GET  /requests              JSON list of the requests seen (method, path, headers)
"""
import argparse
import base64
import hashlib
import json
import os
import ssl
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = {"flaky": set(), "intake": {}, "requests": [], "intake_flaky": False}
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # Quiet: the tests read /requests instead.
        pass

    def _record(self):
        with LOCK:
            STATE["requests"].append({"method": self.command, "path": self.path,
                                      "headers": {k.lower(): v for k, v in self.headers.items()}})

    def _send(self, status, body, content_type="application/octet-stream", headers=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status, obj):
        self._send(status, json.dumps(obj).encode(), "application/json")

    def _file(self, name):
        path = os.path.join(self.server.root, os.path.basename(name))
        if not os.path.isfile(path):
            self._send(404, b"not found\n", "text/plain")
            return None
        with open(path, "rb") as f:
            return f.read()

    def do_GET(self):
        self._record()
        url = urllib.parse.urlparse(self.path)
        parts = url.path.strip("/").split("/", 1)
        route, name = parts[0], (parts[1] if len(parts) > 1 else "")
        port = self.server.server_address[1]
        if route == "files":
            data = self._file(name)
            if data is not None:
                self._send(200, data)
        elif route == "truncated":
            data = self._file(name)
            if data is not None:
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
        elif route == "slow":
            time.sleep(30)
            data = self._file(name)
            if data is not None:
                self._send(200, data)
        elif route == "flaky":
            with LOCK:
                first = name not in STATE["flaky"]
                STATE["flaky"].add(name)
            if first:
                self._send(500, b"try again\n", "text/plain")
            else:
                data = self._file(name)
                if data is not None:
                    self._send(200, data)
        elif route in ("redirect-http", "redirect-https"):
            scheme = "http" if route == "redirect-http" else "https"
            self._send(302, b"", "text/plain",
                       {"Location": "%s://127.0.0.1:%d/files/%s" % (scheme, port, name)})
        elif route == "chunked":
            data = self._file(name)
            if data is not None:
                self.send_response(200)
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()
                self.close_connection = True
        elif route == "grid":
            query = urllib.parse.parse_qs(url.query)
            zone = query.get("zone", [""])[0]
            if self.server.token and self.headers.get("auth-token") != self.server.token:
                self._json(401, {"error": "bad token"})
            elif name == "em":
                self._json(200, {"zone": zone, "carbonIntensity": 123.5,
                                 "datetime": "2026-11-29T18:00:00.000Z",
                                 "updatedAt": "2026-11-29T18:05:00.000Z",
                                 "emissionFactorType": "lifecycle", "isEstimated": False})
            elif name == "gb":
                self._json(200, {"data": [{"from": "2026-11-29T18:00Z", "to": "2026-11-29T18:30Z",
                                           "intensity": {"forecast": 210, "actual": 197,
                                                         "index": "moderate"}}]})
            else:
                self._json(200, {"zone": zone, "datetime": "2026-11-29T18:00:00.000Z"})
        elif route == "requests":
            with LOCK:
                self._json(200, STATE["requests"])
        else:
            self._send(404, b"not found\n", "text/plain")

    def do_POST(self):
        self._record()
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        route = urllib.parse.urlparse(self.path).path.strip("/")
        if route == "intake-reject":
            self._json(422, {"status": "rejected", "reason": "criteria not accepted by this intake"})
            return
        if route == "intake-flaky":
            with LOCK:
                first = not STATE["intake_flaky"]
                STATE["intake_flaky"] = True
            if first:
                self._json(503, {"status": "unavailable"})
                return
        elif route != "intake":
            self._send(404, b"not found\n", "text/plain")
            return
        if self.server.token and self.headers.get("Authorization") != "Bearer " + self.server.token:
            self._json(401, {"status": "rejected", "reason": "bad token"})
            return
        try:
            body = json.loads(raw)
            envelope = base64.b64decode(body["envelope_base64"], validate=True)
            digest = hashlib.sha256(envelope).hexdigest()
            env = json.loads(envelope)
            assert env["payloadType"] == "application/vnd.in-toto+json"
            assert env["signatures"]
            for a in body.get("attachments", []):
                data = base64.b64decode(a["data_base64"], validate=True)
                assert hashlib.sha256(data).hexdigest() == a["sha256"], "attachment digest"
        except Exception as e:  # Any malformed submission is rejected with the reason.
            self._json(400, {"status": "rejected", "reason": "malformed submission: %r" % (e,)})
            return
        if body.get("envelope_sha256") != digest or \
                self.headers.get("Idempotency-Key") != "sha256:" + digest:
            self._json(400, {"status": "rejected", "reason": "digest does not match the envelope"})
            return
        with LOCK:
            known = STATE["intake"].get(digest)
            if known is None:
                known = {"status": "accepted", "receipt_id": "R-%04d" % (len(STATE["intake"]) + 1),
                         "envelope_sha256": digest, "received_at": "2026-11-29T18:00:00Z",
                         "attachments": [a["name"] for a in body.get("attachments", [])]}
                STATE["intake"][digest] = known
                status = 201
            else:
                status = 200
        receipt = dict(known)
        receipt["duplicate"] = status == 200
        self._json(status, receipt)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--token", default="")
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    # Clients that hang up on purpose (size limits, timeouts, bad certificates) are expected.
    server.handle_error = lambda request, client_address: None
    server.root = args.root
    server.token = args.token
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    parent = os.getppid()

    def watch_parent():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch_parent, daemon=True).start()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
