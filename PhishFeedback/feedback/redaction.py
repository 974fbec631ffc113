"""Keeping secrets out of everything the job writes or sends.

A secret can come back from a server in many forms (quoted in a reply, white space changed by the reply's parsing
or a server's line folding, inside the base64 of an AUTH string, split over several reply lines), and some are only
known while the job runs (an OAuth2 token): each is remembered here once, in every form (feedback/secret_forms.py),
and `scrub` is applied to whatever leaves the process (the report, the error, each message, stdout and stderr),
ignoring white space and invisible characters, and finding long forms in pieces too.

What a reporter writes and reads back (a reported subject in their feedback, their address, the Message-ID of their
report) is looked at for whole forms only (`pieces=False`): were pieces blotted out there, the mask would tell them
which piece of a secret they guessed, one character a report.

Scrubbing is for text from outside; the responder's own record (its tags) and the reporters it accepted are spared,
since a secret learned later may be part of them by chance (`spare`); the sender and the refused values are not the
record, and are scrubbed like any outside text. Outside text that is shortened is scrubbed first (`shortened`), so
that no cut leaves the start of a secret.
"""

from __future__ import annotations

from feedback.secret_forms import (
    MASK,
    configured_url_credentials,
    encoded_forms,
    json_private_key,
    pem_private_key,
    plain_auth_forms,
    private_key_texts,
    secret_item,
)

# Shorter forms would blot out ordinary words and addresses (a password "mail" in "mail sent"):
# a secret that short is no secret, and finding it everywhere would break the record.
SHORTEST_FORM = 4
# A piece of a form this long is a piece of a secret wherever it appears: a server that quotes an AUTH
# string over several reply lines (each opening with its own status code) splits it into such pieces.
# Looked up every GRAM characters, so every piece of 2 * GRAM - 1 characters or more is found.
GRAM = 12
# A form this long always holds a looked-up GRAM wherever it stands, and is found whole by growing it (`_pieces`).
FOUND_BY_PIECES = 2 * GRAM - 1
_forms: set[str] = set()
# The forms too short for that, looked for whole.
_short_forms: set[str] = set()
# Each GRAM characters of a form, and where they stand in it.
_grams: dict[str, list[tuple[str, int]]] = {}
# Texts never scrubbed: the responder's record and the reporters it accepted (see `spare`).
_spared: set[str] = set()


def remember_secrets(config: object) -> None:
    """Every secret of the configuration kept out of all output, even from a configuration that fails checks.

    Secret items, and the credentials of any URL (Cortex's proxies may carry them), in each form
    they travel in (feedback/secret_forms.py): `smtp_password` inside AUTH PLAIN, URL credentials as HTTP Basic auth.
    """
    if not isinstance(config, dict):
        return
    for name, value in config.items():
        if isinstance(value, str) and secret_item(name):
            remember_secret_text(value)
    user, password = config.get("smtp_user"), config.get("smtp_password")
    if isinstance(password, str) and password:
        _add(plain_auth_forms(user if isinstance(user, str) else "", password))
    for credentials in configured_url_credentials(config):
        remember(credentials)


def remember_secret_text(value: str) -> None:
    """A secret item's value; a JSON key (a Google service account's) or a PEM certificate beside its key (Entra
    ID's certificate credential) by its private key alone, in each form.

    The rest of such a key (its client ID, e-mail, token URL; the public certificate) names things
    the analyst may read in an error, and any long piece of a remembered form is blotted out (GRAM).
    """
    key = json_private_key(value) or pem_private_key(value)
    for text in private_key_texts(key) if key else [value]:
        remember(text)


def remember(secret: str | None) -> None:
    """Keep this secret, and the forms of it a server may echo, out of every output from now on."""
    if secret:
        _add(encoded_forms(secret))


def _add(forms: set[str]) -> None:
    # Kept without white space, which is ignored when looking (a server may collapse, strip or add it).
    forms = {squeezed for form in forms if len(squeezed := _squeezed(form)) >= SHORTEST_FORM}
    new = forms - _forms
    for form in new:
        for offset in range(len(form) - GRAM + 1):
            _grams.setdefault(form[offset : offset + GRAM], []).append((form, offset))
    _forms.update(new)
    _short_forms.update(form for form in new if len(form) < FOUND_BY_PIECES)


def spare(*texts: str) -> None:
    """Never scrub these texts: a reporter accepted while it held no known secret, the record written of it.

    A secret learned later (a token) may be part of one by chance (`example`, `feedback_sent`): blotting it out there
    would destroy the record, and the next run would mail everyone again.
    """
    _spared.update(text for text in texts if text)


def scrub(text: str, *, pieces: bool = True) -> str:
    """The text with every remembered secret blotted out, white space inserted in it or not; pieces too, unless the
    text is a reporter's to read back."""
    spans = _found(text, pieces)
    if spans and _spared:
        kept = [(i, i + len(t)) for t in _spared for i in _occurrences(text, t)]
        spans = [(a, b) for a, b in spans if not any(k <= a and b <= e for k, e in kept)]
    return _masked(text, spans)


def holds_secret(text: str, *, pieces: bool = True) -> bool:
    return bool(_found(text, pieces))


def shortened(text: str, limit: int) -> str:
    """Outside text scrubbed, flattened, then cut to `limit` characters; a secret's start left at the cut goes too.

    Scrubbed before it is cut, so that a secret cut in two is still found; what the cut leaves of a
    secret at the end (its first SHORTEST_FORM characters or more) is dropped.
    """
    flat = " ".join(scrub(text).split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    squeezed = _squeezed(cut)
    longest = max((_prefix_at_end(squeezed, form) for form in _forms), default=0)
    if longest:
        cut = cut[: _positions(cut)[len(squeezed) - longest]]
    return cut.rstrip() + "…"


def _prefix_at_end(text: str, form: str) -> int:
    """The length of the longest start of `form` (SHORTEST_FORM characters or more) that ends `text`, or 0.

    Only the lengths where the form holds the text's last SHORTEST_FORM characters are tried: a long
    form (a key) would otherwise be cut and compared at every length.
    """
    last, longest = text[-SHORTEST_FORM:], 0
    if len(last) < SHORTEST_FORM:
        return 0
    found = form.find(last, 0, min(len(form) - 1, len(text)))
    while found != -1:
        if text.endswith(form[: found + SHORTEST_FORM]):
            longest = found + SHORTEST_FORM
        found = form.find(last, found + 1, min(len(form) - 1, len(text)))
    return longest


def _found(text: str, pieces: bool = True) -> list[tuple[int, int]]:
    """Where forms, or pieces of them, stand in the text: (start, end) pairs, white space ignored."""
    if not _forms or not text:
        return []
    squeezed = _squeezed(text)
    spans = [(i, i + len(f)) for f in _short_forms if f in squeezed for i in _occurrences(squeezed, f)]
    spans += _pieces(squeezed, whole=not pieces)
    if not spans or squeezed == text:
        return spans
    positions = _positions(text)
    return [(positions[a], positions[b - 1] + 1) for a, b in spans]


def _pieces(text: str, whole: bool = False) -> list[tuple[int, int]]:
    """The whole pieces of forms around the looked-up GRAMs of the text (white space out); `whole`: whole forms only.

    Each piece is grown once: the GRAMs further along it stand on the same line through text and
    form (the same form, and the same distance between where they stand in each), and would only
    grow it again; a text echoing a whole key (a few KB) would then cost a growth per GRAM
    (bench/scrub.py). Forms of FOUND_BY_PIECES characters or more are found here whole.
    """
    grown: dict[tuple[str, int], int] = {}  # (form, start in the text - offset in the form): end of its piece
    spans = []
    for start in range(0, len(text) - GRAM + 1, GRAM):
        for form, offset in _grams.get(text[start : start + GRAM], ()):
            line = (form, start - offset)
            if grown.get(line, -1) >= start + GRAM:
                continue
            span = _grown(text, start, form, offset)
            grown[line] = span[1]
            if not whole or span[1] - span[0] == len(form):
                spans.append(span)
    return spans


def _grown(text: str, start: int, form: str, offset: int) -> tuple[int, int]:
    """The whole piece of `form` around the GRAM characters at `start` that match it at `offset`."""
    before = _common_start(text[max(0, start - offset) : start][::-1], form[:offset][::-1])
    after = GRAM + _common_start(text[start + GRAM : start + len(form) - offset], form[offset + GRAM :])
    return start - before, start + after


def _common_start(a: str, b: str) -> int:
    """How many characters a and b share from their start: halving, each step one comparison of slices."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _squeezed(text: str) -> str:
    """The text as secrets are looked for in it: no white space, nor what shows as nothing (zero-width, soft hyphen)."""
    squeezed = "".join(text.split())
    return squeezed if squeezed.isprintable() else "".join(filter(str.isprintable, squeezed))


def _positions(text: str) -> list[int]:
    """Where each character of the squeezed text stands in the text."""
    return [i for i, character in enumerate(text) if character.isprintable() and not character.isspace()]


def _occurrences(text: str, part: str) -> list[int]:
    found, start = [], text.find(part)
    while start != -1:
        found.append(start)
        start = text.find(part, start + 1)
    return found


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

    def __init__(self, stream) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(scrub(text))

    def __getattr__(self, name: str):
        return getattr(self._stream, name)
