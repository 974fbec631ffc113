#!/usr/bin/env python3
"""The floor for Microsoft Graph: the same kind of message, base64-encoded and posted with one requests.Session.

It does what the responder must do too: a verified certificate (only the CA file it is given), a
bearer token (given: its request is the same small cost for both), one kept-alive connection.

Usage: graph_floor.py ENDPOINT CAFILE TOKEN COUNT
"""

import base64
import sys

import requests
from floor import message


def main() -> None:
    endpoint, cafile, token, count = sys.argv[1:5]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/plain"}
    with requests.Session() as session:
        for i in range(int(count)):
            mail = message(f"reporter{i}@example.org")
            body = base64.b64encode(mail.as_bytes(policy=mail.policy.clone(linesep="\r\n")))
            answer = session.post(endpoint, data=body, headers=headers, verify=cafile, timeout=30)
            if answer.status_code != 202:
                raise SystemExit(f"Graph answered {answer.status_code}")


if __name__ == "__main__":
    main()
