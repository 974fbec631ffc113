"""The remembered forms of the secrets, indexed so that one pass over a text finds them, and long pieces of them.

A form is kept without white space or the characters that show as nothing (`squeeze`), which are ignored when
looking: a server may collapse, strip or add them. A form shorter than FOUND_BY_PIECES is looked for whole; a longer
one is indexed by each GRAM characters of it, the text is looked up every GRAM characters, and a hit is grown to the
whole piece around it (`found`).

A form remembered without its pieces (`add(..., pieces=False)`: a token asked for one reporter, and its assertion) is
indexed by the GRAM characters at each of its first GRAM offsets alone, which is enough to find it whole wherever it
stands: one such token a reporter,
the index of every piece of each would take 0.8 MB a reporter.
"""

from __future__ import annotations

from collections.abc import Iterable

# Shorter forms would blot out ordinary words and addresses (a password "mail" in "mail sent"):
# a secret that short is no secret, and finding it everywhere would break the record.
SHORTEST_FORM = 4
# A piece of a form this long is a piece of a secret wherever it appears: a server that quotes an AUTH
# string over several reply lines (each opening with its own status code) splits it into such pieces.
# Looked up every GRAM characters, so every piece of 2 * GRAM - 1 characters or more is found.
GRAM = 12
# A form this long always holds a looked-up GRAM wherever it stands, and is found whole by growing it (`_pieces`).
FOUND_BY_PIECES = 2 * GRAM - 1
forms: set[str] = set()
# The forms too short for that, looked for whole.
short_forms: set[str] = set()
# GRAM characters of a form, and where they stand in it: each of them, or its first GRAM for a form found whole only.
grams: dict[str, list[tuple[str, int]]] = {}
# The forms found whole only.
whole_only: set[str] = set()
# Printable to Python, yet shown as nothing, or as a mark a reader skips: a combining grapheme joiner, Hangul fillers,
# Khmer inherent vowels, Mongolian free variation selectors and the variation selectors (together, every printable
# Default_Ignorable_Code_Point of Unicode), the braille blank, and the replacement character a case's control
# characters become in a message (feedback/shown_text.py), all of which a server may put between a secret's characters.
BLANKS = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180f\u2800\u3164\uffa0\ufffd"
    + "".join(map(chr, range(0xFE00, 0xFE10)))
    + "".join(map(chr, range(0xE0100, 0xE01F0)))
)


def add(new_forms: Iterable[str], pieces: bool = True) -> None:
    """Remember these forms; with `pieces`, long pieces of them are found too."""
    squeezed_forms = {squeezed for form in new_forms if len(squeezed := squeeze(form)) >= SHORTEST_FORM}
    for form in squeezed_forms - forms:
        _index(form, 0, len(form) if pieces else GRAM)
        if not pieces:
            whole_only.add(form)
    if pieces:
        for form in squeezed_forms & whole_only:  # found whole only until now: its other pieces too
            _index(form, GRAM, len(form))
            whole_only.discard(form)
    forms.update(squeezed_forms)
    short_forms.update(form for form in squeezed_forms if len(form) < FOUND_BY_PIECES)


def _index(form: str, first: int, end: int) -> None:
    for offset in range(first, min(end, len(form) - GRAM + 1)):
        grams.setdefault(form[offset : offset + GRAM], []).append((form, offset))


def found(text: str, pieces: bool = True) -> list[tuple[int, int]]:
    """Where forms, or pieces of them (with `pieces`), stand in the text: (start, end) pairs, white space ignored."""
    if not forms or not text:
        return []
    squeezed = squeeze(text)
    spans = [(i, i + len(f)) for f in short_forms if f in squeezed for i in occurrences(squeezed, f)]
    spans += _pieces(squeezed, pieces)
    if not spans or squeezed == text:
        return spans
    where = positions(text)
    return [(where[a], where[b - 1] + 1) for a, b in spans]


def _pieces(text: str, pieces: bool) -> list[tuple[int, int]]:
    """The whole pieces of forms around the looked-up GRAMs of the text (white space out); without `pieces`, only
    those that are a whole form.

    Each piece is grown once: the GRAMs further along it stand on the same line through text and
    form (the same form, and the same distance between where they stand in each), and would only
    grow it again; a text echoing a whole key (a few KB) would then cost a growth per GRAM
    (bench/scrub.py). Forms of FOUND_BY_PIECES characters or more are found here whole.
    """
    grown: dict[tuple[str, int], int] = {}  # (form, start in the text - offset in the form): end of its piece
    spans = []
    for start in range(0, len(text) - GRAM + 1, GRAM):
        for form, offset in grams.get(text[start : start + GRAM], ()):
            line = (form, start - offset)
            if grown.get(line, -1) >= start + GRAM:
                continue
            span = _grown(text, start, form, offset)
            grown[line] = span[1]
            if span[1] - span[0] == len(form) or (pieces and form not in whole_only):
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


def squeeze(text: str) -> str:
    """The text as secrets are looked for in it: no white space, nor what shows as nothing (`positions`)."""
    squeezed = "".join(text.split())
    if squeezed.isprintable() and BLANKS.isdisjoint(squeezed):
        return squeezed
    return "".join([squeezed[i] for i in positions(squeezed)])


def positions(text: str) -> list[int]:
    """Where each character of the squeezed text stands in the text: those a reader sees, not white space, nor one
    that shows as nothing (a zero-width space, a soft hyphen, a control), nor one of the printable BLANKS."""
    return [i for i, c in enumerate(text) if c.isprintable() and not c.isspace() and c not in BLANKS]


def occurrences(text: str, part: str) -> list[int]:
    found, start = [], text.find(part)
    while start != -1:
        found.append(start)
        start = text.find(part, start + 1)
    return found
