"""Scrubbing by its plain definition, slow: what feedback/redaction.py must find, no less and no more.

Over the forms redaction remembers (feedback/secret_index.py): every form looked for whole, and, for a text that is
not a reporter's to read back, at every GRAM of the text (white space and what shows as nothing taken out) that is a
GRAM of a form remembered with its pieces, the piece of the form around it grown one character at a time; what an
occurrence of a spared text holds whole is left, every spared text looked for through the whole text.
tests/test_scrub.py checks the fast search against it on generated text; bench/scrub.py times the two on a text that
echoes a whole private key, and on a long text holding a piece of the login string while many reporters are spared.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from feedback import redaction, secret_index
from feedback.shown_text import one_line


def forget_secrets() -> None:
    """As a new process: no secret remembered, no text spared."""
    importlib.reload(secret_index)
    importlib.reload(redaction)


def slow_scrub(text: str, pieces: bool = True) -> str:
    return redaction._masked(text, slow_unspared(text, _found(text, pieces)))


def slow_unspared(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans no occurrence of a spared text holds whole: every spared text looked for through the whole text."""
    spared = [t for texts in redaction._spared.values() for t in texts]
    kept = [(i, i + len(t)) for t in spared for i in _occurrences(text, t)]
    return [(a, b) for a, b in spans if not any(k <= a and b <= e for k, e in kept)]


def slow_shortened(text: str, limit: int) -> str:
    return slow_cuts(text, [limit])[0]


def slow_cuts(text: str, limits: Iterable[int]) -> list[str]:
    """The text shortened at each limit: scrubbed once, as every cut of it is the same text cut."""
    flat = one_line(slow_scrub(text))
    return [_cut(flat, limit) for limit in limits]


def _cut(flat: str, limit: int) -> str:
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    squeezed = _squeezed(cut)
    longest = max((_prefix_at_end(squeezed, form) for form in secret_index.forms), default=0)
    if longest:
        cut = cut[: _positions(cut)[len(squeezed) - longest]]
    return cut.rstrip() + "…"


def _prefix_at_end(text: str, form: str) -> int:
    for length in range(min(len(form) - 1, len(text)), secret_index.SHORTEST_FORM - 1, -1):
        if text.endswith(form[:length]):
            return length
    return 0


def _found(text: str, pieces: bool) -> list[tuple[int, int]]:
    forms, gram = secret_index.forms, secret_index.GRAM
    if not forms or not text:
        return []
    squeezed = _squeezed(text)
    spans = [(i, i + len(form)) for form in forms if form in squeezed for i in _occurrences(squeezed, form)]
    if pieces:
        grams: dict[str, list[tuple[str, int]]] = {}
        for form in forms - secret_index.whole_only:
            for offset in range(len(form) - gram + 1):
                grams.setdefault(form[offset : offset + gram], []).append((form, offset))
        starts = [p for p in range(0, len(squeezed) - gram + 1, gram) if squeezed[p : p + gram] in grams]
        spans += [_grown(squeezed, p, *place) for p in starts for place in grams[squeezed[p : p + gram]]]
    if not spans or squeezed == text:
        return spans
    positions = _positions(text)
    return [(positions[a], positions[b - 1] + 1) for a, b in spans]


def _grown(text: str, start: int, form: str, offset: int) -> tuple[int, int]:
    before = 0
    while before < min(start, offset) and text[start - before - 1] == form[offset - before - 1]:
        before += 1
    after = secret_index.GRAM
    while start + after < len(text) and offset + after < len(form) and text[start + after] == form[offset + after]:
        after += 1
    return start - before, start + after


def _squeezed(text: str) -> str:
    """What a reader sees of the text, by the one definition of it (secret_index.positions)."""
    return "".join(text[i] for i in _positions(text))


_positions = secret_index.positions


def _occurrences(text: str, part: str) -> list[int]:
    return [i for i in range(len(text) - len(part) + 1) if text.startswith(part, i)]
