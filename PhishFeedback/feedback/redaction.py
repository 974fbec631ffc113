"""Keeping secrets out of everything the job writes or sends.

A secret can come back from a server in many forms (quoted in a reply, white space collapsed by
the reply's parsing, inside the base64 of an AUTH string), and some are only known while the job
runs (an OAuth2 token), so every secret is remembered here once, in every form, and `scrub` is
applied to whatever leaves the process: the report, the error, each message, stdout and stderr.
"""

from __future__ import annotations

import base64
import json
import math
import re
from urllib.parse import unquote

MASK = "********"
# Items whose name holds one of these are secrets, as cortexutils decides when it echoes the input.
SECRET_PHRASES = ("key", "password", "secret")
# ...and the secrets whose names hold none of those, which cortexutils' own echo would show: the Gmail
# service account's JSON key, private key inside (the item, and GmailSettings' field).
SECRET_NAMES = ("service_account",)
# Shorter forms would blot out ordinary words and addresses (a password "mail" in "mail sent"):
# a secret that short is no secret, and finding it everywhere would break the record.
SHORTEST_FORM = 4
# Likewise for the base64 fragments of a secret embedded at some offset in a longer string.
SHORTEST_FRAGMENT = 6
_forms: set[str] = set()
_ordered: list[str] = []
_SURROGATES = "[\ud800-\udfff]"


def remember_secrets(config: object) -> None:
    """Every secret of the configuration kept out of all output, even from a configuration that fails checks.

    Secret items, and the credentials of any URL (Cortex's proxies may carry them), in each form
    they travel in: `smtp_password` inside AUTH PLAIN, URL credentials as HTTP Basic auth.
    """
    if not isinstance(config, dict):
        return
    for name, value in config.items():
        if isinstance(value, str) and secret_item(name):
            remember(value)
            _remember_private_key(value)
    user, password = config.get("smtp_user"), config.get("smtp_password")
    if isinstance(password, str):
        _remember_plain(user if isinstance(user, str) else "", password)
    nested = [v for v in config.values() if isinstance(v, dict)]
    for value in [*config.values(), *(v for d in nested for v in d.values())]:
        if isinstance(value, str) and "@" in value:
            for credentials in _url_credentials(value):
                remember(credentials)


def secret_item(name: object) -> bool:
    """Whether a configuration item is a secret by its name: all cortexutils blanks in its echo, and more."""
    return any(word in str(name).lower() for word in (*SECRET_PHRASES, *SECRET_NAMES))


def without_secrets(settings: tuple) -> str:
    """The repr of a settings shape with its secret fields masked, for a `__repr__` (a traceback shows it)."""
    shown = (f"{k}={MASK if secret_item(k) else repr(v)}" for k, v in zip(settings._fields, settings))
    return f"{type(settings).__name__}({', '.join(shown)})"


def _remember_private_key(value: str) -> None:
    """A JSON key's private key (a Google service account's), as PEM, and each line of it: a part is a secret too."""
    if not value.lstrip().startswith("{"):
        return
    try:
        key = json.loads(value).get("private_key")
    except (ValueError, AttributeError):
        return
    if isinstance(key, str):
        remember(key)
        lines = [line for line in key.splitlines() if line and not line.startswith("-----")]
        remember("".join(lines))
        for line in lines:
            remember(line)


def _url_credentials(text: str) -> list[str]:
    """The user:password parts of the URLs in a text, as written and decoded, and the password alone."""
    found = []
    for word in text.split():
        scheme, _, rest = word.partition("://")
        userinfo = rest.split("/", 1)[0].rpartition("@")[0]
        if scheme and userinfo:
            password = userinfo.partition(":")[2]
            found += [userinfo, unquote(userinfo), password, unquote(password)]
    return [item for item in found if item]


def remember(secret: str | None) -> None:
    """Keep this secret, and the forms of it a server may echo, out of every output from now on."""
    if not secret:
        return
    forms = {secret, secret.strip(), " ".join(secret.split()), "".join(secret.split())}
    encoded = secret.encode("utf-8", "surrogatepass")
    forms.add(_b64(encoded))
    forms.update(_embedded_base64(encoded))
    _add(forms)


def _remember_plain(user: str | None, password: str | None) -> None:
    """The AUTH PLAIN strings (RFC 4616: [authzid] NUL user NUL password) the password travels in."""
    if not password:
        return
    users = {user or "", (user or "").strip()}
    plain = {f"{authzid}\0{name}\0{password}" for name in users for authzid in ("", name)}
    _add({_b64(text.encode("utf-8", "surrogatepass")) for text in plain})


def _add(forms: set[str]) -> None:
    forms = {form for form in forms if len(form) >= SHORTEST_FORM}
    if not forms <= _forms:
        _forms.update(forms)
        _ordered[:] = sorted(_forms, key=len, reverse=True)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _embedded_base64(data: bytes) -> set[str]:
    """The base64 characters that depend on the secret alone, at each of the three byte alignments.

    A server may echo the base64 of a longer string that holds the secret (an AUTH line, a token
    request); whatever comes before or after it, these characters appear unchanged.
    """
    fragments = set()
    for offset in range(3):
        encoded = _b64(bytes(offset) + data + bytes(3))
        first, end = -(-8 * offset // 6), 8 * (offset + len(data)) // 6
        fragment = encoded[first:end]
        if len(fragment) >= SHORTEST_FRAGMENT:
            fragments.add(fragment)
    return fragments


def scrub(text: str) -> str:
    """The text with every remembered secret blotted out, longest form first."""
    for form in _ordered:
        if form in text:
            text = text.replace(form, MASK)
    return text


def holds_secret(text: str) -> bool:
    return any(form in text for form in _ordered)


def cleaned(value: object) -> object:
    """A JSON value fit for Cortex: secrets blotted out, strict JSON (no Infinity or NaN), no lone surrogate."""
    if isinstance(value, str):
        return scrub(value if value.isascii() or _encodable(value) else re.sub(_SURROGATES, "\ufffd", value))
    if isinstance(value, dict):
        return {cleaned(str(k)): cleaned(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [cleaned(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class ScrubbedStream:
    """stdout or stderr with every write scrubbed: Cortex shows them when output.json is missing."""

    def __init__(self, stream) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(scrub(text))

    def __getattr__(self, name: str):
        return getattr(self._stream, name)
