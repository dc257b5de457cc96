"""A stand-in server script (stdlib only) for testing test_client's process handling.

Takes the same --port/--address arguments test_client passes to a skitai script.
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _reply(self, status, payload, extra=()):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("latin-1") if length else ""
        extra = []
        if self.path.startswith("/login"):
            extra.append(("Set-Cookie", "sid=s3cr3t; Path=/; HttpOnly"))
        if self.path.startswith("/close"):
            extra.append(("Connection", "close"))
        self._reply(200, {"method": self.command, "path": self.path, "body": body,
                          "cookie": self.headers.get("Cookie", ""),
                          "content_type": self.headers.get("Content-Type")}, extra)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _any

    def log_message(self, *a):
        print("request", self.path, flush=True)


def main(argv):
    port = int(argv[argv.index("--port") + 1])
    address = argv[argv.index("--address") + 1]
    print("stand-in server listening", flush=True)
    if "--exit-early" in argv:
        sys.exit(3)
    ThreadingHTTPServer((address, port), Handler).serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
