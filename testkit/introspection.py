"""An OAuth2 token introspection endpoint (RFC 7662) on loopback, for Dovecot's `oauth2` passdb.

Behind HTTPS with a certificate from the tests' CA. Dovecot POSTs `token=<the bearer token>`
(introspection_mode = post); the answer says whether the token is active and whose it is, as an
authorization server that issued it would.
"""

from __future__ import annotations

import json
import time

from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

from testkit.certificates import Certificates

PATH = "/oauth2/introspect"


class Introspection:
    """`tokens` maps each active token to the mailbox it was issued for; any other token is inactive.

    `slow` requests in a row, from now on, are answered only after `delay` seconds, as by an overloaded server.
    """

    def __init__(self, certificates: Certificates) -> None:
        self.tokens: dict[str, str] = {}
        self.asked: list[str] = []  # the tokens asked about, in order
        self.slow, self.delay = 0, 0.0
        # Threaded: a question asked while a slow answer is still under way gets its own answer at once.
        self.server = HTTPServer(host="127.0.0.1", ssl_context=certificates.server_context(), threaded=True)
        self.server.expect_request(PATH, method="POST").respond_with_handler(self._answer)

    @property
    def url(self) -> str:
        return self.server.url_for(PATH)

    def _answer(self, request: Request) -> Response:
        token = request.form.get("token", "")
        self.asked.append(token)
        if self.slow > 0:
            self.slow -= 1
            time.sleep(self.delay)
        body = {"active": True, "username": self.tokens[token]} if token in self.tokens else {"active": False}
        return Response(json.dumps(body), status=200, content_type="application/json")

    def __enter__(self) -> Introspection:
        self.server.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.stop()
