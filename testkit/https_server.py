"""An HTTPS server on loopback that keeps connections alive, as the mail APIs' front ends do.

pytest-httpserver's werkzeug answers every request with `Connection: close`, so a test could not
tell one kept-alive connection from one per message. This one speaks HTTP/1.1 over TLS (the
handshake in each connection's own thread, so a client that fails it blocks nobody), logs each
request with the client's port (one per connection), and answers with what `answer` returns; or, where
`reset(head)` says so, resets the connection once a request's head is read, before its body.
"""

from __future__ import annotations

import json
import socket
import ssl
import struct
import threading
import time
from dataclasses import dataclass, field
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

# Bodies a test server reads; far above any request the responder makes.
LARGEST_REQUEST = 64 * 1024 * 1024


@dataclass
class Received:
    method: str
    path: str
    headers: Message
    body: bytes
    port: int  # the client's: one per TCP connection

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8", "replace")))


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    pace: float = 0.0  # seconds between the bytes of the answer: a server that trickles it
    drop: bool = False  # the connection closed with no answer at all
    cut: int | None = None  # the connection closed after this many bytes of the body, which the head announced whole
    hints: bool = False  # an interim `103 Early Hints` first, as a front end (a CDN, a reverse proxy) may send
    raw: bytes | None = None  # the answer's bytes, head and all, sent as they are in place of the fields above

    @classmethod
    def json(cls, status: int, value: object, headers: dict[str, str] | None = None) -> Reply:
        return cls(
            status, json.dumps(value).encode(), {"Content-Type": "application/json; charset=UTF-8", **(headers or {})}
        )


class HttpsServer:
    """Serves `answer(received) -> Reply` over TLS on 127.0.0.1 while its `with` block runs; `reset(head)` is asked
    first, with the request's head alone (its body empty)."""

    def __init__(self, context: ssl.SSLContext, answer, reset=lambda head: False) -> None:
        self.log: list[Received] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                head = Received(self.command, self.path, self.headers, b"", self.client_address[1])
                if reset(head):
                    server.log.append(head)
                    # Closed at once, with no lingering: an RST, which the client meets while it sends.
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                    self.close_connection = True
                    return
                length = min(int(self.headers.get("Content-Length") or 0), LARGEST_REQUEST)
                received = Received(
                    self.command, self.path, self.headers, self.rfile.read(length), self.client_address[1]
                )
                server.log.append(received)
                reply = answer(received)
                if reply.drop:
                    self.close_connection = True
                    return
                head = [f"HTTP/1.1 {reply.status} {HTTPStatus(reply.status).phrase}"]
                head += [
                    f"{name}: {value}" for name, value in {**reply.headers, "Content-Length": len(reply.body)}.items()
                ]
                data = "\r\n".join([*head, "", ""]).encode("latin-1") + reply.body[: reply.cut]  # as HTTP heads are
                if reply.raw is not None:
                    data = reply.raw
                if reply.hints:
                    data = b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" + data
                if reply.cut is not None:
                    self.close_connection = True
                try:
                    for start in range(0, len(data), 1 if reply.pace else len(data)):
                        self.wfile.write(data[start : start + (1 if reply.pace else len(data))])
                        time.sleep(reply.pace)
                except OSError:
                    self.close_connection = True

            do_GET = do_POST

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
        # Segments and a window of a network's size, not loopback's 64 kB ones: a client can then buffer a few tens
        # of kB of a request its server has not read, not a whole message, and a reset at the request's head meets it
        # while the body is still going out, however late the server reads the head.
        self.httpd.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 1200)
        self.httpd.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
        self.httpd.server_bind()
        self.httpd.server_activate()
        self.httpd.daemon_threads = True
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True, do_handshake_on_connect=False)
        self.httpd.handle_error = lambda request, address: None  # a failed handshake is the test's business
        self.port = self.httpd.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"

    def __enter__(self) -> HttpsServer:
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
