"""The forms a secret travels in, and so may come back in: the base64 of an AUTH string, a URL's credentials,
the lines of a private key; and which items are secrets. Pure functions; feedback/redaction.py remembers what they
give and scrubs it.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus, unquote

from feedback.secret_index import SHORTEST_FORM, squeeze

MASK = "********"
# Items whose name holds one of these are secrets, as cortexutils decides when it echoes the input.
SECRET_PHRASES = ("key", "password", "secret")
# ...and the secrets whose names hold none of those, which cortexutils' own echo would show: the Gmail
# service account's JSON key, private key inside (the item, and GmailSettings' field), and Entra ID's
# certificate credential, its private key beside the certificate (the item, and OAuthSettings' field).
SECRET_NAMES = ("service_account", "client_certificate")
# The PEM's last line can be a few characters long: remembered alone, it would blot them out of ordinary text.
SHORTEST_LINE = 16


def secret_item(name: object) -> bool:
    """Whether a configuration item is a secret by its name: all cortexutils blanks in its echo, and more."""
    return any(word in str(name).lower() for word in (*SECRET_PHRASES, *SECRET_NAMES))


def without_secrets(settings: tuple) -> str:
    """The repr of a settings shape with its secret fields masked, for a `__repr__` (a traceback shows it)."""
    shown = (f"{k}={MASK if secret_item(k) else repr(v)}" for k, v in zip(settings._fields, settings))
    return f"{type(settings).__name__}({', '.join(shown)})"


# The items that are one URL that may carry a login besides Cortex's proxies: an API's root (not guidance_url, a link
# that may hold an '@' in its path: https://www.youtube.com/@Acme).
LOGIN_URLS = ("thehive_url", "graph_url", "gmail_url", "oauth_token_url")
# The longest secret that may travel in a URL (a password, a key, a token), and so be quoted back URL-encoded.
TRAVELLING = 1024


def encoded_forms(secret: str) -> set[str]:
    """The secret, in lower case (a host name or an address a server or a reader folded) and in upper case (a server
    that writes its replies so), URL-encoded (a gateway quoting a query string), escaped (an API's JSON error, a
    proxy's HTML page quoting it), read in another encoding, its base64, and the base64 characters it gives inside any
    longer string, its UTF-8's and, beyond ASCII, its Latin-1's (requests writes a proxy's Basic login so)."""
    if len(squeeze(secret)) < SHORTEST_FORM:  # none: its URL and base64 forms would blot out links and base64 text
        return set()
    encoded = secret.encode("utf-8", "surrogatepass")
    forms = {secret, *_beyond_ascii(secret, encoded), _b64(encoded), *_embedded_base64(encoded)}
    if not secret.isascii() and max(secret) <= "\xff":
        latin = secret.encode("latin-1")
        forms |= {_b64(latin), *_embedded_base64(latin)}
    # Not a private key's: it signs here and never travels, and its forms would triple the index of pieces.
    if len(encoded) <= TRAVELLING:
        forms |= {secret.lower(), secret.upper(), *_url_encoded(encoded), *_escaped(secret)}
    return forms


def _beyond_ascii(secret: str, encoded: bytes) -> set[str]:
    """A secret with letters beyond ASCII as a server may give it back: its UTF-8 (`encoded`) read as Latin-1 or
    Windows-1252 (a server that takes bytes for Western European text), and composed or decomposed (Unicode's NFC and
    NFD: one 'ä' or an 'a' and its diaeresis, as another system normalised it; NFKC and NFKD, as SASLprep normalises a
    password: 'ﬁ' as 'fi', '²' as '2')."""
    if secret.isascii():
        return set()
    import unicodedata  # only for such a secret: most are ASCII

    return {
        encoded.decode("latin-1"),
        encoded.decode("cp1252", "replace"),
        *(unicodedata.normalize(form, secret) for form in ("NFC", "NFD", "NFKC", "NFKD")),
    }


def _escaped(secret: str) -> set[str]:
    """The secret as a JSON string writes it (quotes and backslashes escaped, other letters than ASCII escaped or not,
    '/' escaped as PHP escapes it; `< > &` as `\\u003c` as Go's encoding/json writes them, and `" & ' + < >` and the
    backtick too as .NET's System.Text.Json does, its hexadecimal digits in upper case) and as HTML does (&amp; &lt;
    &gt;, and &quot; and &#x27; in an attribute, the apostrophe &#39; as Jinja2 and Go write it, &#039; as PHP does)."""
    ascii_form, utf8_form = (json.dumps(secret, ensure_ascii=escaped)[1:-1] for escaped in (True, False))
    json_forms = {ascii_form, utf8_form, ascii_form.replace("/", "\\/"), utf8_form.replace("/", "\\/")}
    if any(mark in ascii_form for mark in "<>&'+`\\"):  # else Go's and .NET's forms are the secret as it is
        # Go's, which writes letters beyond ASCII as they are; and with them escaped.
        json_forms |= {re.sub("[<>&]", lambda c: f"\\u{ord(c.group()):04x}", form) for form in (ascii_form, utf8_form)}
        dotnet = re.sub(r'\\"|[<>&\'+`]', lambda c: f"\\u{ord(c.group()[-1]):04X}", ascii_form)
        json_forms.add(re.sub(r"\\u[0-9a-f]{4}", lambda e: "\\u" + e.group()[2:].upper(), dotnet))
    html_forms = {html.escape(secret, in_attribute) for in_attribute in (True, False)}
    html_forms |= {html.escape(secret).replace("&#x27;", apostrophe) for apostrophe in ("&#39;", "&#039;")}
    return json_forms | html_forms


def _url_encoded(encoded: bytes) -> set[str]:
    """The forms a URL gives the secret: '/' escaped or not (a query, a path), space as '+' or '%20', the escapes'
    hexadecimal digits in upper or lower case, encoded once or twice; and what other encoders than RFC 3986's leave
    bare or escape: '~' as %7E (Java's URLEncoder, .NET's WebUtility.UrlEncode; an Entra ID secret holds one), '*'
    bare (Java's), "!*()" bare (.NET's), "!*'()" bare (JavaScript's encodeURIComponent)."""
    if "%" not in (plain := quote(encoded, safe="")) and "~" not in plain:  # nothing any encoder escapes
        return {plain}
    once = {make(encoded, safe=safe) for make in (quote, quote_plus) for safe in ("", "/", "*", "!*()", "!*'()")}
    once |= {form.replace("~", "%7E") for form in once}
    once |= {_lower_escapes(form) for form in once}
    # Encoded twice (a URL quoted into another's query): by the same encoder, which escapes again only what it wrote,
    # '%' and a space's '+'; or by RFC 3986's, which escapes what the first left bare too.
    forms = {*once, *(form.replace("%", "%25").replace("+", "%2B") for form in once)}
    forms |= {quote(form, safe=safe) for form in once for safe in ("", "/")}
    forms |= {_lower_escapes(form) for form in forms}
    # The whole of it in upper or lower case (a server that writes its replies so, after it encoded them).
    return forms | {form.upper() for form in forms} | {form.lower() for form in forms}


def _lower_escapes(form: str) -> str:
    return re.sub("%[0-9A-F]{2}", lambda escape: escape.group().lower(), form) if "%" in form else form


def plain_auth_forms(user: str | None, password: str) -> set[str]:
    """The AUTH PLAIN strings (RFC 4616: [authzid] NUL user NUL password) the password travels in, in base64."""
    users = {user or "", (user or "").strip()}
    plain = {f"{authzid}\0{name}\0{password}" for name in users for authzid in ("", name)}
    return {_b64(text.encode("utf-8", "surrogatepass")) for text in plain}


def json_private_key(value: str) -> str | None:
    """The private key of a JSON key (a Google service account's), if the value is one."""
    if not value.lstrip().startswith("{"):
        return None
    try:
        key = json.loads(value).get("private_key")
    except (ValueError, AttributeError, RecursionError):
        return None
    return key if isinstance(key, str) and key.strip() else None


def pem_private_key(value: str) -> str | None:
    """The PEM private key block in a text that may hold more (a certificate beside it), to its end or the text's."""
    begin = re.search(r"-----BEGIN [A-Z ]{0,20}PRIVATE KEY-----", value) if "PRIVATE KEY-----" in value else None
    if begin is None:  # as for nearly every item: then no pattern is compiled
        return None
    end = value.find("-----END ", begin.end())
    close = value.find("-----", end + 9) if end != -1 else -1
    return value[begin.start() : close + 5] if close != -1 else value[begin.start() :]


def private_key_texts(private_key: str) -> list[str]:
    """The key as pasted, as written inside the JSON text, all its base64, and each long base64 line of it."""
    lines = [line for line in private_key.split() if "-" not in line]
    long_lines = [line for line in lines if len(line) >= SHORTEST_LINE]
    return [private_key, json.dumps(private_key)[1:-1], "".join(lines), *long_lines]


def url_credentials(text: str) -> list[str]:
    """The user:password parts of the URLs in a text, as written and decoded, and the password alone."""
    words = (word.partition("://")[2] for word in text.split() if "://" in word)
    return _userinfo_forms(rest.split("/", 1)[0].rpartition("@")[0] for rest in words)


def typed_url_credentials(url: str) -> list[str]:
    """A URL's user:password as an admin may type it, not percent-encoded: to the last '@', where a host follows. Such
    a password may hold a '/', an '@' or a space, which end a URL's authority where they stand; it is a secret all
    the same."""
    scheme, _, rest = url.strip().partition("://")
    at = rest.rfind("@")
    host = rest[at + 1 :].split("/", 1)[0]
    if not scheme or any(c.isspace() for c in scheme + host) or at <= 0 or not host:
        return []
    return _userinfo_forms([rest[:at]])


def _userinfo_forms(userinfos: Iterable[str]) -> list[str]:
    """Each user:password, as written and decoded, and its password alone."""
    found = []
    for userinfo in userinfos:
        password = userinfo.partition(":")[2]
        found += [userinfo, unquote(userinfo), password, unquote(password)]
    return [item for item in found if item]


def configured_url_credentials(config: dict) -> list[str]:
    """The credentials of every URL a configuration holds (Cortex's proxies may carry them), in its items or one
    level down (Cortex's `proxy` object); in the items that are one URL that may carry a login, as typed too."""
    nested = [v for v in config.values() if isinstance(v, dict)]
    values = [*config.values(), *(v for d in nested for v in d.values())]
    # A proxy written without its scheme (user:password@host:port) is taken as http:// by requests and urllib.
    proxy = config.get("proxy") if isinstance(config.get("proxy"), dict) else {}
    proxies = (config.get("proxy_http"), config.get("proxy_https"), *proxy.values())
    proxies = [value if "://" in value else f"http://{value}" for value in proxies if isinstance(value, str)]
    logins = [*proxies, *(config.get(name) for name in LOGIN_URLS)]
    found = [f for value in values if isinstance(value, str) and "@" in value for f in url_credentials(value)]
    return found + [f for url in logins if isinstance(url, str) and "@" in url for f in typed_url_credentials(url)]


def environment_proxy_credentials(environment: Mapping[str, str]) -> list[str]:
    """The credentials of the proxies an environment names (HTTPS_PROXY, https_proxy, ALL_PROXY…), which the HTTP
    client takes where nothing else names one: read as Cortex's `proxy` object is."""
    proxies = {
        name: value
        for name, value in environment.items()
        if name.lower().endswith("_proxy") and name.lower() != "no_proxy"  # NO_PROXY holds host names
    }
    return configured_url_credentials({"proxy": proxies})


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _embedded_base64(data: bytes) -> set[str]:
    """The base64 characters that depend on the secret alone, at each of the three byte alignments.

    A server may echo the base64 of a longer string that holds the secret (an AUTH line, a token
    request); whatever comes before or after it, these characters appear unchanged. A 4-byte secret
    gives four or five of them: the index keeps them as it keeps the secret itself (SHORTEST_FORM).
    """
    fragments = set()
    for offset in range(3):
        encoded = _b64(bytes(offset) + data + bytes(3))
        first, end = -(-8 * offset // 6), 8 * (offset + len(data)) // 6
        fragments.add(encoded[first:end])
    return fragments
