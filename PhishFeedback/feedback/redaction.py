"""Keeping secrets out of everything the job writes or sends.

A secret can come back from a server in many forms (quoted in a reply, white space changed by the reply's parsing
or a server's line folding, inside the base64 of an AUTH string, split over several reply lines), and some are only
known while the job runs (an OAuth2 token): each is remembered here once, in every form (feedback/secret_forms.py,
indexed by feedback/secret_index.py), and `scrub` is applied to whatever leaves the process (the report, the error,
each message, stdout and stderr), ignoring white space and invisible characters, and finding long forms in pieces
too.

What a reporter writes and reads back (a reported subject in their feedback, their address, the Message-ID of their
report) is looked at for whole forms only (`pieces=False`): were pieces blotted out there, the mask would tell them
which piece of a secret they guessed, one character a report.

Scrubbing is for text from outside; the responder's own record (its tags) and the reporters it accepted are spared,
since a secret learned later may be part of them by chance (`spare`); the sender and the refused values are not the
record, and are scrubbed like any outside text. Outside text that is shortened is scrubbed first (`shortened`), so
that no cut leaves the start of a secret.
"""

from __future__ import annotations

from bisect import bisect_left

from feedback import secret_index
from feedback.secret_forms import (
    MASK,
    configured_url_credentials,
    encoded_forms,
    environment_proxy_credentials,
    json_private_key,
    pem_private_key,
    plain_auth_forms,
    private_key_texts,
    secret_item,
)
from feedback.shown_text import one_line

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import TextIO

# Texts never scrubbed: the responder's record and the reporters it accepted (see `spare`), by their length, so that
# a span found is looked up in the few windows of the text one of them could hold it in (`_unspared`).
_spared: dict[int, set[str]] = {}
_joined_spared: dict[int, str] = {}
# Each configuration item's forms: which secret a text holds, for a sentence that names the item to change
# (`item_held`), never its value. Kept as remembered; squeezed only when a sentence needs one.
_items: dict[str, set[str]] = {}


def remember_secrets(config: object) -> None:
    """Every secret of the configuration kept out of all output, even from a configuration that fails checks.

    Secret items, and the credentials of any URL (Cortex's proxies may carry them), in each form
    they travel in (feedback/secret_forms.py): `smtp_password` inside AUTH PLAIN, URL credentials as HTTP Basic auth.
    A private key pasted into any other item (a server's certificate and key in one file, pasted into `cacerts`) is
    a secret too, though the item is none.
    """
    if not isinstance(config, dict):
        return
    for name, value in config.items():
        if isinstance(value, str) and (secret_item(name) or pem_private_key(value)):
            remember_secret_text(value, name)
    user, password = config.get("smtp_user"), config.get("smtp_password")
    if isinstance(password, str) and password:
        forms = plain_auth_forms(user if isinstance(user, str) else "", password)
        secret_index.add(forms)
        _items.setdefault("smtp_password", set()).update(forms)
    for credentials in configured_url_credentials(config):
        remember(credentials, item="a proxy's credentials")


def remember_proxies(environment: Mapping[str, str]) -> None:
    """The credentials of the environment's proxies: a proxy's page may quote them back as it would Cortex's."""
    for credentials in environment_proxy_credentials(environment):
        remember(credentials, item="a proxy's credentials")


def remember_secret_text(value: str, item: str | None = None) -> None:
    """A secret item's value; a JSON key (a Google service account's) or a PEM certificate beside its key (Entra
    ID's certificate credential) by its private key alone, in each form.

    The rest of such a key (its client ID, e-mail, token URL; the public certificate) names things
    the analyst may read in an error, and any long piece of a remembered form is blotted out (GRAM).
    """
    key = json_private_key(value) or pem_private_key(value)
    for text in private_key_texts(key) if key else [value]:
        remember(text, item=item)


def remember(secret: str | None, *, pieces: bool = True, item: str | None = None) -> None:
    """Keep this secret, and the forms of it a server may echo, out of every output from now on; without `pieces`,
    found whole only (feedback/secret_index.py says when). `item`: the configuration item it is the value of."""
    if secret:
        forms = encoded_forms(secret)
        secret_index.add(forms, pieces)
        if item:
            _items.setdefault(item, set()).update(forms)


def item_held(text: str) -> str | None:
    """The configuration item whose value the text holds whole, if it is one's: an analyst told that a secret is out
    must know which to change. Each form as the index looks for it (`secret_index.squeeze`, SHORTEST_FORM)."""
    squeezed = secret_index.squeeze(text)
    for item, forms in _items.items():
        for form in map(secret_index.squeeze, forms):
            if len(form) >= secret_index.SHORTEST_FORM and form in squeezed:
                return item
    return None


def spare(*texts: str) -> None:
    """Never scrub these texts: a reporter accepted while it held no known secret, the record written of it.

    A secret learned later (a token) may be part of one by chance (`example`, `feedback_sent`): blotting it out there
    would destroy the record, and the next run would mail everyone again.
    """
    for text in texts:
        if text:
            _spared.setdefault(len(text), set()).add(text)
    _joined_spared.clear()


def scrub(text: str, *, pieces: bool = True) -> str:
    """The text with every remembered secret blotted out, white space inserted in it or not; pieces too, unless the
    text is a reporter's to read back."""
    spans = secret_index.found(text, pieces)
    if spans and _spared:
        spans = _unspared(text, spans)
    return _masked(text, spans)


def _unspared(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans that no occurrence of a spared text holds whole.

    A spared text that holds the span [a, b) holds its characters: each span's text is first looked for in the
    spared texts of each length, joined (once for each text a span holds, at the speed of `in`), and only the lengths
    that hold it are looked at further. An occurrence of a spared text of L characters that holds the span starts
    between b - L and a: only the windows of the text that start there are looked up among the spared texts of that
    length, each window once however many spans are near it. Looking for every spared text through the whole text
    cost their number times its length: a minute for 100,000 reporters and a 1 MB text holding a piece of the login
    string (bench/scrub.py); pieces of it that no reporter holds now cost one look each.
    """
    joined = _joined()
    holders: dict[str, list[int]] = {}
    near: dict[int, list[tuple[int, int]]] = {}
    for a, b in spans:
        part = text[a:b]
        if part not in holders:
            holders[part] = [length for length, all_of in joined.items() if length >= b - a and part in all_of]
        for length in holders[part]:
            near.setdefault(length, []).append((a, b))
    dropped: set[tuple[int, int]] = set()
    for length, held in near.items():
        ranges = [(max(0, b - length), min(a, len(text) - length)) for a, b in held]
        starts = _starts(text, _spared[length], length, ranges)
        dropped.update((a, b) for a, b in held if _any_between(starts, b - length, a))
    return [span for span in spans if span not in dropped] if dropped else spans


def _joined() -> dict[int, str]:
    """The spared texts of each length in one string, made again only after `spare`."""
    if not _joined_spared:
        _joined_spared.update((length, "\0".join(texts)) for length, texts in _spared.items())
    return _joined_spared


def _starts(text: str, texts: set[str], length: int, ranges: list[tuple[int, int]]) -> list[int]:
    """Where a window of `length` characters that is one of `texts` starts, from first to last of each range, in
    order; windows that ranges share are looked up once."""
    found: list[int] = []
    done = 0
    for first, last in sorted(ranges):
        found += [i for i in range(max(first, done), last + 1) if text[i : i + length] in texts]
        done = max(done, last + 1)
    return found


def _any_between(starts: list[int], low: int, high: int) -> bool:
    """Whether one of the sorted starts is between low and high, both included."""
    at = bisect_left(starts, low)
    return at < len(starts) and starts[at] <= high


def holds_secret(text: str, *, pieces: bool = True) -> bool:
    return bool(secret_index.found(text, pieces))


def shortened(text: str, limit: int, shown: Callable[[str], str] = one_line) -> str:
    """Outside text scrubbed, made one printable line (or `shown` another way), then cut to `limit` characters; a
    secret's start left at the cut goes too. Every outside party's text an analyst reads comes through here.

    Scrubbed before it is cut, so that a secret cut in two is still found; what the cut leaves of a secret at the end
    (its first SHORTEST_FORM characters or more) is dropped. The replacement character a control character becomes
    is one of the BLANKS the index skips (feedback/secret_index.py): a secret it splits is found all the same.
    """
    flat = shown(scrub(text))
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    squeezed = secret_index.squeeze(cut)
    longest = max((_prefix_at_end(squeezed, form) for form in secret_index.forms), default=0)
    if longest:
        cut = cut[: secret_index.positions(cut)[len(squeezed) - longest]]
    return cut.rstrip() + "…"


def _prefix_at_end(text: str, form: str) -> int:
    """The length of the longest start of `form` (SHORTEST_FORM characters or more) that ends `text`, or 0.

    Only the lengths where the form holds the text's last SHORTEST_FORM characters are tried: a long
    form (a key) would otherwise be cut and compared at every length.
    """
    shortest = secret_index.SHORTEST_FORM
    last, longest = text[-shortest:], 0
    if len(last) < shortest:
        return 0
    found = form.find(last, 0, min(len(form) - 1, len(text)))
    while found != -1:
        if text.endswith(form[: found + shortest]):
            longest = found + shortest
        found = form.find(last, found + 1, min(len(form) - 1, len(text)))
    return longest


def _masked(text: str, spans: list[tuple[int, int]]) -> str:
    if not spans:
        return text
    parts, done = [], 0
    for start, end in sorted(spans):
        if end <= done:
            continue
        if start >= done:
            parts += [text[done:start], MASK]
        done = end
    return "".join([*parts, text[done:]])


class ScrubbedStream:
    """stdout or stderr with every write scrubbed: Cortex shows them when output.json is missing."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(scrub(text))

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)
