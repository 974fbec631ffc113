"""An HTTP proxy on loopback that tunnels HTTPS (CONNECT), as a company proxy in front of Cortex does; given a TLS
context, the proxy itself is spoken to over TLS (an `https://` proxy URL)."""

from __future__ import annotations

import socket
import ssl
import threading


class ConnectProxy:
    """Answers CONNECT host:port with a tunnel and records it, unless `refusing` names the target, with the status it
    is answered instead (a login the proxy wants, a rule against the address); refuses everything else with 405."""

    def __init__(self, context: ssl.SSLContext | None = None) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.context = context
        self.url = f"{'https' if context else 'http'}://127.0.0.1:{self.port}"
        self.tunnels: list[str] = []
        self.refused: list[str] = []  # the other requests' targets (a plain http:// URL, a target refused)
        self.refusing: dict[
            str, bytes
        ] = {}  # "host:port" -> the status line's code and reason (b"407 Proxy …"), or b""
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client: socket.socket) -> None:
        if self.context is not None:
            try:
                client = self.context.wrap_socket(client, server_side=True)
            except (ssl.SSLError, OSError) as failure:  # a client that spoke to it in clear text
                self.refused.append(f"no TLS ({type(failure).__name__})")
                client.close()
                return
        with client:
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                chunk = client.recv(4096)
                if not chunk:
                    return
                head += chunk
            method, target = head.split(b" ", 2)[:2]
            if method != b"CONNECT":
                self.refused.append(target.decode(errors="replace"))
                client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            refusal = self.refusing.get(target.decode())
            if refusal is not None:
                self.refused.append(target.decode())
                if refusal:  # else the connection is closed without a word
                    client.sendall(b"HTTP/1.1 " + refusal + b"\r\nContent-Length: 0\r\n\r\n")
                return
            self.tunnels.append(target.decode())
            host, port = target.decode().rsplit(":", 1)
            with socket.create_connection((host, int(port))) as upstream:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
                back.start()
                _pipe(client, upstream)
                back.join(timeout=5)

    def close(self) -> None:
        self.listener.close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        pass
