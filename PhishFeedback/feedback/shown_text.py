"""Text from outside as the job shows it: printable, and on one line where a line is expected.

The case's values (the title holds the attacker's subject) and the answers of the mail services and TheHive all
reach a reader through here: a control character, a line break or a bidirectional control in them would
break a header, start a paragraph worded as the SOC's, or reorder the words around them.
"""

from __future__ import annotations

import re

# Control characters but line breaks and tabs, lone surrogates (JSON carries them, no mail can): shown as U+FFFD.
UNPRINTABLE = "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]"
# The marks, embeddings, overrides and isolates of bidirectional text: they reorder the words around them.
BIDI_CONTROLS = "[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"


def one_line(text: str) -> str:
    """The text printable, on one line, with no bidirectional control."""
    line = printable(" ".join(text.split()))
    return line if line.isprintable() else re.sub(BIDI_CONTROLS, "", line)


def printable(text: str) -> str:
    """The text with control characters and lone surrogates replaced: it can go into a message as it is."""
    # Most texts need nothing; compiling the pattern costs more than a whole job's case reading.
    return text if text.isprintable() else re.sub(UNPRINTABLE, "\ufffd", text)


def escaped(text: str) -> str:
    """The text with each control or invisible character written as its escape (\\x1b): a terminal shows what it
    holds, and nothing in it moves the cursor, recolours or hides what is shown."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
