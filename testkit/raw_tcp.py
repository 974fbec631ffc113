"""A listener that misbehaves below SMTP, where no SMTP server library would let a test go."""

from __future__ import annotations

import socket
import threading


class RawTcpServer:
    """A listener that misbehaves below SMTP: says nothing (`silent`, as a TLS port waits for the client),
    greets and then says nothing (`mute`), hangs up at once (`hangup`), greets with `220-` continuation
    lines that never end (`flood`, as anyone on the path before STARTTLS could), or with one line of 9,000
    characters (`long-line`); or any other `behaviour` is the line it greets with, and then hangs up (Postfix past
    its connection rate: `421 4.7.0 mx.example.org Error: too many connections from …`)."""

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.host, self.port = self.listener.getsockname()
        self.connections = 0
        self._open: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            if self.behaviour == "hangup":
                connection.close()
                continue
            self._open.append(connection)
            if self.behaviour == "mute":
                connection.sendall(b"220 mute.example.org ESMTP\r\n")
            elif self.behaviour == "long-line":
                connection.sendall(b"220 " + b"x" * 9000 + b"\r\n")
            elif self.behaviour == "flood":
                threading.Thread(target=_flood, args=(connection,), daemon=True).start()
            elif self.behaviour != "silent":
                connection.sendall(self.behaviour.encode() + b"\r\n")
                connection.close()

    def __enter__(self) -> RawTcpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        for connection in self._open:
            connection.close()


def _flood(connection: socket.socket) -> None:
    line = b"220-" + b"flood " * 12 + b"\r\n"
    try:
        while True:
            connection.sendall(line * 100)
    except OSError:
        return
