"""Serves the dashboard page (index.html), supabase-js's UMD build from tests/conformance/node_modules
and the stack's settings on 127.0.0.1, and records what the page reports (POST /ready, /event,
/error). A helper module for tests/bench/idle-memory, not a benchmark (keep it non-executable)."""
import http.server
import json
import os
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
SUPABASE_UMD = os.path.join(TOP, "tests", "conformance", "node_modules", "@supabase", "supabase-js",
                            "dist", "umd", "supabase.js")


class DashboardServer:
    def __init__(self, stack, topic="session_requests_feed"):
        self.config = {"url": stack.url, "anon_key": stack.anon_key, "email": stack.email,
                       "password": stack.password, "topic": topic}
        self.ready = threading.Event()
        self.events = []
        self.errors = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _send(self, code, body=b"", ctype="text/plain"):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path in ("/", "/index.html"):
                    with open(os.path.join(HERE, "index.html"), "rb") as f:
                        self._send(200, f.read(), "text/html; charset=utf-8")
                elif self.path == "/supabase.js":
                    with open(SUPABASE_UMD, "rb") as f:
                        self._send(200, f.read(), "text/javascript")
                elif self.path == "/config.json":
                    self._send(200, json.dumps(outer.config).encode(), "application/json")
                else:
                    self._send(404)

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(n) or b"{}")
                except ValueError:
                    body = {}
                if self.path == "/ready":
                    outer.ready.set()
                elif self.path == "/event":
                    body["t"] = time.time()
                    outer.events.append(body)
                elif self.path == "/error":
                    outer.errors.append(body)
                self._send(204)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
