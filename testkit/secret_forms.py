"""The forms in which a server may echo a secret, and a check that none can be read back from a text."""

from __future__ import annotations

import base64
import html
import json
import re
from urllib.parse import quote, quote_plus


def echoed_forms(secret: str, user: str) -> set[str]:
    """As is, in lower or upper case, white space stripped or collapsed, URL-encoded (as RFC 3986, Java's URLEncoder,
    .NET's WebUtility.UrlEncode and JavaScript's encodeURIComponent write it), and the AUTH PLAIN and LOGIN base64."""
    return {
        secret,
        secret.lower(),
        secret.upper(),
        secret.strip(),
        " ".join(secret.split()),
        quote(secret, safe=""),
        quote_plus(secret, safe="*").replace("~", "%7E"),  # Java's URLEncoder
        quote_plus(secret, safe="!*()").replace("~", "%7E"),  # .NET's WebUtility.UrlEncode
        quote(secret, safe="!~*'()"),  # JavaScript's encodeURIComponent
        base64.b64encode(f"\0{user}\0{secret}".encode()).decode(),
        base64.b64encode(secret.encode()).decode(),
    }


def decodable(text: str, secret: str) -> bool:
    """Whether the secret can be decoded from some base64 run in the text, at any of its alignments."""
    for run in re.findall(r"[A-Za-z0-9+/]{4,}", text):
        for start in range(4):
            chunk = run[start:][: (len(run) - start) // 4 * 4]
            if secret.encode() in base64.b64decode(chunk):
                return True
    return False


def spaced(form: str, every: int, space: str = "\r\n ") -> str:
    """The form with white space inserted every `every` characters, as a server may fold or wrap what it quotes."""
    return space.join(form[i : i + every] for i in range(0, len(form), every))


def joined(text: str) -> str:
    """The text as a reader would join a quote spread over reply lines: white space and status codes taken out."""
    return "".join(re.sub(r"\b[245]\d\d[ -]|\b[245]\.\d{1,3}\.\d{1,3}\b", "", text).split())


def leaked(text: str, secret: str, user: str) -> list[str]:
    """Every form of the secret found in the text, joined or not, and `base64` if it can be decoded from it.

    The text as a browser shows it too: a secret with '&' or '<' in an HTML part is there escaped.
    """
    text = f"{text}\n{html.unescape(text)}"
    forms = echoed_forms(secret, user)
    found = sorted(form for form in forms if form in text or "".join(form.split()) in joined(text))
    return found + (["base64"] if decodable(text, secret) or decodable(joined(text), secret) else [])


def reflecting_thehive(request):
    """A pytest-httpserver handler: TheHive answering with observables that carry the Authorization header it got."""
    from werkzeug import Response

    from testkit.thehive_api import v1_observable

    echoed = request.headers.get("Authorization", "")
    observables = [
        v1_observable("mail", echoed, ["reporter"]),
        v1_observable("mail", f"{(echoed.split() or ['x'])[-1]}@evil.example", ["reporter"]),
        v1_observable("mail", f"{echoed}@evil.example", []),
        v1_observable("mail_subject", f"Re: your key {echoed}", []),
    ]
    return Response(json.dumps(observables), content_type="application/json")
