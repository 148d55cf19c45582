"""CAS and AIPIX stand-ins for the contract run: real HTTP servers on
127.0.0.1 (standard library only) that answer every well-formed call with a
token, as the providers do (../shared/reference/upstreams.md). Prints
"<cas port> <aipix port>" once both listen, then serves until killed."""

import base64
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

KEY, SECRET, AIPIX_TOKEN = "contract-key", "contract-secret", "contract-aipix-token"


def jwt(claims):
    part = lambda value: base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
    return f"{part({'typ': 'JWT', 'alg': 'HS256'})}.{part(claims)}.c2lnbmF0dXJl"


class Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", content_type="application/json"):
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.answer(200)


class Cas(Quiet):
    def do_GET(self):
        if self.path != "/stream/token/v2/":
            return self.answer(404, b'{"detail":"not found"}')
        if self.headers.get("auth-api-key") != KEY or self.headers.get("auth-api-secret") != SECRET:
            return self.answer(401, b'{"detail":"bad key"}')
        token = jwt({"rid": "contract-session", "exp": int(time.time()) + 3600})
        self.answer(200, json.dumps({"token": token}).encode())


class Aipix(Quiet):
    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        call = json.loads(self.rfile.read(length) or b"{}")
        if self.path != "/api/" or call.get("method") != "Auth.CreateApiToken":
            return self.answer(404, b'{"detail":"not found"}')
        if self.headers.get("authorization") != f"Bearer {AIPIX_TOKEN}":
            reply = {"jsonrpc": "2.0", "error": {"code": -32001, "message": "unauthorized"}, "id": call.get("id")}
        else:
            reply = {"jsonrpc": "2.0", "result": "contract-stream-token", "id": call.get("id")}
        self.answer(200, json.dumps(reply).encode())


servers = [ThreadingHTTPServer(("127.0.0.1", 0), handler) for handler in (Cas, Aipix)]
for server in servers:
    Thread(target=server.serve_forever, daemon=True).start()
print(" ".join(str(s.server_address[1]) for s in servers), flush=True)
try:
    while True:
        time.sleep(3600)
except KeyboardInterrupt:
    sys.exit(0)
