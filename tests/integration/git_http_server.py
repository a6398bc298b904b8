"""A loopback git smart-HTTP server for the tests: `git http-backend` (git's own CGI
program) behind a small HTTP server that can require Basic auth — the same protocol
and credential exchange as GitHub's https remotes, with none of GitHub."""
import base64
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class GitHttpServer:
    def __init__(self, root, user=None, token=None, protected=()):
        """Serves the bare repos under `root`; those named in `protected` need user:token."""
        self.root = str(root)
        self.expected = "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode() if token else None
        self.protected = set(protected)
        self.requests = []  # (method, path, authorized) — never the credentials themselves
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def url(self, repo):
        return f"http://127.0.0.1:{self.port}/{repo}"

    def _handler(self):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _body(self):
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    data = b""
                    while True:
                        size = int(self.rfile.readline().strip(), 16)
                        if size == 0:
                            self.rfile.readline()
                            return data
                        data += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))

            def _serve(self):
                path, _, query = self.path.partition("?")
                repo = path.strip("/").split("/")[0]
                authorized = self.headers.get("Authorization") == outer.expected
                outer.requests.append((self.command, path, authorized))
                body = self._body() if self.command == "POST" else b""
                if repo in outer.protected and not authorized:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="git"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                env = {**os.environ, "GIT_PROJECT_ROOT": outer.root, "GIT_HTTP_EXPORT_ALL": "1",
                       "PATH_INFO": path, "QUERY_STRING": query, "REQUEST_METHOD": self.command,
                       "CONTENT_TYPE": self.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(len(body)),
                       "REMOTE_ADDR": "127.0.0.1"}
                if authorized:
                    env["REMOTE_USER"] = "agent"  # http-backend allows receive-pack for authenticated users
                out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True).stdout
                head, _, payload = out.partition(b"\r\n\r\n")
                status = 200
                headers = []
                for line in head.decode().split("\r\n"):
                    name, _, value = line.partition(":")
                    if name.lower() == "status":
                        status = int(value.strip().split()[0])
                    elif name:
                        headers.append((name, value.strip()))
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = _serve
            do_POST = _serve

        return Handler
