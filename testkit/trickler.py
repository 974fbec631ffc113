"""A listener that holds a client without ever going silent: a byte at a time, never a whole answer.

A timeout per read never trips on it; only a deadline for the whole job cuts it off.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time


class Trickler:
    """Sends `greeting` whole, then one byte every `pace` seconds for `lasting` seconds.

    With `tls`, it first completes the TLS handshake and reads the client's request (an HTTPS server
    that starts its answer and never finishes it). With `starttls`, it first greets, offers STARTTLS,
    completes the handshake and reads the client's EHLO (an SMTP server slow only once in TLS).
    """

    def __init__(
        self,
        greeting: bytes,
        pace: float,
        lasting: float,
        tls: ssl.SSLContext | None = None,
        starttls: ssl.SSLContext | None = None,
    ) -> None:
        self.greeting, self.pace, self.lasting, self.tls, self.starttls = greeting, pace, lasting, tls, starttls
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        try:
            connection, _ = self.listener.accept()
            if self.tls:
                connection = self.tls.wrap_socket(connection, server_side=True)
                request = b""
                while b"\r\n\r\n" not in request:
                    request += connection.recv(4096)
            if self.starttls:
                connection = self._secured(connection, self.starttls)
            with connection:
                connection.sendall(self.greeting)
                until = time.monotonic() + self.lasting
                while time.monotonic() < until:
                    connection.sendall(b"2")
                    time.sleep(self.pace)
        except OSError:
            return

    @staticmethod
    def _secured(connection: socket.socket, context: ssl.SSLContext) -> ssl.SSLSocket:
        reader = connection.makefile("rb")
        connection.sendall(b"220 slow.example.org ESMTP\r\n")
        reader.readline()  # EHLO
        connection.sendall(b"250-slow.example.org\r\n250 STARTTLS\r\n")
        reader.readline()  # STARTTLS
        connection.sendall(b"220 go ahead\r\n")
        secured = context.wrap_socket(connection, server_side=True)
        secured.recv(4096)  # EHLO again, in TLS
        return secured

    def close(self) -> None:
        self.listener.close()
